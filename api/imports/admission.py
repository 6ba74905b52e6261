"""The campaign rules of ``api.programmes.admission``, applied to many rows at once.

A row tagged with a campaign (its 征集活动编号 column, or the campaign the whole import was tagged
with) is let in on the same terms as a single submission: the campaign exists and has opened, and it
still takes submissions, or staff recorded a late-submission override (补报) for the row's
organisation, which the row then uses up. Campaigns, overrides and societies are loaded once per
import, not once per row.
"""

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.demands.schemas import DemandCreate
from api.errors import FieldError, field_error
from api.programmes.admission import accepting, closing_date
from api.programmes.models import Campaign, CampaignOverride
from api.programmes.periods import china_today
from api.providers.models import Society

CAMPAIGN: Final = "campaign_id"
SOCIETY: Final = "collected_by_society_id"


@dataclass(frozen=True, slots=True)
class LateAdmission:
    """The override a late row uses, and what its history says about it."""

    override_id: int
    reason: str
    staff_id: int | None


@dataclass(slots=True)
class _CampaignState:
    campaign: Campaign | None
    # Unused overrides by organisation name, oldest first.
    overrides: dict[str, deque[CampaignOverride]] = field(default_factory=dict)


class Admissions:
    """Admits rows to their campaigns for one import (``now`` fixes the day the rules are read on)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self._session = session
        self._now = now
        self._campaigns: dict[int, _CampaignState] = {}
        self._societies: dict[int, bool] = {}

    def campaign_exists(self, campaign_id: int) -> bool:
        """Whether the campaign is stored."""
        return self._state(campaign_id).campaign is not None

    def admit(self, payload: DemandCreate) -> LateAdmission | list[FieldError] | None:
        """None for an on-time row (or no campaign), the override of a late row, or why it is refused."""
        if payload.collected_by_society_id is not None and not self._society(payload.collected_by_society_id):
            return [field_error(SOCIETY, "society_not_found", value=payload.collected_by_society_id)]
        if payload.campaign_id is None:
            return None
        state = self._state(payload.campaign_id)
        campaign = state.campaign
        if campaign is None:
            message = f"征集活动 {payload.campaign_id} 不存在，请核对征集活动编号"
            return [FieldError(CAMPAIGN, "campaign_not_found", message)]
        if china_today(self._now) < campaign.opens_on:
            message = f"“{campaign.name}”将于{campaign.opens_on:%Y年%m月%d日}开始征集，请届时提交"
            return [FieldError(CAMPAIGN, "campaign_not_open", message)]
        if accepting(campaign, self._now):
            return None
        return self._late(state, campaign, payload.org_name)

    def _late(
        self, state: _CampaignState, campaign: Campaign, org_name: str
    ) -> LateAdmission | list[FieldError]:
        waiting = state.overrides.get(org_name.strip())
        if not waiting:
            message = (
                f"“{campaign.name}”已于{closing_date(campaign):%Y年%m月%d日}截止征集，且没有该单位的补报登记；"
                f"如需补报，请联系{campaign.organiser}由工作人员登记补报后再导入"
            )
            return [FieldError(CAMPAIGN, "campaign_closed", message)]
        override = waiting.popleft()
        reason = f"补报（{override.staff_name or '工作人员'}登记）：{override.reason}"[:500]
        return LateAdmission(override.id, reason, override.staff_id)

    def _state(self, campaign_id: int) -> _CampaignState:
        if campaign_id not in self._campaigns:
            campaign = self._session.get(Campaign, campaign_id)
            state = _CampaignState(campaign)
            if campaign is not None:
                state.overrides = self._open_overrides(campaign_id)
            self._campaigns[campaign_id] = state
        return self._campaigns[campaign_id]

    def _open_overrides(self, campaign_id: int) -> dict[str, deque[CampaignOverride]]:
        # The conditions of api.programmes.admission.open_override, for every organisation at once.
        query = (
            select(CampaignOverride)
            .where(
                CampaignOverride.campaign_id == campaign_id,
                CampaignOverride.demand_id.is_(None),
                CampaignOverride.used_at.is_(None),
                CampaignOverride.valid_until >= china_today(self._now),
            )
            .order_by(CampaignOverride.id)
        )
        by_org: dict[str, deque[CampaignOverride]] = defaultdict(deque)
        for override in self._session.scalars(query):
            by_org[override.org_name].append(override)
        return dict(by_org)

    def _society(self, society_id: int) -> bool:
        if society_id not in self._societies:
            self._societies[society_id] = self._session.get(Society, society_id) is not None
        return self._societies[society_id]
