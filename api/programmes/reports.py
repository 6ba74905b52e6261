"""The 附件2/附件3 tables of seed 003 for a reporting unit and a period, filled from the activity log
and the unit's agreed pairings; staff's 存在不足; filing; and what falls due when, filed by whom."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.models import Demand, StaffUser
from api.errors import FieldError, RequestInvalidError
from api.matching.models import Pairing, PairingStatus
from api.programmes import repository
from api.programmes.models import (
    Activity,
    ActivityKind,
    FilingStatus,
    ReporterKind,
    ReportFiling,
    ReportingUnit,
)
from api.programmes.periods import Period, china_date, china_today, parse_period, periods_of_year
from api.programmes.schemas import DueItem, MissingUnit, Report, ReportingUnitOut, ReportKey, ReportRow
from api.programmes.units import reporting_unit
from api.providers.models import ProviderLevel

TABLE_TITLES: Final = {
    2: ("动员组织百名专家开展短板攻坚勇攀高峰", "工作开展情况统计表"),
    3: ("动员组织千名科技工作者走基层送服务、万名科技工作者", "开展“三比”活动工作开展情况统计表"),
}
HEADERS: Final = ("序号", "活动名称", "活动内容", "主要成效（含宣传工作情况）", "存在不足")
TOTAL_LABEL: Final = "合计"
GENERAL_KEY: Final = ""
# Reminders list who is missing for reports due within this many days (and for those overdue).
REMIND_AHEAD_DAYS: Final = 30


def period_of(text: str) -> Period:
    """The period of ``text`` or a field error."""
    period = parse_period(text)
    if period is None:
        message = f"报告期“{text}”格式不正确，季度如 2026Q3，年度如 2026"
        raise RequestInvalidError(errors=[FieldError("period", "period_invalid", message)])
    return period


def build(session: Session, *, key: ReportKey, today: date | None = None) -> Report:
    """The report as filed, or as the log stands now (with the 存在不足 entered so far)."""
    unit = reporting_unit(session, key.unit)
    period = period_of(key.period)
    filing = repository.filing(session, unit.id, period.code, key.table)
    if filing is not None and filing.status == FilingStatus.FILED and filing.rows is not None:
        rows = [ReportRow.model_validate(row) for row in filing.rows]
        filled_on = china_date(filing.filed_at or utcnow())
    else:
        notes = filing.shortcomings if filing else {}
        rows = _rows(session, unit, period, key.table, notes)
        filled_on = today or china_today()
    return Report(
        unit=ReportingUnitOut.model_validate(unit),
        period=period.code,
        period_label=period.label,
        table=key.table,
        title_lines=[f"附件{key.table}", *TABLE_TITLES[key.table], f"（{period.label}）"],
        filled_on=filled_on,
        due_on=period.due_on(),
        status=filing.status if filing else FilingStatus.DRAFT,
        rows=rows,
    )


def _rows(
    session: Session, unit: ReportingUnit, period: Period, table: int, notes: dict[str, str]
) -> list[ReportRow]:
    activities = repository.activities_of(session, unit.id, period.first_day, period.last_day, table)
    entries = [_activity_entry(activity) for activity in activities]
    if table == 2 and unit.kind == ReporterKind.SOCIETY and unit.society_id is not None:
        entries += _pairing_entries(session, unit.society_id, period)
    entries.sort(key=lambda entry: entry[0])
    rows = [
        ReportRow(
            seq=str(number),
            key=key,
            name=name,
            content=content,
            outcomes=outcomes,
            shortcomings=notes.get(key, ""),
        )
        for number, (_, key, name, content, outcomes, _) in enumerate(entries, start=1)
    ]
    if entries or notes.get(GENERAL_KEY):
        rows.append(_total_row(entries, notes.get(GENERAL_KEY, "")))
    return rows


# (date, key, 活动名称, 活动内容, 主要成效, (enterprises, participants, amount)) of one row.
Entry = tuple[date, str, str, str, str, tuple[int, int, Decimal]]


def _activity_entry(activity: Activity) -> Entry:
    # A founding row names the unit itself; other rows say which unit the work was done through.
    through = activity.standing_unit is not None and activity.kind != ActivityKind.PLATFORM
    where = f"依托“{activity.standing_unit.name}”，" if through and activity.standing_unit else ""
    content = f"{chinese_date(activity.occurred_on)}，{where}{activity.content}"
    outcomes = _outcomes(
        activity.outcomes,
        activity.enterprises,
        activity.experts,
        activity.participants,
        activity.amount_wan,
        activity.publicity,
    )
    totals = (activity.enterprises, activity.participants, activity.amount_wan or Decimal(0))
    return activity.occurred_on, f"a{activity.id}", activity.title, content, outcomes, totals


def _pairing_entries(session: Session, society_id: int, period: Period) -> list[Entry]:
    # Agreements reached through matching count for the society that took the demand on.
    query = (
        select(Pairing, Demand)
        .join(Demand, Demand.id == Pairing.demand_id)
        .where(
            Pairing.provider_level == ProviderLevel.SOCIETY,
            Pairing.provider_id == society_id,
            Pairing.status.in_((PairingStatus.AGREEMENT, PairingStatus.CLOSED)),
            Pairing.agreement_type.is_not(None),
        )
    )
    entries: list[Entry] = []
    for pairing, demand in session.execute(query):
        day = china_date(pairing.updated_at)
        if period.first_day <= day <= period.last_day:
            entries.append(_pairing_entry(pairing, demand, day))
    return entries


def _pairing_entry(pairing: Pairing, demand: Demand, day: date) -> Entry:
    kind = pairing.agreement_type.value if pairing.agreement_type else "技术"
    content = f"{chinese_date(day)}，{demand.org_name}提出的“{demand.title}”技术需求经会企匹配由本会对接"
    outcomes = _outcomes(f"签订{kind}合同", 1, 0, 0, pairing.agreement_amount_wan, None)
    totals = (1, 0, pairing.agreement_amount_wan or Decimal(0))
    return day, f"p{pairing.id}", f"技术需求对接：{demand.title}"[:100], content, outcomes, totals


def _outcomes(
    text: str | None,
    enterprises: int,
    experts: int,
    participants: int,
    amount: Decimal | None,
    publicity: str | None,
) -> str:
    counts = [
        f"服务企业{enterprises}家" if enterprises else "",
        f"参与专家{experts}人" if experts else "",
        f"受益{participants}人次" if participants else "",
        f"涉及金额{wan(amount)}万元" if amount else "",
    ]
    parts = [(text or "").rstrip("。；;"), "，".join(filter(None, counts))]
    body = "；".join(filter(None, parts))
    body = f"{body}。" if body else ""
    return f"{body}宣传工作：{publicity}" if publicity else body


def chinese_date(day: date) -> str:
    """2026-07-05 -> "2026年7月5日"."""
    return f"{day.year}年{day.month}月{day.day}日"


def wan(amount: Decimal) -> str:
    """An amount in 万元 without trailing zeros: 50.00 -> "50", 12.50 -> "12.5"."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _total_row(entries: Iterable[Entry], general: str) -> ReportRow:
    listed = list(entries)
    enterprises = sum(entry[5][0] for entry in listed)
    participants = sum(entry[5][1] for entry in listed)
    amount = sum((entry[5][2] for entry in listed), Decimal(0))
    return ReportRow(
        seq=TOTAL_LABEL,
        key="total",
        name=f"共{len(listed)}项",
        content="",
        outcomes=_outcomes(None, enterprises, 0, participants, amount, None),
        shortcomings=general,
    )


def set_shortcoming(session: Session, *, key: ReportKey, row: str, text: str) -> Report:
    """Enter 存在不足 for one row (or, with an empty row key, for the whole report) before filing."""
    unit = reporting_unit(session, key.unit)
    period = period_of(key.period)
    filing = _draft(session, unit, period, key.table)
    if row != GENERAL_KEY and row not in {entry.key for entry in _rows(session, unit, period, key.table, {})}:
        message = f"报告中没有“{row}”这一行；行的标识见报告各行的 key，如 a12"
        raise RequestInvalidError(errors=[FieldError("row", "row_not_found", message)])
    filing.shortcomings = {**filing.shortcomings, row: text.strip()}
    session.flush()
    return build(session, key=key)


def _draft(session: Session, unit: ReportingUnit, period: Period, table: int) -> ReportFiling:
    filing = repository.filing(session, unit.id, period.code, table)
    if filing is None:
        filing = ReportFiling(reporting_unit_id=unit.id, period=period.code, table_no=table, shortcomings={})
        session.add(filing)
        session.flush()
    elif filing.status == FilingStatus.FILED:
        filing.status = FilingStatus.DRAFT  # an edit reopens a filed report until it is filed again
        filing.rows = None
    return filing


def file_report(
    session: Session, *, key: ReportKey, staff: StaffUser | None, now: datetime | None = None
) -> Report:
    """Record the report as sent: its rows are kept as they are now."""
    unit = reporting_unit(session, key.unit)
    period = period_of(key.period)
    filing = _draft(session, unit, period, key.table)
    rows = _rows(session, unit, period, key.table, filing.shortcomings)
    filing.rows = [row.model_dump() for row in rows]
    filing.status = FilingStatus.FILED
    filing.filed_at = now or utcnow()
    filing.filed_by = staff.id if staff else None
    session.flush()
    return build(session, key=key)


def due(session: Session, *, on: date) -> list[DueItem]:
    """Reports of the year of ``on`` (and last year's annual one early in the year) with who is missing."""
    periods = periods_of_year(on.year)
    if on < periods[0].due_on():
        periods.insert(0, Period(on.year - 1))
    units = repository.active_reporting_units(session)
    return [_due_item(session, period, on, units) for period in periods]


def _due_item(session: Session, period: Period, on: date, units: list[ReportingUnit]) -> DueItem:
    due_on = period.due_on()
    missing: list[MissingUnit] = []
    if due_on <= on + timedelta(days=REMIND_AHEAD_DAYS):
        filed = repository.filed_tables(session, period.code)
        for unit in units:
            tables = sorted({2, 3} - filed.get(unit.id, set()))
            if tables:
                missing.append(MissingUnit(unit_id=unit.id, name=unit.name, tables=tables))
    return DueItem(
        period=period.code, label=period.label, due_on=due_on, days_left=(due_on - on).days, missing=missing
    )
