"""Staff pages of collection campaigns: the list with the launch form, and a campaign's dashboard with
closing and late-submission overrides (补报)."""

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.errors import HuiqiError
from api.programmes import campaigns
from api.programmes.models import Campaign, CampaignStatus
from api.programmes.periods import china_today
from api.programmes.schemas import CampaignCreate, Dashboard, OverrideCreate
from api.web.deps import FormDep, WebStaffDep
from api.web.programme_forms import LABELS, field_errors, filled, split_list, texts
from api.web.regions import full_region_code
from api.web.routing import WebRoute
from api.web.templating import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LAUNCH_FIELDS = (
    "code",
    "name",
    "programme",
    "organiser",
    "regions",
    "channels",
    "form",
    "opens_on",
    "closes_on",
)
OVERRIDE_FIELDS = ("org_name", "reason", "valid_until")
# The breakdowns show their largest rows; a campaign over a province reaches a hundred counties or more.
TOP_ROWS = 12


@router.get("/campaigns")
def campaign_list(request: Request, session: SessionDep, _staff: WebStaffDep) -> Response:
    """Every campaign, newest first, and the form to launch one."""
    return _list_page(request, session, _launch_defaults(), {})


def _launch_defaults() -> dict[str, str]:
    today = china_today()
    return {"form": "附件1", "channels": "县（市、区）科协，市级学会", "opens_on": today.isoformat()}


def _list_page(
    request: Request, session: Session, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    context = {
        "campaigns": campaigns.list_campaigns(session),
        "programmes": campaigns.list_programmes(session),
        "values": values,
        "errors": errors,
        "today": china_today(),
        **LABELS,
    }
    return render(request, "programmes/campaigns.html", context, status_code=status)


@router.post("/campaigns")
def launch_campaign(request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep) -> Response:
    """Launch a campaign; a refused form comes back with the message next to each field."""
    values = texts(form, LAUNCH_FIELDS)
    try:
        with session.begin_nested():
            payload = CampaignCreate.model_validate(_launch_input(values))
            campaign = campaigns.launch(session, payload=payload, staff=staff)
    except (ValidationError, HuiqiError) as error:
        code = error.status_code if isinstance(error, HuiqiError) else 422
        return _list_page(request, session, values, field_errors(error, "code"), code)
    return redirect(f"/campaigns/{campaign.id}", f"征集活动“{campaign.name}”已发布。")


def _launch_input(values: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = filled(values)
    # Regions by name (福建, 泉州市) or code prefix (3505) are stored as their 12-digit codes.
    data["regions"] = [full_region_code(item) for item in split_list(values["regions"])]
    if values["channels"]:
        data["channels"] = split_list(values["channels"])
    return data


@router.get("/campaigns/{key}")
def campaign_page(request: Request, session: SessionDep, _staff: WebStaffDep, key: str) -> Response:
    """A campaign's dashboard: received by county, by society and by day, the late ones, days left."""
    return _dashboard_page(request, session, key, {}, {})


def _dashboard_page(
    request: Request,
    session: Session,
    key: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    board = campaigns.dashboard(session, key=key)
    context = {
        "board": board,
        "phase": phase(board, china_today()),
        "peak": _peak(board),
        "top": TOP_ROWS,
        "values": values,
        "errors": errors,
        **LABELS,
    }
    return render(request, "programmes/campaign.html", context, status_code=status)


def phase(board: Dashboard, today: date) -> str:
    """Where the campaign stands, in words: not yet open, collecting, past its deadline or closed."""
    campaign = board.campaign
    if campaign.status == CampaignStatus.CLOSED:
        return "已关闭"
    if today < campaign.opens_on:
        return f"{campaign.opens_on:%Y年%m月%d日}开始征集"
    return f"征集中，剩 {board.days_left} 天" if board.accepting else "已过截止日期"


def _peak(board: Dashboard) -> dict[str, int]:
    # The longest bar of each breakdown is full width; the others are in proportion to it.
    counts = {
        "county": [row.count for row in board.by_county],
        "society": [row.count for row in board.by_society],
        "day": [row.count for row in board.by_day],
    }
    return {name: max(values, default=0) or 1 for name, values in counts.items()}


@router.post("/campaigns/{key}/close")
def close_campaign(session: SessionDep, staff: WebStaffDep, _form: FormDep, key: str) -> Response:
    """Stop taking submissions now; later ones need a recorded override."""
    campaign: Campaign = campaigns.close(session, key=key, staff=staff)
    return redirect(f"/campaigns/{campaign.id}", f"“{campaign.name}”已关闭，不再接收新的需求。")


@router.post("/campaigns/{key}/overrides")
def grant_override(
    request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep, key: str
) -> Response:
    """Record that one enterprise may still submit (补报), why, and until when."""
    values = texts(form, OVERRIDE_FIELDS)
    try:
        with session.begin_nested():
            payload = OverrideCreate.model_validate(filled(values))
            override = campaigns.grant_override(session, key=key, payload=payload, staff=staff)
    except (ValidationError, HuiqiError) as error:
        code = error.status_code if isinstance(error, HuiqiError) else 422
        return _dashboard_page(request, session, key, values, field_errors(error, "org_name"), code)
    notice = f"已登记补报：{override.org_name} 可在 {override.valid_until:%Y年%m月%d日} 前提交。"
    return redirect(f"/campaigns/{override.campaign_id}#overrides", notice)
