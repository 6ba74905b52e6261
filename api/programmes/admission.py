"""Whether a demand submitted to a campaign is let in: the campaign must exist and take submissions,
or staff must have recorded a late-submission override (补报) for the enterprise.

Imported by the intake service, so it depends on the models only (no import of ``api.demands``).
"""

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.models import Demand, DemandEvent
from api.errors import ConflictError, FieldError, RequestInvalidError, field_error
from api.programmes.models import Campaign, CampaignOverride, CampaignStatus
from api.programmes.periods import china_date, china_today
from api.providers.models import Society
from api.validation import register_labels

register_labels({"campaign_id": "征集活动编号", "collected_by_society_id": "汇总填报学会编号"})


class CampaignClosedError(ConflictError):
    """The campaign no longer takes submissions and no override was recorded."""

    code = "campaign_closed"


class CampaignNotOpenError(ConflictError):
    """The campaign has not opened yet."""

    code = "campaign_not_open"


def accepting(campaign: Campaign, now: datetime | None = None) -> bool:
    """Whether the campaign takes submissions today (open, and not past its closing date)."""
    today = china_today(now)
    return campaign.status == CampaignStatus.OPEN and campaign.opens_on <= today <= campaign.closes_on


def closing_date(campaign: Campaign) -> date:
    """The day the campaign stopped (or stops) taking submissions: staff may close it early."""
    if campaign.status == CampaignStatus.CLOSED and campaign.closed_at is not None:
        return min(campaign.closes_on, china_date(campaign.closed_at))
    return campaign.closes_on


def admit_to_campaign(session: Session, demand: Demand, now: datetime | None = None) -> None:
    """Check a new demand's campaign and forwarding society; record a late admission on the demand."""
    _check_society(session, demand.collected_by_society_id)
    if demand.campaign_id is None:
        return
    campaign = session.get(Campaign, demand.campaign_id)
    if campaign is None:
        message = f"征集活动 {demand.campaign_id} 不存在，请核对征集活动编号"
        raise RequestInvalidError(errors=[FieldError("campaign_id", "campaign_not_found", message)])
    if china_today(now) < campaign.opens_on:
        raise CampaignNotOpenError(
            f"“{campaign.name}”将于{campaign.opens_on:%Y年%m月%d日}开始征集，请届时提交"
        )
    if not accepting(campaign, now):
        _admit_late(session, campaign, demand, now)


def _check_society(session: Session, society_id: int | None) -> None:
    if society_id is not None and session.get(Society, society_id) is None:
        raise RequestInvalidError(
            errors=[field_error("collected_by_society_id", "society_not_found", value=society_id)]
        )


def _admit_late(session: Session, campaign: Campaign, demand: Demand, now: datetime | None) -> None:
    override = open_override(session, campaign.id, demand.org_name, now)
    if override is None:
        raise CampaignClosedError(
            f"“{campaign.name}”已于{closing_date(campaign):%Y年%m月%d日}截止征集；"
            f"如需补报，请联系{campaign.organiser}由工作人员登记补报后再提交"
        )
    override.demand = demand
    override.used_at = now or utcnow()
    demand.events.append(
        DemandEvent(
            kind="late_admitted",
            reason=f"补报（{override.staff_name or '工作人员'}登记）：{override.reason}"[:500],
            staff_id=override.staff_id,
        )
    )


def open_override(
    session: Session, campaign_id: int, org_name: str, now: datetime | None = None
) -> CampaignOverride | None:
    """The oldest unused, unexpired override of the campaign for ``org_name``."""
    query = (
        select(CampaignOverride)
        .where(
            CampaignOverride.campaign_id == campaign_id,
            CampaignOverride.org_name == org_name.strip(),
            CampaignOverride.demand_id.is_(None),
            CampaignOverride.used_at.is_(None),
            CampaignOverride.valid_until >= china_today(now),
        )
        .order_by(CampaignOverride.id)
        .limit(1)
    )
    return session.scalar(query)
