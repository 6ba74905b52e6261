"""The report's charts as PNG bytes, drawn with matplotlib's Agg canvas (no display, no pyplot state,
safe in a server thread) in a Chinese font when the system has one.

Debian's fonts-wqy-microhei is preferred; Noto/Source Han CJK and common Windows/macOS fonts follow. With
none of them the charts still render, in matplotlib's default font (Chinese labels then show as boxes),
and :func:`chinese_font` says so by returning None.
"""

import io
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from api.reports.metrics import FunnelStep, LoadRow, StageMedian, duration_text, duration_unit

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

CJK_FAMILIES: Final = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)
# Font files to register when matplotlib's font cache predates their installation.
CJK_FILE_HINTS: Final = ("wqy-microhei", "wqy-zenhei", "notosanscjk", "sourcehansans", "msyh", "simhei")
DPI: Final = 110
BAR: Final = "#2f6fae"
ACCENT: Final = "#e07b39"
MUTED: Final = "#b8c4d0"
LOAD_BARS: Final = 20


@cache
def chinese_font() -> str | None:
    """The family name of an installed Chinese font matplotlib can use, or None."""
    from matplotlib import font_manager

    found = _known_family(font_manager)
    if found is None:
        for path in font_manager.findSystemFonts():
            if any(hint in Path(path).name.lower().replace("-", "").replace("_", "") for hint in _hints()):
                font_manager.fontManager.addfont(path)
        found = _known_family(font_manager)
    if found is None:
        log.warning("no Chinese font found for the report charts; Chinese labels will not render")
    return found


def _hints() -> list[str]:
    return [hint.replace("-", "") for hint in CJK_FILE_HINTS]


def _known_family(font_manager: object) -> str | None:
    installed = {entry.name for entry in font_manager.fontManager.ttflist}  # type: ignore[attr-defined]
    return next((family for family in CJK_FAMILIES if family in installed), None)


@contextmanager
def _figure(width: float, height: float) -> "Iterator[tuple[Figure, Axes]]":
    """A figure drawn and saved under the Chinese font (texts take their font when created or drawn)."""
    import matplotlib
    from matplotlib.figure import Figure

    family = chinese_font()
    style: dict[str, Any] = {
        "axes.unicode_minus": False,
        "font.size": 9,
    }  # CJK fonts lack the Unicode minus sign
    if family:
        style["font.family"] = [family, "DejaVu Sans"]
    with matplotlib.rc_context(cast(Any, style)):
        figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        axes = figure.subplots()
        axes.spines[["top", "right"]].set_visible(False)
        yield figure, axes


def _counts_axis(axis: "Axis") -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))  # counts of demands: no 0.5 ticks


def _png(figure: "Figure") -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def funnel_chart(steps: Sequence[FunnelStep]) -> bytes:
    """Horizontal bars from collected (top) to signed, each with its count and, for signed, the amount."""
    with _figure(7.5, 3.6) as (figure, axes):
        labels = [step.label for step in steps]
        values = [step.demands for step in steps]
        positions = list(range(len(steps)))[::-1]
        axes.barh(positions, values, color=[BAR] * 3 + [ACCENT] * (len(steps) - 3), height=0.62)
        axes.set_yticks(positions, labels)
        peak = max(values, default=0) or 1
        for position, step in zip(positions, steps, strict=True):
            note = f"{step.demands} 项" + (f"，{step.amount_wan:,.2f} 万元" if step.amount_wan else "")
            axes.text(step.demands + peak * 0.01, position, note, va="center", fontsize=9)
        axes.set_xlim(0, peak * 1.35)
        axes.set_xlabel("需求数")
        _counts_axis(axes.xaxis)
        axes.set_title("对接漏斗")
        return _png(figure)


def load_chart(rows: Sequence[LoadRow]) -> bytes:
    """The busiest providers' load (bars) against their capacity (outline), busiest at the top."""
    shown = list(rows[:LOAD_BARS])
    with _figure(7.5, max(2.4, 0.32 * len(shown) + 1.4)) as (figure, axes):
        draw_load(figure, axes, shown)
        return _png(figure)


def draw_load(figure: "Figure", axes: "Axes", shown: Sequence[LoadRow]) -> None:
    """Draw :func:`load_chart` on ``axes``; its legend sits above the plot, clear of every bar."""
    positions = list(range(len(shown)))[::-1]
    axes.barh(
        positions,
        [row.capacity for row in shown],
        color="none",
        edgecolor=MUTED,
        height=0.7,
        label="容量",
    )
    axes.barh(positions, [row.load for row in shown], color=BAR, height=0.45, label="本期配对")
    axes.set_yticks(positions, [_short(row.name) for row in shown], fontsize=8)
    axes.set_xlabel("需求数")
    _counts_axis(axes.xaxis)
    figure.suptitle(f"服务方负荷与容量（前 {len(shown)} 位）", fontsize=10)
    # Outside the axes (constrained layout makes room): inside, it covered the last bar.
    figure.legend(loc="outside upper right", ncols=2, fontsize=8, frameon=False)


def _short(name: str, width: int = 14) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def stage_chart(stages: Sequence[StageMedian]) -> bytes:
    """Median time per stage, with the number of cases under each bar."""
    with _figure(7.5, 3.2) as (figure, axes):
        draw_stages(axes, stages)
        return _png(figure)


def draw_stages(axes: "Axes", stages: Sequence[StageMedian]) -> str:
    """Draw :func:`stage_chart` on ``axes`` in one unit for the axis and every label; that unit."""
    days = [stage.median_days or 0.0 for stage in stages]
    unit = duration_unit(max(days, default=0.0))
    values = [value * unit[1] for value in days]
    bars = axes.bar(range(len(stages)), values, color=BAR, width=0.6)
    axes.set_xticks(range(len(stages)), [f"{s.label}\n（{s.count} 个）" for s in stages], fontsize=8)
    for bar, stage in zip(bars, stages, strict=True):
        text = duration_text(stage.median_days, unit)
        axes.text(
            bar.get_x() + bar.get_width() / 2, bar.get_height(), text, ha="center", va="bottom", fontsize=8
        )
    axes.set_ylabel(f"{unit[0]}（中位数）")
    axes.set_title("各阶段用时中位数")
    axes.set_ylim(0, max(values, default=0) * 1.25 or 1)
    return unit[0]


def gap_chart(counts: dict[str, int], labels: dict[str, str]) -> bytes:
    """Demands left without a live pairing, by reason."""
    with _figure(7.5, max(2.0, 0.45 * len(counts) + 1.0)) as (figure, axes):
        keys = list(counts)[::-1]
        axes.barh(range(len(keys)), [counts[key] for key in keys], color=ACCENT, height=0.55)
        axes.set_yticks(range(len(keys)), [labels.get(key, key) for key in keys], fontsize=8)
        for position, key in enumerate(keys):
            axes.text(counts[key], position, f" {counts[key]}", va="center", fontsize=8)
        axes.set_xlabel("需求数")
        _counts_axis(axes.xaxis)
        axes.set_title("未匹配需求及原因" if keys else "未匹配需求：无")
        return _png(figure)


def programme_chart(funnels: Mapping[str, Sequence[FunnelStep]]) -> bytes:
    """Grouped bars: each programme's funnel side by side."""
    with _figure(7.5, 3.4) as (figure, axes):
        names = list(funnels)
        width = 0.8 / max(len(names), 1)
        for index, name in enumerate(names):
            steps = funnels[name]
            offsets = [i + index * width - 0.4 + width / 2 for i in range(len(steps))]
            axes.bar(offsets, [step.demands for step in steps], width=width, label=_short(name, 18))
        first = next(iter(funnels.values()), [])
        axes.set_xticks(range(len(first)), [step.label for step in first])
        axes.set_ylabel("需求数")
        _counts_axis(axes.yaxis)
        axes.set_title("按行动（项目）的对接漏斗")
        axes.legend(fontsize=8, frameon=False)
        return _png(figure)
