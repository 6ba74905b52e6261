"""Reporting units, standing service units and their activity log. Functions flush, never commit."""

from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import Demand, DemandStatus, StaffUser
from api.errors import ConflictError, FieldError, NotFoundError, RequestInvalidError
from api.matching.models import ConstraintKind, PairConstraint, Pairing, PairingStatus
from api.programmes import repository
from api.programmes.campaigns import programme
from api.programmes.models import (
    Activity,
    ActivityKind,
    Campaign,
    Programme,
    ReporterKind,
    ReportingUnit,
    StandingUnit,
    UnitKind,
    UnitProvider,
)
from api.programmes.schemas import (
    ActivityCreate,
    ReportingUnitCreate,
    StandingUnitCreate,
    StandingUnitFromPairing,
    StandingUnitPatch,
)
from api.providers.models import Branch, Expert, ProviderLevel, Society
from api.reference import region_codes

UNIT_KIND_LABELS: Final = {
    UnitKind.SOCIETY_STATION: "学会服务站",
    UnitKind.EXPERT_WORKSTATION: "院士专家工作站",
    UnitKind.ALLIANCE: "会企创新联盟",
}
# 附件2 counts expert-led problem solving (projects, agreements, platforms); 附件3 the services taken to
# the grass roots (visits, trainings, consultations).
TABLE_OF_KIND: Final = {
    ActivityKind.PROJECT: 2,
    ActivityKind.AGREEMENT: 2,
    ActivityKind.PLATFORM: 2,
    ActivityKind.VISIT: 3,
    ActivityKind.TRAINING: 3,
    ActivityKind.CONSULTATION: 3,
    ActivityKind.OTHER: 3,
}
# A pairing the two sides have taken up; a proposal or a refusal cannot found a standing unit.
TAKEN_UP: Final = frozenset(
    {PairingStatus.ACCEPTED, PairingStatus.CONTACTED, PairingStatus.AGREEMENT, PairingStatus.CLOSED}
)
OPEN_DEMANDS: Final = (DemandStatus.SUBMITTED, DemandStatus.IN_REVIEW, DemandStatus.PUBLISHED)


def _field(field: str, code: str, message: str) -> RequestInvalidError:
    return RequestInvalidError(errors=[FieldError(field, code, message)])


# Reporting units ------------------------------------------------------------------------------


def create_reporting_unit(session: Session, *, payload: ReportingUnitCreate) -> ReportingUnit:
    """Register a society or a county 科协 as a unit that files 附件2/3."""
    is_society = payload.kind == ReporterKind.SOCIETY
    unit = _society_unit(session, payload) if is_society else _county_unit(payload)
    try:
        with session.begin_nested():
            session.add(unit)
            session.flush()
    except IntegrityError:
        raise ConflictError(f"“{unit.name}”已登记为填报单位") from None
    return unit


def _society_unit(session: Session, payload: ReportingUnitCreate) -> ReportingUnit:
    society = session.get(Society, payload.society_id) if payload.society_id else None
    if society is None:
        raise _field("society_id", "society_not_found", f"学会 {payload.society_id or '（未填）'} 不存在")
    return ReportingUnit(kind=ReporterKind.SOCIETY, society_id=society.id, name=payload.name or society.name)


def _county_unit(payload: ReportingUnitCreate) -> ReportingUnit:
    if payload.region_code is None:
        raise _field("region_code", "required", "请填写县（市、区）的行政区划代码，如 350823")
    county = payload.region_code[:6] + "000000"
    name = payload.name or f"{region_codes().get(county, county[:6])}科协"
    return ReportingUnit(kind=ReporterKind.COUNTY, region_code=county, name=name)


def reporting_unit(session: Session, unit_id: int, field: str = "unit") -> ReportingUnit:
    """The reporting unit, or a field error."""
    unit = session.get(ReportingUnit, unit_id)
    if unit is None:
        raise _field(field, "reporting_unit_not_found", f"填报单位 {unit_id} 不存在，请先登记填报单位")
    return unit


def list_reporting_units(session: Session) -> list[ReportingUnit]:
    """Every reporting unit, by id."""
    return list(session.scalars(select(ReportingUnit).order_by(ReportingUnit.id)))


# Standing units -------------------------------------------------------------------------------


def create_unit(session: Session, *, payload: StandingUnitCreate, staff: StaffUser | None) -> StandingUnit:
    """Register a standing unit directly."""
    provider_name = _provider_name(session, payload.provider_level, payload.provider_id)
    if payload.demand_id is not None and session.get(Demand, payload.demand_id) is None:
        raise _field("demand_id", "demand_not_found", f"需求 {payload.demand_id} 不存在")
    unit = StandingUnit(
        **payload.model_dump(exclude={"programme", "reporting_unit_id", "name"}),
        provider_name=provider_name,
        name=payload.name or _default_name(payload.kind, provider_name, payload.enterprise_name),
        programme=programme(session, payload.programme) if payload.programme else None,
        created_by=staff.id if staff else None,
    )
    return _register(session, unit, payload.reporting_unit_id, staff)


def create_unit_from_pairing(
    session: Session, *, payload: StandingUnitFromPairing, staff: StaffUser | None
) -> StandingUnit:
    """Register a standing unit from a pairing both sides took up: its provider serves its enterprise."""
    pairing = session.get(Pairing, payload.pairing_id)
    if pairing is None:
        raise _field("pairing_id", "pairing_not_found", f"匹配结果 {payload.pairing_id} 不存在")
    if pairing.status not in TAKEN_UP:
        raise ConflictError(f"匹配结果 {pairing.id} 尚未被接受（当前：{pairing.status.value}），不能据此建站")
    level, provider_id = _unit_provider(session, pairing)
    demand = session.get(Demand, pairing.demand_id)
    assert demand is not None  # a pairing's demand is a foreign key with ON DELETE CASCADE
    provider_name = _provider_name(session, level, provider_id)
    unit = StandingUnit(
        **payload.model_dump(exclude={"programme", "reporting_unit_id", "name", "pairing_id"}),
        provider_level=level,
        provider_id=provider_id,
        provider_name=provider_name,
        enterprise_name=demand.org_name,
        demand_id=demand.id,
        pairing_id=pairing.id,
        region_code=demand.region_code,
        name=payload.name or _default_name(payload.kind, provider_name, demand.org_name),
        programme=_programme_of(session, payload.programme, demand),
        created_by=staff.id if staff else None,
    )
    return _register(session, unit, payload.reporting_unit_id, staff)


def _unit_provider(session: Session, pairing: Pairing) -> tuple[UnitProvider, int]:
    # A branch's pairing founds a station of its society: stations are registered by societies.
    if pairing.provider_level == ProviderLevel.BRANCH:
        branch = session.get(Branch, pairing.provider_id)
        if branch is None:
            raise ConflictError(f"匹配结果 {pairing.id} 的分会已不存在")
        return UnitProvider.SOCIETY, branch.society_id
    return UnitProvider(pairing.provider_level.value), pairing.provider_id


def _programme_of(session: Session, key: str | None, demand: Demand) -> Programme | None:
    if key:
        return programme(session, key)
    campaign = session.get(Campaign, demand.campaign_id) if demand.campaign_id else None
    return campaign.programme if campaign else None


def _provider_name(session: Session, level: UnitProvider, provider_id: int) -> str:
    provider: Society | Expert | None = (
        session.get(Society, provider_id)
        if level == UnitProvider.SOCIETY
        else session.get(Expert, provider_id)
    )
    if provider is None:
        label = "学会" if level == UnitProvider.SOCIETY else "专家"
        raise _field("provider_id", "provider_not_found", f"{label} {provider_id} 不存在")
    return provider.name


def _default_name(kind: UnitKind, provider_name: str, enterprise_name: str) -> str:
    suffix = UNIT_KIND_LABELS[kind]
    if kind == UnitKind.EXPERT_WORKSTATION:
        return f"{provider_name}{suffix}（{enterprise_name}）"[:150]
    return f"{provider_name}{enterprise_name}{suffix}"[:150]


def _register(
    session: Session, unit: StandingUnit, reporting_unit_id: int | None, staff: StaffUser | None
) -> StandingUnit:
    unit.reporting_unit = (
        reporting_unit(session, reporting_unit_id, "reporting_unit_id")
        if reporting_unit_id
        else _default_reporter(session, unit)
    )
    try:
        with session.begin_nested():
            session.add(unit)
            session.flush()
    except IntegrityError:
        raise ConflictError(f"“{unit.name}”已登记") from None
    if unit.lock_provider:
        lock_enterprise(session, unit, staff)
    log_founding(session, unit, staff)
    return unit


def _default_reporter(session: Session, unit: StandingUnit) -> ReportingUnit | None:
    return _reporter_for(session, unit.provider_level, unit.provider_id, unit.region_code)


def _reporter_for(
    session: Session, level: UnitProvider, provider_id: int, region_code: str | None
) -> ReportingUnit | None:
    # The society that runs the unit files for it; else the 科协 of the enterprise's county.
    society_id = provider_id if level == UnitProvider.SOCIETY else None
    return repository.reporting_unit_for(session, society_id=society_id, region_code=region_code)


def default_reporter_of_pairing(session: Session, pairing: Pairing) -> ReportingUnit | None:
    """The reporting unit a station registered from ``pairing`` gets when staff choose none (or None)."""
    try:
        level, provider_id = _unit_provider(session, pairing)
    except ConflictError:
        return None
    demand = session.get(Demand, pairing.demand_id)
    return _reporter_for(session, level, provider_id, demand.region_code if demand else None)


def log_founding(session: Session, unit: StandingUnit, staff: StaffUser | None) -> None:
    """Log the founding of a standing unit as a 附件2 activity of its reporting unit (if it has one)."""
    # Founding a station is itself a result the 附件2 reports, so it enters the log at once.
    if unit.reporting_unit is None:
        return
    kind_label = UNIT_KIND_LABELS[unit.kind]
    session.add(
        Activity(
            reporting_unit=unit.reporting_unit,
            standing_unit=unit,
            programme_id=unit.programme.id if unit.programme else None,
            kind=ActivityKind.PLATFORM,
            report_table=TABLE_OF_KIND[ActivityKind.PLATFORM],
            title=f"建立{kind_label}"[:100],
            content=f"{unit.provider_name}与{unit.enterprise_name}共建“{unit.name}”",
            outcomes=f"{kind_label}挂牌成立，常态化服务企业技术创新",
            occurred_on=unit.established_on,
            enterprises=1,
            staff_id=staff.id if staff else None,
        )
    )
    session.flush()


def lock_enterprise(session: Session, unit: StandingUnit, staff: StaffUser | None) -> int:
    """Lock the enterprise's open demands to the unit's provider in later rounds; returns locks added."""
    level = ProviderLevel(unit.provider_level.value)
    demand_ids = session.scalars(
        select(Demand.id).where(Demand.org_name == unit.enterprise_name, Demand.status.in_(OPEN_DEMANDS))
    ).all()
    locked = set(
        session.scalars(
            select(PairConstraint.demand_id).where(
                PairConstraint.demand_id.in_(demand_ids),
                PairConstraint.provider_level == level,
                PairConstraint.provider_id == unit.provider_id,
            )
        )
    )
    added = [
        PairConstraint(
            demand_id=demand_id,
            provider_level=level,
            provider_id=unit.provider_id,
            kind=ConstraintKind.LOCK,
            reason=f"常设服务单位：{unit.name}"[:500],
            created_by=staff.id if staff else None,
        )
        for demand_id in demand_ids
        if demand_id not in locked
    ]
    session.add_all(added)
    session.flush()
    return len(added)


def get_unit(session: Session, unit_id: int) -> StandingUnit:
    """The standing unit, or 404."""
    unit = session.get(StandingUnit, unit_id)
    if unit is None:
        raise NotFoundError(f"常设服务单位 {unit_id} 不存在")
    return unit


def update_unit(
    session: Session, *, unit_id: int, patch: StandingUnitPatch, staff: StaffUser | None
) -> StandingUnit:
    """Change status, notes or the lock; turning the lock on locks the enterprise's open demands."""
    unit = get_unit(session, unit_id)
    changes = patch.model_dump(exclude_unset=True)
    newly_locked = changes.get("lock_provider") is True and not unit.lock_provider
    for name, value in changes.items():
        if value is not None or name == "notes":
            setattr(unit, name, value)
    session.flush()
    if newly_locked:
        lock_enterprise(session, unit, staff)
    return unit


# Activities -----------------------------------------------------------------------------------


def log_activity(
    session: Session, *, payload: ActivityCreate, standing_unit_id: int | None, staff: StaffUser | None
) -> Activity:
    """Log an activity, of a standing unit or of a reporting unit alone."""
    unit = get_unit(session, standing_unit_id) if standing_unit_id else None
    reporter = _reporter_of(session, payload.reporting_unit_id, unit)
    chosen = (
        programme(session, payload.programme) if payload.programme else (unit.programme if unit else None)
    )
    activity = Activity(
        **payload.model_dump(exclude={"reporting_unit_id", "programme", "report_table"}),
        report_table=payload.report_table or TABLE_OF_KIND[payload.kind],
        reporting_unit=reporter,
        standing_unit=unit,
        programme_id=chosen.id if chosen else None,
        staff_id=staff.id if staff else None,
    )
    session.add(activity)
    session.flush()
    return activity


def _reporter_of(session: Session, reporting_unit_id: int | None, unit: StandingUnit | None) -> ReportingUnit:
    if reporting_unit_id is not None:
        return reporting_unit(session, reporting_unit_id, "reporting_unit_id")
    if unit is not None and unit.reporting_unit is not None:
        return unit.reporting_unit
    raise _field("reporting_unit_id", "required", "请填写填报单位编号（该常设服务单位未指定填报单位）")


def activities_of_unit(session: Session, unit_id: int) -> list[Activity]:
    """A standing unit's activity log, newest first."""
    return repository.activities_of_standing_unit(session, get_unit(session, unit_id).id)
