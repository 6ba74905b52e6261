"""Queries of the programmes package; flushes, never commits."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.db.models import Demand
from api.programmes.models import (
    Activity,
    Campaign,
    CampaignOverride,
    Programme,
    ProgrammeTag,
    ReportFiling,
    ReportingUnit,
    StandingUnit,
    TagTarget,
)
from api.validation import row_id


def programme_by_code(session: Session, code: str) -> Programme | None:
    """The programme with ``code`` (or with that name), if any."""
    query = select(Programme).where((Programme.code == code) | (Programme.name == code))
    return session.scalar(query)


def campaign_by_key(session: Session, key: str) -> Campaign | None:
    """The campaign by numeric id or by code."""
    if (campaign_id := row_id(key)) is not None:
        return session.get(Campaign, campaign_id)
    return session.scalar(select(Campaign).where(Campaign.code == key))


def campaign_receipts(
    session: Session, campaign_id: int
) -> list[tuple[int, str | None, int | None, datetime]]:
    """(demand id, region code, forwarding society id, received at) of every demand of a campaign."""
    query = (
        select(Demand.id, Demand.region_code, Demand.collected_by_society_id, Demand.created_at)
        .where(Demand.campaign_id == campaign_id)
        .order_by(Demand.id)
    )
    return [(row[0], row[1], row[2], row[3]) for row in session.execute(query)]


def late_admissions(session: Session, campaign_id: int) -> list[tuple[Demand, CampaignOverride]]:
    """Demands admitted after the deadline, each with its override."""
    query = (
        select(Demand, CampaignOverride)
        .join(CampaignOverride, CampaignOverride.demand_id == Demand.id)
        .where(CampaignOverride.campaign_id == campaign_id)
        .order_by(Demand.id)
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def unused_overrides(session: Session, campaign_id: int) -> list[CampaignOverride]:
    """Overrides granted but not yet used."""
    query = select(CampaignOverride).where(
        CampaignOverride.campaign_id == campaign_id, CampaignOverride.demand_id.is_(None)
    )
    return list(session.scalars(query.order_by(CampaignOverride.id)))


def count(session: Session, query: Select[tuple[int]] | Select[int]) -> int:
    """The number a ``select(func.count())…`` query returns."""
    return session.scalar(query) or 0


def tagged_ids(session: Session, programme_id: int, target: TagTarget) -> list[int]:
    """Ids of the rounds or pairings tagged with a programme."""
    query = select(ProgrammeTag.target_id).where(
        ProgrammeTag.programme_id == programme_id, ProgrammeTag.target_kind == target
    )
    return list(session.scalars(query))


def activity_amount(session: Session, programme_id: int) -> Decimal:
    """Total amount (万元) of the activities logged under a programme."""
    query = select(func.coalesce(func.sum(Activity.amount_wan), 0)).where(
        Activity.programme_id == programme_id
    )
    return Decimal(session.scalar(query) or 0)


def activities_of(session: Session, unit_id: int, first: date, last: date, table: int) -> list[Activity]:
    """A reporting unit's activities of one table between two dates, in date order."""
    query = (
        select(Activity)
        .where(
            Activity.reporting_unit_id == unit_id,
            Activity.report_table == table,
            Activity.occurred_on >= first,
            Activity.occurred_on <= last,
        )
        .order_by(Activity.occurred_on, Activity.id)
    )
    return list(session.scalars(query))


def activities_of_standing_unit(session: Session, standing_unit_id: int) -> list[Activity]:
    """A standing unit's activity log, newest first."""
    query = select(Activity).where(Activity.standing_unit_id == standing_unit_id)
    return list(session.scalars(query.order_by(Activity.occurred_on.desc(), Activity.id.desc())))


def filing(session: Session, unit_id: int, period: str, table: int) -> ReportFiling | None:
    """A unit's filing of one table for one period."""
    query = select(ReportFiling).where(
        ReportFiling.reporting_unit_id == unit_id,
        ReportFiling.period == period,
        ReportFiling.table_no == table,
    )
    return session.scalar(query)


def filed_tables(session: Session, period: str) -> dict[int, set[int]]:
    """For one period, the tables each unit has filed."""
    query = select(ReportFiling.reporting_unit_id, ReportFiling.table_no).where(
        ReportFiling.period == period, ReportFiling.status == "filed"
    )
    filed: dict[int, set[int]] = {}
    for unit_id, table in session.execute(query):
        filed.setdefault(unit_id, set()).add(table)
    return filed


def active_reporting_units(session: Session) -> list[ReportingUnit]:
    """Every active reporting unit, by id."""
    return list(session.scalars(select(ReportingUnit).where(ReportingUnit.active).order_by(ReportingUnit.id)))


def reporting_unit_for(
    session: Session, *, society_id: int | None, region_code: str | None
) -> ReportingUnit | None:
    """The reporting unit of a society, or else of the county containing ``region_code``."""
    if society_id is not None:
        unit = session.scalar(select(ReportingUnit).where(ReportingUnit.society_id == society_id))
        if unit is not None:
            return unit
    if region_code:
        county = region_code[:6] + "000000"
        return session.scalar(select(ReportingUnit).where(ReportingUnit.region_code == county))
    return None


def standing_units(session: Session) -> list[StandingUnit]:
    """Every standing unit, newest first."""
    return list(session.scalars(select(StandingUnit).order_by(StandingUnit.id.desc())))
