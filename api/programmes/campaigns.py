"""Programmes and collection campaigns: launch, close, late-submission overrides, the dashboard.
Functions take keyword arguments and flush, never commit."""

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.models import Demand, StaffUser
from api.errors import ConflictError, FieldError, NotFoundError, RequestInvalidError
from api.matching.models import MatchRound, Pairing
from api.programmes import repository
from api.programmes.admission import accepting, closing_date
from api.programmes.models import (
    Activity,
    Campaign,
    CampaignOverride,
    CampaignStatus,
    Programme,
    ProgrammeTag,
    StandingUnit,
    TagTarget,
)
from api.programmes.periods import china_date, china_today
from api.programmes.schemas import (
    CampaignCreate,
    CampaignOut,
    CountRow,
    Dashboard,
    DayRow,
    LateRow,
    OverrideCreate,
    OverrideOut,
    ProgrammeCreate,
    ProgrammeOut,
    ProgrammeSummary,
)
from api.providers.models import Society
from api.reference import region_codes
from api.validation import row_id

# The programmes of the seed notices (also inserted by the migration that creates the table).
SEED_PROGRAMMES: Final = (
    (
        "cxzx",
        "创新争先行动",
        "“创新争先百千万行动”：短板攻坚、走基层送服务、“三比”活动（附件2、附件3季度与年度报告）",
    ),
    ("jqgc", "金桥工程", "科协“金桥工程”项目：围绕重点技术与产品为企业解决技术难题"),
    ("cxqdzl", "创新驱动助力工程", "学会服务站、院士（专家）工作站、会企创新联盟等平台服务园区和企业"),
    ("hqxz", "会企协作", "学会与企业协作：“会地合作”“会企协作”、成果转化与人才培养"),
    ("ylyt", "“一链一团”科技服务团", "联系全国学会按产业链组建科技服务团，服务重点产业链企业"),
)
OVERRIDE_DAYS: Final = 7
UNKNOWN_REGION: Final = "未填地区"


def _field(field: str, code: str, message: str) -> RequestInvalidError:
    return RequestInvalidError(errors=[FieldError(field, code, message)])


def seed_programmes(session: Session) -> int:
    """Insert the seed programmes that are missing; returns how many were added."""
    known = set(session.scalars(select(Programme.code)))
    missing = [Programme(code=c, name=n, description=d) for c, n, d in SEED_PROGRAMMES if c not in known]
    session.add_all(missing)
    session.flush()
    return len(missing)


def list_programmes(session: Session) -> list[Programme]:
    """Every programme, in the order they were added."""
    return list(session.scalars(select(Programme).order_by(Programme.id)))


def create_programme(session: Session, *, payload: ProgrammeCreate) -> Programme:
    """Add a programme; code and name must be new."""
    programme = Programme(**payload.model_dump())
    try:
        with session.begin_nested():
            session.add(programme)
            session.flush()
    except IntegrityError:
        raise ConflictError(f"行动（项目）代码“{payload.code}”或名称“{payload.name}”已存在") from None
    return programme


def programme(session: Session, key: str, field: str = "programme") -> Programme:
    """The programme by code, name or id; a field error when there is none."""
    programme_id = row_id(key)
    found = (
        session.get(Programme, programme_id)
        if programme_id is not None
        else repository.programme_by_code(session, key)
    )
    if found is None:
        raise _field(
            field, "programme_not_found", f"行动（项目）“{key}”不存在，可选代码见 /api/v1/programmes"
        )
    return found


def _programme_in_path(session: Session, key: str) -> Programme:
    # Named in the URL, not in a body field: an unknown programme is a missing resource (404).
    try:
        return programme(session, key)
    except RequestInvalidError:
        raise NotFoundError(f"行动（项目）“{key}”不存在，可选代码见 /api/v1/programmes") from None


def tag(
    session: Session, *, programme_key: str, target: TagTarget, target_id: int, staff: StaffUser
) -> ProgrammeTag:
    """Put a programme on a round or pairing (once; tagging again returns the tag)."""
    found = _programme_in_path(session, programme_key)
    model = MatchRound if target == TagTarget.ROUND else Pairing
    if session.get(model, target_id) is None:
        label = "匹配轮次" if target == TagTarget.ROUND else "匹配结果"
        raise _field("target_id", "target_not_found", f"{label} {target_id} 不存在")
    existing = session.scalar(
        select(ProgrammeTag).where(
            ProgrammeTag.programme_id == found.id,
            ProgrammeTag.target_kind == target,
            ProgrammeTag.target_id == target_id,
        )
    )
    if existing is not None:
        return existing
    created = ProgrammeTag(programme_id=found.id, target_kind=target, target_id=target_id, staff_id=staff.id)
    session.add(created)
    session.flush()
    return created


def summary(session: Session, *, programme_key: str) -> ProgrammeSummary:
    """Campaigns, demands, tagged rounds and pairings, standing units and activities of a programme."""
    found = _programme_in_path(session, programme_key)
    campaign_ids = select(Campaign.id).where(Campaign.programme_id == found.id)
    counted = func.count()
    tagged_pairings = set(repository.tagged_ids(session, found.id, TagTarget.PAIRING))
    # Pairings of the programme's campaign demands belong to it too, tagged or not.
    campaign_pairings = session.scalars(
        select(Pairing.id)
        .join(Demand, Demand.id == Pairing.demand_id)
        .where(Demand.campaign_id.in_(campaign_ids))
    )
    return ProgrammeSummary(
        programme=ProgrammeOut.model_validate(found),
        campaigns=repository.count(session, select(counted).where(Campaign.programme_id == found.id)),
        demands=repository.count(session, select(counted).where(Demand.campaign_id.in_(campaign_ids))),
        rounds=len(repository.tagged_ids(session, found.id, TagTarget.ROUND)),
        pairings=len(tagged_pairings | set(campaign_pairings)),
        standing_units=repository.count(
            session, select(counted).where(StandingUnit.programme_id == found.id)
        ),
        activities=repository.count(session, select(counted).where(Activity.programme_id == found.id)),
        activity_amount_wan=repository.activity_amount(session, found.id).quantize(Decimal("0.01")),
    )


def launch(session: Session, *, payload: CampaignCreate, staff: StaffUser | None) -> Campaign:
    """Create an open campaign under a programme."""
    found = programme(session, payload.programme)
    fields = payload.model_dump(exclude={"programme"})
    campaign = Campaign(
        **fields, programme=found, status=CampaignStatus.OPEN, created_by=staff.id if staff else None
    )
    try:
        with session.begin_nested():
            session.add(campaign)
            session.flush()
    except IntegrityError:
        raise ConflictError(f"征集活动代码“{payload.code}”已被使用") from None
    return campaign


def get(session: Session, key: str) -> Campaign:
    """The campaign by id or code, or 404."""
    campaign = repository.campaign_by_key(session, key)
    if campaign is None:
        raise NotFoundError(f"征集活动 {key} 不存在")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    """Every campaign, newest first."""
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def close(session: Session, *, key: str, staff: StaffUser | None) -> Campaign:
    """Stop taking submissions now; closing twice is refused."""
    campaign = get(session, key)
    if campaign.status == CampaignStatus.CLOSED:
        raise ConflictError(
            f"“{campaign.name}”已于{china_date(campaign.closed_at or utcnow()):%Y年%m月%d日}关闭"
        )
    campaign.status = CampaignStatus.CLOSED
    campaign.closed_at = utcnow()
    campaign.closed_by = staff.id if staff else None
    session.flush()
    return campaign


def grant_override(
    session: Session, *, key: str, payload: OverrideCreate, staff: StaffUser | None
) -> CampaignOverride:
    """Record that one enterprise may still submit to a closed campaign, who allowed it and why."""
    campaign = get(session, key)
    valid_until = payload.valid_until or china_today() + timedelta(days=OVERRIDE_DAYS)
    if valid_until < china_today():
        raise _field("valid_until", "date_in_past", "补报有效期不能早于今天")
    override = CampaignOverride(
        org_name=payload.org_name,
        reason=payload.reason,
        valid_until=valid_until,
        staff_id=staff.id if staff else None,
        staff_name=staff.name if staff else None,
    )
    campaign.overrides.append(override)
    session.flush()
    return override


def dashboard(session: Session, *, key: str, now: datetime | None = None) -> Dashboard:
    """Received demands by county, by forwarding society and by day; the late ones; what is left."""
    campaign = get(session, key)
    receipts = repository.campaign_receipts(session, campaign.id)
    open_now = accepting(campaign, now)
    return Dashboard(
        campaign=CampaignOut.model_validate(campaign),
        accepting=open_now,
        days_left=max((closing_date(campaign) - china_today(now)).days, 0) if open_now else 0,
        total=len(receipts),
        by_county=_by_county(row[1] for row in receipts),
        by_society=_by_society(session, [row[2] for row in receipts]),
        by_day=_by_day(row[3] for row in receipts),
        late=_late(session, campaign.id),
        overrides_unused=[
            OverrideOut.model_validate(item) for item in repository.unused_overrides(session, campaign.id)
        ],
    )


def _by_county(received_regions: Iterable[str | None]) -> list[CountRow]:
    counts = Counter((code[:6] + "000000") if code else "" for code in received_regions)
    names = region_codes()
    rows = [CountRow(key=key[:6], name=names.get(key, UNKNOWN_REGION), count=n) for key, n in counts.items()]
    return sorted(rows, key=lambda row: (-row.count, row.key))


def _by_society(session: Session, society_ids: list[int | None]) -> list[CountRow]:
    counts = Counter(society_id for society_id in society_ids if society_id is not None)
    query = select(Society.id, Society.name).where(Society.id.in_(list(counts)))
    names: dict[int, str] = {row.id: row.name for row in session.execute(query)}
    rows = [CountRow(key=str(sid), name=names.get(sid, str(sid)), count=n) for sid, n in counts.items()]
    return sorted(rows, key=lambda row: (-row.count, row.key))


def _by_day(received: Iterable[datetime]) -> list[DayRow]:
    counts = Counter(china_date(moment) for moment in received)
    return [DayRow(day=day, count=n) for day, n in sorted(counts.items())]


def _late(session: Session, campaign_id: int) -> list[LateRow]:
    return [
        LateRow(
            demand_id=demand.id,
            org_name=demand.org_name,
            title=demand.title,
            received_at=demand.created_at,
            reason=override.reason,
            granted_by=override.staff_name,
        )
        for demand, override in repository.late_admissions(session, campaign_id)
    ]
