"""XLSX files: a round's pairings and demands' match lists (a summary sheet, then one sheet per society,
streamed in write-only mode), and the report workbook with its charts as images."""

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.drawing.image import Image
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Demand
from api.matching.models import Pairing
from api.matching.schemas import MatchList, match_degree
from api.matching.service import STATUS_LABELS, get_round, match_lists
from api.programmes.periods import CHINA
from api.reports.facts import chunks, society_names
from api.reports.metrics import GAP_MESSAGES
from api.reports.service import CHART_TITLES, GAPS_LISTED, Report

XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUMMARY_TITLE: Final = "汇总"
LEVEL_LABELS: Final = {"society": "学会", "branch": "分支机构", "expert": "专家"}
PAIRING_HEADERS: Final = (
    "轮次",
    "配对编号",
    "需求编号",
    "技术需求名称",
    "需求单位",
    "对接对象类别",
    "对接对象编号",
    "对接对象名称",
    "所属学会",
    "匹配度",
    "排名",
    "推荐理由（共同关键词）",
    "状态",
    "拒绝原因",
    "对接日期",
    "对接记录",
    "合同类型",
    "合同金额（万元）",
    "更新时间（北京时间）",
)
MATCH_HEADERS: Final = (
    "需求编号",
    "技术需求名称",
    "需求单位",
    "排名",
    "对接对象类别",
    "对接对象编号",
    "对接对象名称",
    "所属学会",
    "匹配度",
    "推荐理由",
    "本轮容量",
    "剩余容量",
    "约束",
    "是否排除",
)
SUMMARY_HEADERS: Final = ("学会", "工作表", "行数")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_TITLE_MAX: Final = 31
REASON_TERMS: Final = 5
PERCENT: Final = "0%"
CHART_ROWS: Final = 22  # rows an inserted chart covers, so the next one starts below it


def sheet_titles(names: Iterable[str]) -> dict[str, str]:
    """A valid, unique sheet title per name: no []:*?/\\, at most 31 characters, numbered if repeated."""
    titles: dict[str, str] = {}
    used = {SUMMARY_TITLE}
    for name in names:
        base = _SHEET_FORBIDDEN.sub("_", name).strip("' ") or "未命名"
        title, number = base[:SHEET_TITLE_MAX], 1
        while title in used:
            number += 1
            suffix = f"({number})"
            title = base[: SHEET_TITLE_MAX - len(suffix)] + suffix
        used.add(title)
        titles[name] = title
    return titles


def _text(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(CHINA).replace(tzinfo=None)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters are not allowed in XLSX
    return value


def _cell(sheet: WriteOnlyWorksheet, value: object, font: Font | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=_text(value))
    if isinstance(value, str):
        cell.data_type = "s"  # a text beginning with "=" stays text, never a formula
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    if font is not None:
        cell.font = font
    return cell


def _grouped_workbook(
    headers: Sequence[str], groups: dict[str, list[Sequence[object]]], widths: dict[int, int]
) -> bytes:
    """A summary sheet and one sheet per group (busiest group first), streamed."""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    summary = workbook.create_sheet(SUMMARY_TITLE)
    summary.append([_cell(summary, h, bold) for h in SUMMARY_HEADERS])
    ordered = sorted(groups, key=lambda name: (-len(groups[name]), name))
    titles = sheet_titles(ordered)
    for name in ordered:
        summary.append([_cell(summary, v) for v in (name, titles[name], len(groups[name]))])
        sheet = workbook.create_sheet(titles[name])
        for column, width in widths.items():
            sheet.column_dimensions[_letter(column)].width = width
        sheet.freeze_panes = "A2"
        sheet.append([_cell(sheet, h, bold) for h in headers])
        for row in groups[name]:
            sheet.append([_cell(sheet, value) for value in row])
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _letter(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(column))


# --- pairings of a round ------------------------------------------------------------------------


def pairings_workbook(session: Session, round_id: int) -> bytes:
    """A round's pairings with Chinese headers: a summary sheet, then one sheet per society."""
    get_round(session, round_id)
    pairings = list(
        session.scalars(
            select(Pairing).where(Pairing.round_id == round_id).order_by(Pairing.demand_id, Pairing.rank)
        )
    )
    demands = _demands(session, {p.demand_id for p in pairings})
    societies: dict[tuple[str, int], str] = {}
    for level in {p.provider_level.value for p in pairings}:
        ids = [p.provider_id for p in pairings if p.provider_level.value == level]
        societies.update({(level, k): v for k, v in society_names(session, level, ids).items()})
    groups: dict[str, list[Sequence[object]]] = {}
    for p in pairings:
        society = societies[(p.provider_level.value, p.provider_id)]
        groups.setdefault(society, []).append(_pairing_row(p, demands.get(p.demand_id, ("", "")), society))
    return _grouped_workbook(PAIRING_HEADERS, groups, {4: 36, 5: 28, 8: 28, 9: 28, 12: 36, 16: 30})


def _demands(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    out: dict[int, tuple[str, str]] = {}
    for batch in chunks(sorted(ids)):
        rows = session.execute(select(Demand.id, Demand.title, Demand.org_name).where(Demand.id.in_(batch)))
        out.update({row.id: (row.title, row.org_name) for row in rows})
    return out


def _pairing_row(p: Pairing, demand: tuple[str, str], society: str) -> Sequence[object]:
    return (
        p.round_id,
        p.id,
        p.demand_id,
        demand[0],
        demand[1],
        LEVEL_LABELS[p.provider_level.value],
        p.provider_id,
        p.provider_name,
        society,
        match_degree(p.score),
        p.rank,
        _terms(p.reasons),
        STATUS_LABELS[p.status],
        p.reject_reason,
        p.contact_date,
        p.contact_notes,
        p.agreement_type.value if p.agreement_type else None,
        p.agreement_amount_wan,
        p.updated_at,
    )


def _terms(reasons: Sequence[dict[str, Any]]) -> str:
    return "、".join(str(reason.get("term", "")) for reason in reasons[:REASON_TERMS])


# --- match lists of demands ---------------------------------------------------------------------


def matches_workbook(session: Session, demand_ids: Sequence[int], level: str, limit: int) -> bytes:
    """Each demand's ranked match list (the matching service's ranking), a sheet per society.

    The lists come from ``match_lists``: the same lists as ``match_list`` demand by demand, from a
    number of queries that does not grow with the demands and one score matrix per block of demands.
    """
    lists = match_lists(session, demand_ids=demand_ids, level=level, limit=limit)
    return match_lists_workbook(session, lists, level)


def match_lists_workbook(session: Session, lists: Sequence[MatchList], level: str) -> bytes:
    """Match lists of ``level`` as XLSX: a summary sheet, then one sheet per society of their providers."""
    demands = _demands(session, [found.demand_id for found in lists])
    provider_ids = {item.provider_id for found in lists for item in found.items}
    societies = society_names(session, level, provider_ids)
    groups: dict[str, list[Sequence[object]]] = {}
    for found in lists:
        for row, society in _match_rows(found, demands.get(found.demand_id, ("", "")), societies):
            groups.setdefault(society, []).append(row)
    return _grouped_workbook(MATCH_HEADERS, groups, {2: 36, 3: 28, 7: 28, 8: 28, 10: 40, 13: 30})


def _match_rows(
    found: MatchList, demand: tuple[str, str], societies: dict[int, str]
) -> list[tuple[Sequence[object], str]]:
    out: list[tuple[Sequence[object], str]] = []
    for item in found.items:
        society = societies.get(item.provider_id, "")
        row = (
            found.demand_id,
            demand[0],
            demand[1],
            item.rank,
            LEVEL_LABELS[found.level],
            item.provider_id,
            item.provider_name,
            society,
            item.match_degree,
            item.explanation,
            item.capacity,
            item.remaining_capacity,
            "；".join(item.constraints),
            "是" if item.excluded else "否",
        )
        out.append((row, society))
    return out


# --- the report workbook ------------------------------------------------------------------------


def report_workbook(report: Report) -> bytes:
    """The report as XLSX: an overview with the funnel and the charts, then one sheet per section."""
    workbook = Workbook()
    overview = workbook.active
    assert overview is not None
    overview.title = "概览"
    _overview(overview, report)
    _table(
        workbook.create_sheet("服务方负荷"),
        ("类别", "编号", "名称", "容量", "配对（未拒绝）", "已接受及以后", "已拒绝", "负荷率"),
        [
            (
                LEVEL_LABELS.get(r.level, r.level),
                r.provider_id,
                r.name,
                r.capacity,
                r.load,
                r.advanced,
                r.rejected,
                None if r.ratio is None else round(r.ratio, 4),
            )
            for r in report.loads
        ],
        formats={8: PERCENT},  # a ratio of 1 reads 100%, as on the page
    )
    _table(
        workbook.create_sheet("未匹配需求"),
        ("需求编号", "技术需求名称", "原因"),
        [(g.demand_id, g.title, g.message) for g in report.gaps[:GAPS_LISTED]],
    )
    _table(
        workbook.create_sheet("扩容建议"),
        ("编号", "名称", "容量", "增益", "等待中的需求数", "可服务需求"),
        [
            (
                r.get("provider_id"),
                r.get("provider_name"),
                r.get("capacity"),
                r.get("gain"),
                r.get("waiting_demands"),
                "、".join(str(s.get("demand_id")) for s in r.get("serves") or []),
            )
            for r in report.relaxations
        ],
    )
    _table(
        workbook.create_sheet("各阶段用时"),
        ("阶段", "样本数", "中位数（天）"),
        [
            (s.label, s.count, None if s.median_days is None else round(s.median_days, 2))
            for s in report.stages
        ],
    )
    if report.programmes:
        _programme_sheet(workbook.create_sheet("按行动"), report)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _overview(sheet: Worksheet, report: Report) -> None:
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([report.subtitle])
    sheet.append(["生成时间（北京时间）", _text(report.generated_at)])
    sheet.append([])
    sheet.append(["环节", "需求数", "配对数", "合同金额（万元）"])
    for cell in sheet[5]:
        cell.font = Font(bold=True)
    for step in report.funnel:
        sheet.append([step.label, step.demands, step.pairings, _text(step.amount_wan)])
    sheet.append([])
    sheet.append(["未匹配原因", "需求数"])
    for reason, count in report.gap_counts.items():
        sheet.append([GAP_MESSAGES.get(reason, reason), count])
    sheet.column_dimensions["A"].width = 30
    for column in "BCD":
        sheet.column_dimensions[column].width = 16
    row = 2
    for name, png in report.charts.items():
        sheet.cell(row=row - 1, column=6, value=CHART_TITLES.get(name, name))
        sheet.add_image(Image(io.BytesIO(png)), f"F{row}")
        row += CHART_ROWS


def _table(
    sheet: Worksheet,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    formats: Mapping[int, str] | None = None,
) -> None:
    """A sheet of rows under bold headers; ``formats`` gives number formats by 1-based column."""
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_text(value) for value in row])
    for column, number_format in (formats or {}).items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = number_format
    sheet.freeze_panes = "A2"
    for index in range(1, len(headers) + 1):
        sheet.column_dimensions[_letter(index)].width = 14 if index != 3 else 36


def _programme_sheet(sheet: Worksheet, report: Report) -> None:
    first = next(iter(report.programmes.values()))
    headers = ["行动（项目）", *(f"{step.label}（需求）" for step in first), "合同金额（万元）"]
    rows = [
        [name, *(step.demands for step in steps), _text(steps[-1].amount_wan)]
        for name, steps in report.programmes.items()
    ]
    _table(sheet, headers, rows)
