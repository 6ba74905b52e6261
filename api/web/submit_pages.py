"""The enterprises' own pages, open without signing in: the 附件1 form at ``/submit`` (the campaign named
in the link, e.g. ``/submit?campaign=2026-ly``), the receipt it answers with, and ``/receipt`` where an
enterprise reads its demand's progress and, once staff accepted a pairing, whom to contact.

Staff get each campaign's link as a QR code for posters (``/campaigns/{key}/qr.svg`` and ``.png``).
"""

import io
import math
from dataclasses import dataclass
from typing import Annotated, Final
from urllib.parse import quote

import segno
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.auth.tokens import receipt_matches
from api.db.models import Demand, DemandStatus
from api.demands.service import STATUS_LABELS
from api.deps import SecretDep, SessionDep
from api.errors import NotFoundError
from api.matching.service import STATUS_LABELS as PAIRING_LABELS
from api.programmes import campaigns
from api.programmes.admission import accepting, closing_date
from api.programmes.models import Campaign
from api.programmes.periods import china_today
from api.programmes.repository import campaign_by_key
from api.security import public
from api.validation import row_id
from api.web.demand_form import FORM_FIELDS, DemandForm, posted_demand, submit_form
from api.web.deps import WebStaffDep, read_form
from api.web.history import enterprise_history
from api.web.matching_pages import LEVEL_LABELS
from api.web.routing import WebRoute
from api.web.templating import render, templates

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PublicForm = Annotated[FormData, Depends(read_form)]
# The rule of POST /api/v1/demands: a client has one allowance for both ways of submitting.
SUBMIT_RULE_KEY: Final = ("POST", "/api/v1/demands")
# What each stage means to the enterprise, in its words.
PROGRESS: Final = {
    DemandStatus.SUBMITTED: "已收到，等待科协工作人员审核。",
    DemandStatus.IN_REVIEW: "科协工作人员正在审核。",
    DemandStatus.PUBLISHED: "审核通过，正在为您匹配学会和专家；匹配成功后，对接方的联系方式会显示在下方。",
    DemandStatus.RETURNED: "需要补充或修改，见下方原因；请按原因修改后重新提交。",
    DemandStatus.CLOSED: "本需求已办结。",
}
QR_SCALE: Final = 10


# --- the form ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignState:
    """The campaign of a link and whether it takes submissions today."""

    campaign: Campaign
    phase: str  # open | not_open | closed

    @property
    def takes_forms(self) -> bool:
        """Closed campaigns still take forms: an enterprise with a recorded 补报 gets in."""
        return self.phase != "not_open"


def _campaign_state(session: Session, code: str) -> CampaignState | None:
    if not code:
        return None
    campaign = campaign_by_key(session, code)
    if campaign is None:
        raise NotFoundError(f"没有找到征集活动“{code[:40]}”：请核对链接，或向发出链接的科协询问。")
    if china_today() < campaign.opens_on:
        return CampaignState(campaign, "not_open")
    return CampaignState(campaign, "open" if accepting(campaign) else "closed")


@router.get("/submit")
def submit_form_page(request: Request, session: SessionDep, campaign: str = "") -> Response:
    """The enterprises' 附件1 form, for the campaign named in the link."""
    state = _campaign_state(session, campaign.strip())
    return _form_page(request, state, DemandForm(FORM_FIELDS))


def _form_page(
    request: Request,
    state: CampaignState | None,
    form: DemandForm,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {**form.context(), "state": state, "closes_on": closing_date(state.campaign) if state else None}
    response = render(request, "submit/form.html", context, status_code=status)
    response.headers.update(headers or {})
    return response


@router.post("/submit")
def submit_demand(request: Request, session: SessionDep, secret: SecretDep, posted: PublicForm) -> Response:
    """Store the enterprise's demand and show its receipt; a refused form comes back as typed."""
    state = _campaign_state(session, str(posted.get("campaign") or "").strip())
    form = posted_demand(posted, FORM_FIELDS)
    wait = _rate_wait(request)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        form.errors["form"] = f"提交过于频繁，请 {seconds} 秒后再点“提交”，已填的内容都还在。"
        return _form_page(request, state, form, 429, {"Retry-After": str(seconds)})
    # A campaign not yet open or closed without a 补报 is refused by the intake rules, under the form.
    extra = {"campaign_id": state.campaign.id} if state else {}
    stored = submit_form(session, form=form, secret=secret, extra=extra)
    if stored is None:
        return _form_page(request, state, form, form.status)
    context = {"demand": stored.demand, "token": stored.receipt_token, "state": state}
    return render(request, "submit/done.html", context)


def _rate_wait(request: Request) -> float:
    # The limiter and rule the middleware applies to the API's submissions, checked here so a form
    # over the limit comes back filled in instead of as a bare error page.
    rule = getattr(request.app.state, "rate_limit_rules", {}).get(SUBMIT_RULE_KEY)
    limiter = getattr(request.app.state, "rate_limiter", None)
    if rule is None or limiter is None:
        return 0.0
    client = request.client.host if request.client else "unknown"
    wait: float = limiter.check(rule, client)
    return wait


# --- the receipt ------------------------------------------------------------------------------------


@router.get("/receipt")
def receipt_form(request: Request) -> Response:
    """The form where an enterprise types its demand number and receipt token."""
    return render(request, "submit/receipt.html", {"values": {}, "errors": {}})


@router.post("/receipt")
def read_receipt(request: Request, session: SessionDep, secret: SecretDep, posted: PublicForm) -> Response:
    """The demand's progress and its accepted pairings' contacts, for the holder of its receipt token."""
    values = {name: str(posted.get(name) or "").strip() for name in ("demand", "token")}
    demand, errors = _find(session, secret, values)
    if demand is None:
        return render(request, "submit/receipt.html", {"values": values, "errors": errors}, status_code=422)
    context = {
        "values": values,
        "errors": {},
        "demand": demand,
        "status_label": STATUS_LABELS[demand.status],
        "progress": PROGRESS[demand.status],
        "history": enterprise_history(demand),
        "pairings": public.enterprise_pairings(session, demand),
        "pairing_labels": PAIRING_LABELS,
        "level_labels": LEVEL_LABELS,
    }
    return render(request, "submit/receipt.html", context)


def _find(session: Session, secret: bytes, values: dict[str, str]) -> tuple[Demand | None, dict[str, str]]:
    errors: dict[str, str] = {}
    demand_id = row_id(values["demand"].lstrip("#＃"))
    if demand_id is None:
        errors["demand"] = "请填写提交成功时页面上的需求编号（数字）"
    if not values["token"]:
        errors["token"] = "请填写提交成功时页面上的回执凭证（以 hqr_ 开头）"
    if errors or demand_id is None:
        return None, errors
    demand = session.get(Demand, demand_id)
    # One message whether the number or the token is wrong: nobody learns which demands exist.
    if demand is None or not receipt_matches(secret, demand.id, demand.receipt_salt, values["token"]):
        return None, {"token": "需求编号与回执凭证对不上，请核对后再试（注意区分大小写）"}
    return demand, {}


# --- the link and its QR code, for staff ------------------------------------------------------------


def submit_link(request: Request, campaign: Campaign) -> str:
    """The public link of a campaign's form, on the host the staff member reached."""
    return f"{str(request.base_url).rstrip('/')}/submit?campaign={quote(campaign.code, safe='')}"


templates.env.globals["submit_link"] = submit_link  # the campaign page shows the link beside its QR code


def _qr(request: Request, session: Session, key: str, kind: str) -> Response:
    campaign = campaigns.get(session, key)
    code = segno.make(submit_link(request, campaign), error="m")
    buffer = io.BytesIO()
    media = "image/svg+xml" if kind == "svg" else "image/png"
    code.save(buffer, kind=kind, scale=QR_SCALE, border=4)
    name = quote(f"{campaign.name}-填报二维码.{kind}")
    disposition = f"inline; filename=qr.{kind}; filename*=UTF-8''{name}"
    return Response(buffer.getvalue(), media_type=media, headers={"Content-Disposition": disposition})


@router.get("/campaigns/{key}/qr.svg")
def campaign_qr_svg(request: Request, session: SessionDep, _staff: WebStaffDep, key: str) -> Response:
    """The QR code of the campaign's form link, as SVG (scales for print)."""
    return _qr(request, session, key, "svg")


@router.get("/campaigns/{key}/qr.png")
def campaign_qr_png(request: Request, session: SessionDep, _staff: WebStaffDep, key: str) -> Response:
    """The QR code of the campaign's form link, as PNG."""
    return _qr(request, session, key, "png")
