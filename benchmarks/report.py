"""The release benchmark report: figures read from pytest-benchmark JSON, compared with a baseline.

Every suite records its figures in each case's ``extra_info`` under one convention:

- speed: ``ours_s`` (median seconds), ``peer_s``, ``peer_name``, ``ratio`` (ours / peer, lower is
  better), ``spread`` ((max - min) / median of the repetitions), ``load_average``. Older keys are read
  too: ``ortools_s`` and ``ratio_vs_ortools`` (the solver suite before it recorded ``peer_s``).
- quality: metrics such as ``acc1``/``acc_at_1``, ``hit5``/``hit_at_5``, ``mrr`` (higher is better),
  anywhere in ``extra_info`` (nested by configuration), with their 95 % intervals as a sibling
  ``<metric>_ci`` pair or in a sibling ``intervals`` mapping.

A case with a ratio is judged by its ratio; one without a peer is shown in seconds and never fails the
run (seconds alone move with the machine's load). A ratio with a spread of its own is worse when it
grew by more than the margin plus the larger of the two runs' spreads; ratios measured once (no spread)
are judged together by their geometric mean change (``Pooled``). A quality figure is worse when it fell
below the baseline's interval (or by more than 0.005 without one).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

RATIO, SECONDS, QUALITY = "ratio", "seconds", "quality"
BETTER, SAME, WORSE, NEW = "better", "same", "worse", "new"
QUALITY_WITHOUT_INTERVAL = 0.005  # absolute change in a quality figure that counts when no interval
_METRIC = re.compile(
    r"^(acc\d*|acc_at_\d+|hit\d+|hit_at_\d+|mrr|macro_acc\w*|ndcg\w*|recall\w*|precision\w*)$"
)


@dataclass(frozen=True)
class Row:
    """One compared figure of one benchmark case."""

    suite: str
    case: str
    figure: str
    kind: str
    value: float
    ours_s: float | None = None
    peer_s: float | None = None
    peer_name: str | None = None
    spread: float | None = None
    interval: tuple[float, float] | None = None
    load_average: float | None = None
    baseline: float | None = None
    baseline_spread: float | None = None
    baseline_interval: tuple[float, float] | None = None
    change: float | None = None
    tolerance: float | None = None
    verdict: str = NEW
    pooled: bool = False  # a single-shot ratio: judged with its suite's others, not alone

    @property
    def key(self) -> str:
        """Identity of the figure across runs."""
        return f"{self.case} :: {self.figure}"

    @property
    def counts(self) -> bool:
        """Whether its own verdict can fail the run (not seconds without a peer, not a pooled ratio)."""
        return self.kind != SECONDS and not self.pooled


@dataclass(frozen=True)
class Pooled:
    """The single-shot ratios of a suite judged together: their geometric mean change.

    A ratio measured once has no spread of its own, and on a shared machine one such ratio moves a
    lot between unchanged runs; a slower build moves them all. So they count together: worse when
    their geometric mean grew by more than the margin plus two standard errors of the mean, measured
    from the same changes (the probe's spread stands in below three ratios).
    """

    n: int
    change: float
    tolerance: float
    verdict: str


@dataclass
class SuiteResult:
    """What one suite produced: its rows, its wall time and whether its own tests passed."""

    name: str
    title: str
    wall_s: float
    returncode: int
    rows: list[Row] = field(default_factory=list)
    log: str = ""
    note: str = ""
    pooled: Pooled | None = None

    @property
    def verdict(self) -> str:
        """better / same / worse beyond noise, ``failed`` when its tests failed, ``new`` without baseline."""
        if self.returncode not in (0, 5):  # 5: pytest collected nothing
            return "failed"
        if not self.rows:
            return "empty"
        counted = {row.verdict for row in self.rows if row.counts}
        if self.pooled is not None:
            counted.add(self.pooled.verdict)
        verdicts = counted or {row.verdict for row in self.rows}
        mark = "" if counted else "*"  # only seconds without a peer: shown, never failing the run
        if WORSE in verdicts:
            return WORSE + mark
        if verdicts <= {NEW}:
            return NEW
        return (BETTER if BETTER in verdicts else SAME) + mark


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _first(info: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = _number(info.get(key))
        if value is not None:
            return value
    return None


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Mapping):
        value = [value.get("low"), value.get("high")]
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = _number(value[0]), _number(value[1])
        if low is not None and high is not None:
            return low, high
    return None


def _stats_spread(stats: Mapping[str, Any]) -> float | None:
    median = _number(stats.get("median"))
    if not median or int(stats.get("rounds", 1)) < 2:
        return None
    return (float(stats["max"]) - float(stats["min"])) / median


def speed_row(suite: str, case: str, info: Mapping[str, Any], stats: Mapping[str, Any]) -> Row:
    """The speed figure of one case: its ratio to the peer when it has one, else its seconds."""
    ours = _first(info, "ours_s") or _number(stats.get("median"))
    peer = _first(info, "peer_s", "ortools_s")
    ratio = _first(info, "ratio", "ratio_vs_ortools")
    if ratio is None and ours is not None and peer:
        ratio = ours / peer
    peer_name = info.get("peer_name") or ("OR-Tools min-cost flow" if "ortools_s" in info else None)
    spread = _first(info, "spread")
    if spread is None:
        spread = _stats_spread(stats)
    common = {
        "suite": suite,
        "case": case,
        "ours_s": ours,
        "peer_s": peer,
        "peer_name": str(peer_name) if peer_name else None,
        "spread": spread,
        "load_average": _first(info, "load_average"),
    }
    if ratio is not None:
        return Row(figure="ratio", kind=RATIO, value=ratio, **common)  # type: ignore[arg-type]
    return Row(figure="seconds", kind=SECONDS, value=ours or 0.0, **common)  # type: ignore[arg-type]


def _quality_leaves(info: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float, Any]]:
    """(dotted name, value, interval) of every quality metric in ``info``, nested mappings included."""
    intervals = info.get("intervals") if isinstance(info.get("intervals"), Mapping) else {}
    for key, value in info.items():
        if isinstance(value, Mapping) and key != "intervals":
            yield from _quality_leaves(value, f"{prefix}{key}.")
        elif _METRIC.match(str(key)) and _number(value) is not None:
            interval = _pair(info.get(f"{key}_ci")) or _pair(intervals.get(key))  # type: ignore[union-attr]
            yield f"{prefix}{key}", float(value), interval


def quality_rows(suite: str, case: str, info: Mapping[str, Any]) -> list[Row]:
    """Every quality figure of one case, with its interval when the suite recorded one."""
    load = _first(info, "load_average")
    return [
        Row(suite, case, name, QUALITY, value, interval=interval, load_average=load)
        for name, value, interval in _quality_leaves(info)
    ]


def rows_from_json(
    suite: str, document: Mapping[str, Any], case_filter: re.Pattern[str] | None = None
) -> list[Row]:
    """The rows of a pytest-benchmark JSON document, for the cases ``case_filter`` selects."""
    rows: list[Row] = []
    for bench in document.get("benchmarks", []):
        case = str(bench.get("name", bench.get("fullname", "?")))
        if case_filter is not None and not case_filter.search(case):
            continue
        info, stats = bench.get("extra_info") or {}, bench.get("stats") or {}
        quality = quality_rows(suite, case, info)
        rows += quality
        rows.append(speed_row(suite, case, info, stats))
    return rows


def judge(row: Row, old: Row | None, margin: float, machine_noise: float) -> Row:
    """``row`` with the baseline's figure, the change and the verdict filled in."""
    if old is None or old.kind != row.kind:
        return row
    known = replace(row, baseline=old.value, baseline_spread=old.spread, baseline_interval=old.interval)
    if row.kind == QUALITY:
        change = row.value - old.value
        if old.interval is not None:
            low, high = old.interval
            verdict = WORSE if row.value < low else BETTER if row.value > high else SAME
        else:
            verdict = (
                WORSE
                if change < -QUALITY_WITHOUT_INTERVAL
                else BETTER
                if change > QUALITY_WITHOUT_INTERVAL
                else SAME
            )
        return replace(known, change=change, verdict=verdict)
    if old.value <= 0 or row.value <= 0:
        return replace(known, verdict=SAME)
    pooled = row.kind == RATIO and row.spread is None and old.spread is None
    known = replace(known, pooled=pooled)
    noise = max(row.spread or 0.0, old.spread or 0.0) if row.kind == RATIO and not pooled else machine_noise
    tolerance = margin + noise
    change = row.value / old.value - 1.0
    if change > tolerance:
        verdict = WORSE
    elif change < -tolerance / (1.0 + tolerance):  # the same distance on a log scale
        verdict = BETTER
    else:
        verdict = SAME
    return replace(known, change=change, tolerance=tolerance, verdict=verdict)


def compare(
    rows: Iterable[Row], baseline: Mapping[str, Row], margin: float, machine_noise: float
) -> list[Row]:
    """Every row judged against the baseline row of the same suite and key."""
    return [judge(row, baseline.get(f"{row.suite} | {row.key}"), margin, machine_noise) for row in rows]


def pool(rows: Iterable[Row], margin: float, machine_noise: float) -> Pooled | None:
    """The joint verdict of a suite's single-shot ratios (None when it has none with a baseline)."""
    logs = [math.log1p(row.change) for row in rows if row.pooled and row.change is not None]
    if not logs:
        return None
    mean = sum(logs) / len(logs)
    if len(logs) >= 3:
        variance = sum((x - mean) ** 2 for x in logs) / (len(logs) - 1)
        noise = 2 * math.sqrt(variance / len(logs))
    else:
        noise = machine_noise
    tolerance = margin + noise
    change = math.expm1(mean)
    verdict = WORSE if change > tolerance else BETTER if change < -tolerance / (1 + tolerance) else SAME
    return Pooled(len(logs), change, tolerance, verdict)


def row_index(rows: Iterable[Row]) -> dict[str, Row]:
    """Rows by ``suite | case :: figure``, as baselines store them."""
    return {f"{row.suite} | {row.key}": row for row in rows}


def row_from_dict(data: Mapping[str, Any]) -> Row:
    """A row read back from a report or baseline JSON."""
    values = dict(data)
    for name in ("interval", "baseline_interval"):
        if values.get(name) is not None:
            values[name] = tuple(values[name])
    known = Row.__dataclass_fields__
    return Row(**{k: v for k, v in values.items() if k in known})


def row_to_dict(row: Row) -> dict[str, Any]:
    """A row as JSON."""
    return asdict(row)


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if value != 0 and abs(value) < 10 ** (-digits):
        return f"{value:.1e}"
    return f"{value:.{digits}f}"


def _change(row: Row) -> str:
    if row.change is None:
        return "-"
    if row.kind == QUALITY:
        return f"{row.change:+.3f}"
    tolerance = f" (±{100 * row.tolerance:.0f} %)" if row.tolerance is not None else ""
    return f"{100 * row.change:+.0f} %{tolerance}"


def _interval(interval: tuple[float, float] | None) -> str:
    return f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""


def _speed_line(row: Row) -> str:
    verdict = (
        f"{row.verdict} (single shot: pooled)"
        if row.pooled
        else row.verdict
        if row.counts
        else f"{row.verdict} (no peer: not counted)"
    )
    spread = f"{100 * row.spread:.0f} %" if row.spread is not None else "-"
    ratio = _fmt(row.value) if row.kind == RATIO else "-"
    return (
        f"| {row.case} | {_fmt(row.ours_s)} | {_fmt(row.peer_s)} | {ratio}"
        f" | {spread} | {_fmt(row.load_average, 2)} | {_fmt(row.baseline)} | {_change(row)} | {verdict} |"
    )


def _quality_line(row: Row) -> str:
    return (
        f"| {row.case} | {row.figure} | {row.value:.3f}{_interval(row.interval)} | "
        f"{_fmt(row.baseline)}{_interval(row.baseline_interval)} | {_change(row)} | {row.verdict} |"
    )


def suite_summary(result: SuiteResult) -> str:
    """One line: the suite, its verdict and what drove it."""
    counted = [row for row in result.rows if row.kind != SECONDS]
    seconds = len(result.rows) - len(counted)
    worse = [row for row in counted if row.counts and row.verdict == WORSE]
    better = [row for row in counted if row.counts and row.verdict == BETTER]
    verdict = result.verdict
    figures = f"{len(counted)} figures" + (f" (+{seconds} in seconds without a peer)" if seconds else "")
    if verdict == "failed":
        detail = f"its tests failed ({result.note or f'pytest exit {result.returncode}'}); see {result.log}"
    elif verdict == "empty":
        detail = "recorded no figures" + (f" ({result.note})" if result.note else "")
    elif verdict == NEW:
        detail = f"{figures}, no baseline to compare with"
    elif verdict.endswith("*"):
        changed = [r for r in result.rows if r.verdict in (BETTER, WORSE)]
        detail = f"{figures}; * seconds alone, not counted: " + (
            "; ".join(f"{r.case} {_fmt(r.baseline)} -> {_fmt(r.value)} s" for r in changed[:3]) or "no change"
        )
    else:
        detail = f"{figures}: {len(better)} better, {len(worse)} worse beyond noise alone"
        if result.pooled is not None:
            p = result.pooled
            detail += (
                f"; {p.n} single-shot ratios together {p.verdict}: geometric mean {100 * p.change:+.0f} %"
                f" (allowed {100 * p.tolerance:.0f} %)"
            )
        if worse:
            shown = sorted(worse, key=lambda r: -(r.change or 0))[:3]
            detail += "; " + "; ".join(_worse_text(r) for r in shown)
    return f"{result.name:<14} {verdict.upper():<7} {detail} [{result.wall_s:.0f} s]"


def _worse_text(row: Row) -> str:
    text = f"{row.case} {row.figure} {_fmt(row.baseline)} -> {_fmt(row.value)}"
    if row.kind == RATIO:
        text += f" (+{100 * (row.change or 0):.0f} %, allowed {100 * (row.tolerance or 0):.0f} %)"
    return text


def markdown(run: Mapping[str, Any], results: list[SuiteResult], chart: str | None) -> str:
    """The report a person reads."""
    machine, noise, baseline = run["machine"], run["noise"], run.get("baseline") or {}
    dirty = " + local changes" if run.get("dirty") else ""
    lines = [
        f"# Release benchmarks {run['started']} ({run['commit']}{dirty})",
        "",
        f"`{run['command']}`, wall time {run['wall_s']:.0f} s. Verdict: **{run['verdict']}**.",
        "",
        "## Machine",
        "",
        f"- {machine['hostname']}, {machine['cpu_model']}, {machine['cores']} cores "
        f"(machine id `{machine['id']}`)",
        f"- load average before {machine['load_before']}, after {machine['load_after']}",
        "- " + ", ".join(f"{name} {version}" for name, version in machine["versions"].items()),
    ]
    if machine.get("slow_solver_factor", 1) > 1:
        lines.append(
            f"- **solver slowed on purpose**: HUIQI_BENCH_SLOW_SOLVER={machine['slow_solver_factor']}"
        )
    lines += [
        "",
        "## Noise and margin",
        "",
        f"- noise probe (the same workload timed in {noise['pairs']} interleaved pairs, before and after the "
        f"suites): inter-decile spread of the ratio {100 * noise['spread']:.0f} % (before "
        f"{100 * noise['before']:.0f} %, after {100 * noise['after']:.0f} %; max - min "
        f"{100 * noise.get('range', 0):.0f} %)",
        f"- a ratio with a spread of its own (interleaved repetitions) is worse when it grew by more than "
        f"the margin {100 * run['margin']:.0f} % plus the larger of the two runs' spreads; ratios measured "
        "once count together: worse when their geometric mean grew by more than the margin plus two "
        "standard errors of that mean (the probe's spread below three ratios)",
        f"- this run is {'NOISY: ' + run['noisy_reason'] if run.get('noisy_reason') else 'quiet enough'}",
    ]
    suites = baseline.get("suites") or {}
    if not suites:
        lines.append("- baseline: none for this machine")
    for name, entry in suites.items():
        noisy = f"NOISY: {entry['noisy_reason']}" if entry.get("noisy_reason") else "quiet"
        lines.append(f"- baseline of {name}: {entry.get('run')} (commit {entry.get('commit')}, {noisy})")
    lines += ["", "## Summary", "", "```", *[suite_summary(r) for r in results], "```", ""]
    if chart:
        lines += [f"![solver grid ratios]({chart})", ""]
    for result in results:
        lines += _suite_section(result)
    return "\n".join(lines) + "\n"


def _suite_section(result: SuiteResult) -> list[str]:
    lines = [f"## {result.title} (`{result.name}`)", "", suite_summary(result), ""]
    speed = [row for row in result.rows if row.kind != QUALITY]
    quality = [row for row in result.rows if row.kind == QUALITY]
    if speed:
        peers = sorted({row.peer_name for row in speed if row.peer_name})
        if peers:
            lines += [f"Peer: {', '.join(peers)}; ratio = ours / peer (lower is better).", ""]
        lines += [
            "| case | ours s | peer s | ratio | spread | load | baseline | change | verdict |",
            "|---|---|---|---|---|---|---|---|---|",
            *[_speed_line(row) for row in speed],
            "",
        ]
    if quality:
        lines += [
            "| case | figure | this run [95 % interval] | baseline | change | verdict |",
            "|---|---|---|---|---|---|",
            *[_quality_line(row) for row in quality],
            "",
        ]
    return lines


def solver_chart(rows: list[Row], path: Path) -> bool:
    """Bar chart of the solver grid's ratios (this run and baseline), log scale; False if none."""
    ratios = [row for row in rows if row.kind == RATIO]
    if not ratios:
        return False
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [re.sub(r"^test_\w+\[(.*)\]$", r"\1", row.case) for row in ratios]
    height = 0.38
    figure, axes = plt.subplots(figsize=(8, 0.32 * len(ratios) + 1.5))
    positions = range(len(ratios))
    axes.barh([p + height / 2 for p in positions], [r.value for r in ratios], height, label="this run")
    if any(r.baseline for r in ratios):
        axes.barh(
            [p - height / 2 for p in positions],
            [r.baseline or 0 for r in ratios],
            height,
            label="baseline",
            color="#bbbbbb",
        )
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_yticks(list(positions), labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("ratio, log scale (< 1: faster than the peer)")
    axes.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axes.set_title("Solver grid: time ours / OR-Tools, same run", fontsize=10)
    axes.legend(
        loc="lower center", bbox_to_anchor=(0.5, -0.02 - 1.2 / (0.32 * len(ratios) + 1.5)), ncol=2, fontsize=8
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented UTF-8 JSON."""
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
