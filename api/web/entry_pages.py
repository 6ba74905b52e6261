"""Staff page 录入需求: a demand taken by phone or on paper, typed into the 附件1 form and stored by the
intake service with the same checks as the API."""

from typing import Any, Final

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from api.deps import SecretDep, SessionDep
from api.programmes import campaigns
from api.providers import service as providers
from api.providers.repository import SocietyFilter
from api.validation import row_id
from api.web.demand_form import STAFF_FIELDS, DemandForm, posted_demand, submit_form
from api.web.deps import FormDep, WebStaffDep
from api.web.routing import WebRoute
from api.web.templating import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# Who forwarded the form and under which campaign: chosen from lists, stored as ids.
SOURCE_FIELDS: Final = ("campaign_id", "collected_by_society_id")
SOURCE_LABELS: Final = {"campaign_id": "征集活动", "collected_by_society_id": "汇总填报学会"}
MAX_SOCIETIES: Final = 2000


@router.get("/demands/new")
def entry_form(request: Request, session: SessionDep, _staff: WebStaffDep) -> Response:
    """An empty 附件1 form for a demand taken by phone or on paper."""
    return _entry_page(request, session, DemandForm(STAFF_FIELDS), {})


@router.post("/demands/new")
def save_entry(
    request: Request, session: SessionDep, _staff: WebStaffDep, form: FormDep, secret: SecretDep
) -> Response:
    """Store the typed demand; a refused form comes back as typed, each message beside its field."""
    typed = posted_demand(form, STAFF_FIELDS)
    sources = {name: str(form.get(name) or "").strip() for name in SOURCE_FIELDS}
    extra = {name: row_id(value) or value for name, value in sources.items() if value}
    stored = submit_form(session, form=typed, secret=secret, extra=extra)
    if stored is None:
        if "form" in typed.errors and "campaign_id" in extra:
            # A campaign's refusal (closed, not yet open) is about the campaign chosen.
            typed.errors["campaign_id"] = typed.errors.pop("form")
        return _entry_page(request, session, typed, sources, status=typed.status)
    demand = stored.demand
    notice = (
        f"已录入需求 {demand.id}“{demand.title}”。请把需求编号 {demand.id} 和回执凭证 "
        f"{stored.receipt_token} 告知企业，企业凭此在“查询办理进度”页面查看进展。"
    )
    return redirect(f"/demands/{demand.id}", notice)


def _entry_page(
    request: Request, session: Session, form: DemandForm, sources: dict[str, str], status: int = 200
) -> Response:
    context: dict[str, Any] = {
        **form.context(),
        "labels": form.context()["labels"] | SOURCE_LABELS,
        "extra_fields": SOURCE_FIELDS,
        "sources": sources,
        "campaigns": campaigns.list_campaigns(session),
        "societies": _societies(session),
    }
    return render(request, "demands/new.html", context, status_code=status)


def _societies(session: Session) -> list[tuple[int, str]]:
    found, _total = providers.list_societies(
        session, where=SocietyFilter(active=True), page=1, page_size=MAX_SOCIETIES
    )
    return sorted(((society.id, society.name) for society in found), key=lambda item: item[1])
