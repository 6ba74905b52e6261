"""Demo step: a collection campaign under 创新争先行动 holding the demo demands, two reporting units
(a society and the county with most demo demands), a 学会服务站 and a quarter of activities."""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db.models import Demand
from api.programmes.campaigns import programme, seed_programmes
from api.programmes.models import (
    Activity,
    ActivityKind,
    Campaign,
    CampaignStatus,
    ReporterKind,
    ReportingUnit,
    StandingUnit,
    UnitKind,
    UnitLevel,
    UnitProvider,
)
from api.programmes.periods import Period, china_today
from api.programmes.units import TABLE_OF_KIND, log_founding
from api.providers.models import Society
from api.reference import region_codes

if TYPE_CHECKING:
    from api.demo_context import DemoContext

DEMO_CAMPAIGN: Final = "demo-cxzx"
DEMO_SOCIETY_HINT: Final = "机械工程学会"


def load_demo_programmes(session: Session, context: "DemoContext") -> int:
    """Add the demo campaign, units and activities once; returns the records added."""
    if session.scalar(select(Campaign.id).where(Campaign.code == DEMO_CAMPAIGN)) is not None:
        return 0
    added = seed_programmes(session)
    campaign = _campaign(session)
    untagged = list(session.scalars(select(Demand.id).where(Demand.campaign_id.is_(None))))
    session.execute(update(Demand).where(Demand.id.in_(untagged)).values(campaign_id=campaign.id))
    society = _society(session)
    demand = _county_demand(session)
    if society is None or demand is None:
        context.report("programmes: no demo societies or demands, campaign only")
        return added + 1
    society_unit, county_unit = _reporting_units(session, society, demand.region_code or "")
    station = _station(session, society, demand, society_unit)
    activities = _activities(session, station, society_unit, county_unit)
    return added + 5 + activities  # campaign, two reporting units, the station and its founding


def _campaign(session: Session) -> Campaign:
    today = china_today()
    campaign = Campaign(
        code=DEMO_CAMPAIGN,
        name=f"{today.year}年企事业单位技术需求征集（演示）",
        programme=programme(session, "cxzx"),
        organiser="福建省科学技术协会",
        regions=[],
        channels=["县（市、区）科协", "市级学会", "网上填报"],
        opens_on=today - timedelta(days=30),
        closes_on=today + timedelta(days=15),
        status=CampaignStatus.OPEN,
    )
    session.add(campaign)
    session.flush()
    return campaign


def _society(session: Session) -> Society | None:
    hinted = select(Society).where(Society.name.contains(DEMO_SOCIETY_HINT)).order_by(Society.id)
    return session.scalars(hinted).first() or session.scalars(select(Society).order_by(Society.id)).first()


def _county_demand(session: Session) -> Demand | None:
    regions = Counter(code[:6] for code in session.scalars(select(Demand.region_code)) if code)
    if not regions:
        return None
    county = regions.most_common(1)[0][0]
    query = select(Demand).where(Demand.region_code.startswith(county)).order_by(Demand.id)
    return session.scalars(query).first()


def _reporting_units(
    session: Session, society: Society, region_code: str
) -> tuple[ReportingUnit, ReportingUnit]:
    county = region_code[:6] + "000000"
    society_unit = ReportingUnit(kind=ReporterKind.SOCIETY, society_id=society.id, name=society.name)
    county_unit = ReportingUnit(
        kind=ReporterKind.COUNTY, region_code=county, name=f"{region_codes().get(county, county[:6])}科协"
    )
    session.add_all([society_unit, county_unit])
    session.flush()
    return society_unit, county_unit


def _station(session: Session, society: Society, demand: Demand, reporter: ReportingUnit) -> StandingUnit:
    last_quarter = _previous_quarter()
    station = StandingUnit(
        name=f"{society.name}{demand.org_name}学会服务站"[:150],
        kind=UnitKind.SOCIETY_STATION,
        provider_level=UnitProvider.SOCIETY,
        provider_id=society.id,
        provider_name=society.name,
        enterprise_name=demand.org_name,
        demand_id=demand.id,
        level=UnitLevel.NATIONAL,
        region_code=demand.region_code,
        programme=programme(session, "cxqdzl"),
        reporting_unit=reporter,
        established_on=last_quarter.first_day + timedelta(days=7),
    )
    session.add(station)
    session.flush()
    log_founding(session, station, None)
    return station


def _previous_quarter() -> Period:
    today = china_today()
    quarter = (today.month - 1) // 3 + 1
    return Period(today.year, quarter - 1) if quarter > 1 else Period(today.year - 1, 4)


def _activities(
    session: Session, station: StandingUnit, society: ReportingUnit, county: ReportingUnit
) -> int:
    start = _previous_quarter().first_day
    rows = [
        _activity(
            society,
            station,
            ActivityKind.VISIT,
            "专家走访诊断",
            "专家深入车间开展技术诊断",
            start,
            20,
            experts=3,
        ),
        _activity(
            society,
            station,
            ActivityKind.AGREEMENT,
            "签订技术开发合同",
            "围绕企业技术需求签订技术开发合同",
            start,
            50,
            enterprises=1,
            amount=Decimal(80),
        ),
        _activity(
            society,
            station,
            ActivityKind.TRAINING,
            "工艺技能培训",
            "举办生产工艺培训班",
            start,
            70,
            participants=85,
        ),
        _activity(
            county,
            None,
            ActivityKind.TRAINING,
            "科技下乡实用技术培训",
            "组织专家赴乡镇开展实用技术培训",
            start,
            35,
            participants=260,
            experts=5,
        ),
        _activity(
            county,
            None,
            ActivityKind.PROJECT,
            "短板攻坚联合攻关",
            "组织学会专家与企业联合攻关关键技术",
            start,
            60,
            enterprises=2,
            amount=Decimal("35.5"),
        ),
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)


def _activity(
    reporter: ReportingUnit,
    station: StandingUnit | None,
    kind: ActivityKind,
    title: str,
    content: str,
    start: date,
    day: int,
    *,
    enterprises: int = 0,
    participants: int = 0,
    experts: int = 0,
    amount: Decimal | None = None,
) -> Activity:
    return Activity(
        reporting_unit=reporter,
        standing_unit=station,
        programme_id=station.programme.id if station and station.programme else None,
        kind=kind,
        report_table=TABLE_OF_KIND[kind],
        title=title,
        content=content,
        occurred_on=start + timedelta(days=day),
        enterprises=enterprises,
        participants=participants,
        experts=experts,
        amount_wan=amount,
    )
