"""Round and period reports: the figures of :mod:`api.reports.metrics` over a cohort, with charts."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.errors import FieldError, RequestInvalidError
from api.reports import charts, metrics
from api.reports.facts import Cohort, period_cohort, round_cohort
from api.validation import MESSAGES, day_in_range, day_range_context

GAPS_LISTED: Final = 200
MAX_PERIOD_DAYS: Final = 3 * 366
CHART_TITLES: Final = {
    "funnel": "对接漏斗",
    "load": "服务方负荷与容量",
    "stages": "各阶段用时中位数",
    "gaps": "未匹配需求及原因",
    "programmes": "按行动（项目）的对接漏斗",
}


@dataclass(slots=True)
class Report:
    """Everything a report shows, ready for HTML or XLSX."""

    title: str
    subtitle: str
    generated_at: datetime
    funnel: list[metrics.FunnelStep]
    loads: list[metrics.LoadRow]
    gaps: list[metrics.Gap]
    gap_counts: dict[str, int]
    relaxations: list[dict[str, Any]]
    stages: list[metrics.StageMedian]
    programmes: dict[str, list[metrics.FunnelStep]]
    round_ids: list[int]
    charts: dict[str, bytes] = field(default_factory=dict)


def build(cohort: Cohort, *, with_charts: bool = True) -> Report:
    """The report of ``cohort``; charts as PNG unless ``with_charts`` is False."""
    found = metrics.gaps(cohort.demands, cohort.pairings, cohort.diagnosed)
    report = Report(
        title=cohort.title,
        subtitle=cohort.subtitle,
        generated_at=utcnow(),
        funnel=metrics.funnel(cohort.demands, cohort.pairings),
        loads=metrics.loads(cohort.pairings, cohort.capacity, cohort.names),
        gaps=found,
        gap_counts=metrics.gap_counts(found),
        relaxations=cohort.relaxations,
        stages=metrics.stage_medians(cohort.demands, cohort.pairings),
        programmes=metrics.programme_funnels(cohort.demands, cohort.pairings),
        round_ids=cohort.round_ids,
    )
    if with_charts:
        report.charts = draw(report)
    return report


def draw(report: Report) -> dict[str, bytes]:
    """The report's charts by name (the programme chart only when programmes are present)."""
    drawn = {
        "funnel": charts.funnel_chart(report.funnel),
        "load": charts.load_chart(report.loads),
        "stages": charts.stage_chart(report.stages),
        "gaps": charts.gap_chart(report.gap_counts, metrics.GAP_MESSAGES),
    }
    if report.programmes:
        drawn["programmes"] = charts.programme_chart(report.programmes)
    return drawn


def round_report(session: Session, round_id: int, *, with_charts: bool = True) -> Report:
    """The report of one matching round (404 when it does not exist)."""
    return build(round_cohort(session, round_id), with_charts=with_charts)


def period_report(session: Session, first: date, last: date, *, with_charts: bool = True) -> Report:
    """The report of the demands collected from ``first`` to ``last`` inclusive (China dates)."""
    check_period(first, last)
    return build(period_cohort(session, first, last), with_charts=with_charts)


def check_period(first: date, last: date) -> None:
    """Refuse a day out of range, a reversed period or one longer than three years, naming the field."""
    days = (("from", "开始日期", first), ("to", "结束日期", last))
    outside = [
        FieldError(
            name,
            "date_out_of_range",
            MESSAGES["date_out_of_range"].format(label=label, **day_range_context(day)),
        )
        for name, label, day in days
        if not day_in_range(day)
    ]
    if outside:
        raise RequestInvalidError(errors=outside)
    if last < first:
        raise RequestInvalidError(errors=[FieldError("to", "period_reversed", "结束日期不能早于开始日期")])
    if (last - first).days > MAX_PERIOD_DAYS:
        message = f"统计期最长 {MAX_PERIOD_DAYS} 天，请分段统计"
        raise RequestInvalidError(errors=[FieldError("to", "period_too_long", message)])


def file_stem(report: Report) -> str:
    """A file name (without extension) for the report."""
    return report.title.replace(" ", "")
