"""Staff pages of demands: the list with filters, one demand, its edit form and status changes."""

from dataclasses import dataclass, field
from functools import lru_cache
from math import ceil
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.db.models import Demand, DemandStatus
from api.demands import service
from api.demands.repository import DemandFilter
from api.demands.schemas import LABELS, DemandCreate, DemandPatch
from api.deps import SessionDep
from api.errors import FieldError, HuiqiError, InvalidTransitionError, RequestInvalidError, translate_all
from api.providers import service as providers
from api.providers.models import ProviderLevel
from api.providers.schemas import PreferenceIn
from api.reference import (
    discipline_codes,
    industry_codes,
    normalize_industry_code,
    region_codes,
    region_prefix,
)
from api.validation import COOPERATION_MODES
from api.web import bulk as bulk_actions
from api.web import messages, pickers
from api.web.deps import FormDep, WebStaffDep
from api.web.history import demand_history
from api.web.matching_pages import LEVEL_LABELS, match_panel
from api.web.provider_pages import preference_rows
from api.web.regions import full_region_code, region_from_text
from api.web.routing import WebRoute
from api.web.templating import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 20
# The status buttons say what they do, not where the demand ends up.
TRANSITION_LABELS = {"in_review": "开始审核", "published": "发布", "returned": "退回", "closed": "关闭"}
# Fields staff may edit: those of a submission that a staff edit (DemandPatch) accepts.
EDIT_FIELDS = tuple(name for name in DemandCreate.model_fields if name in DemandPatch.model_fields)
LONG_FIELDS = frozenset({"description", "company_profile", "main_business"})


@lru_cache(maxsize=1)
def provinces() -> list[tuple[str, str]]:
    """Province-level regions (code prefix, name) for the region filter."""
    codes = region_codes()
    return sorted((code[:2], name) for code, name in codes.items() if code.endswith("0000000000"))


@lru_cache(maxsize=1)
def industry_sections() -> list[tuple[str, str]]:
    """GB/T 4754 sections (门类) for the industry filter."""
    return [(code, name) for code, name in industry_codes().items() if len(code) == 1]


@lru_cache(maxsize=1)
def code_lists() -> dict[str, list[tuple[str, str]]]:
    """The pickers of the edit form: industry and discipline codes searchable by name."""
    return {
        "industry_code": [(code, name) for code, name in industry_codes().items() if len(code) == 5],
        "discipline_code": [(code, name) for code, name in discipline_codes().items() if len(code) >= 5],
    }


@dataclass
class ListQuery:
    """The demand list's filters as typed in the form, and the problems found in them."""

    statuses: list[DemandStatus]
    text: str
    region: str
    industry: str
    errors: dict[str, str] = field(default_factory=dict)

    def to_filter(self) -> DemandFilter:
        """The repository filter; parts with errors are left out."""
        industry = self.industry.strip().upper()
        return DemandFilter(
            statuses=tuple(self.statuses),
            text=self.text.strip() or None,
            region_prefix=region_prefix(region_from_text(self.region) or "")
            if self.region and "region" not in self.errors
            else None,
            industry_prefix=(normalize_industry_code(industry) or industry) if industry else None,
        )


def list_query(status: list[str], q: str, region: str, industry: str) -> ListQuery:
    """The list filters as typed, with a message for each part that cannot be used."""
    errors: dict[str, str] = {}
    statuses = [DemandStatus(value) for value in status if value in DemandStatus._value2member_map_]
    region = region.strip()
    if region and region_from_text(region) is None:
        errors["region"] = (
            "没有找到这个地区：请从列表中选择，或输入省、市、县的名称（如 福建、福州市）或区划代码（如 35）"
        )
    if len(q) > 100:
        errors["q"] = "关键词最多100个字"
        q = q[:100]
    return ListQuery(statuses, q, region, industry.strip()[:5], errors)


def list_filters(
    status: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    q: str = "",
    region: str = "",
    industry: str = "",
) -> ListQuery:
    """The list's filters from the query string: the list page and its exports read them alike."""
    return list_query(status, q, region, industry)


ListFiltersDep = Annotated[ListQuery, Depends(list_filters)]


@router.get("/demands")
def demand_list(
    request: Request,
    session: SessionDep,
    _staff: WebStaffDep,
    query: ListFiltersDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Demands, newest first, with filters, search and paging."""
    return _list_page(request, session, query, page)


@dataclass
class BulkForm:
    """The bulk form as submitted, shown again (checked rows, action, reason) when it is refused."""

    action: str = ""
    reason: str = ""
    ids: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _list_page(
    request: Request,
    session: Session,
    query: ListQuery,
    page: int,
    bulk: BulkForm | None = None,
    status_code: int = 200,
) -> Response:
    items, total = service.list_demands(session, where=query.to_filter(), page=page, page_size=PAGE_SIZE)
    list_params = [(k, v) for k, v in request.query_params.multi_items()]
    context = {
        "bulk": bulk or BulkForm(),
        "bulk_actions": bulk_actions.DEMAND_ACTION_LABELS,
        "bulk_url": "/demands/bulk" + (f"?{urlencode(list_params)}" if list_params else ""),
        "query": query,
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, ceil(total / PAGE_SIZE)),
        "provinces": provinces(),
        "sections": industry_sections(),
        "all_statuses": list(DemandStatus),
        "import_enabled": True,
        "export_enabled": True,
        "export_url": "/demands/export.xlsx" + (f"?{request.url.query}" if request.url.query else ""),
        # The match-list export form repeats the list's filters (not its page) as hidden fields.
        "export_params": [(k, v) for k, v in request.query_params.multi_items() if k != "page"],
    }
    return render(request, "demands/list.html", context, status_code=status_code)


@router.post("/demands/bulk")
def bulk_change(
    request: Request,
    session: SessionDep,
    staff: WebStaffDep,
    form: FormDep,
    query: ListFiltersDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Review, publish or return the checked demands at once; the list keeps its filters."""
    bulk = BulkForm(
        action=str(form.get("action") or ""),
        reason=str(form.get("reason") or "").strip(),
        ids=[str(value) for value in form.getlist("ids")],
    )
    try:
        result = bulk_actions.apply_to_demands(
            session, ids=bulk.ids, action=bulk.action, reason=bulk.reason, staff=staff
        )
    except bulk_actions.BulkInputError as error:
        bulk.errors = error.errors
        return _list_page(request, session, query, page, bulk, 422)
    back = "/demands" + (f"?{request.url.query}" if request.url.query else "")
    return redirect(back, result.summary())


@router.get("/demands/{demand_id:int}")
def demand_page(
    request: Request, session: SessionDep, _staff: WebStaffDep, demand_id: int, level: str = "society"
) -> Response:
    """One demand: its fields, ranked matches with reasons, preferences, history and status actions."""
    demand = service.get_demand(session, demand_id=demand_id)
    return render(request, "demands/detail.html", _detail_context(session, demand, level=level))


def _detail_context(
    session: Session, demand: Demand, *, level: str = "society", **extra: Any
) -> dict[str, Any]:
    level = level if level in LEVEL_LABELS else "society"
    return {
        "demand": demand,
        "labels": LABELS,
        "transitions": sorted(service.TRANSITIONS[demand.status]),
        "transition_labels": TRANSITION_LABELS,
        "preferences": preference_rows(session, demand.id),
        "history": demand_history(session, demand),
        "picker": pickers.all_options(session),
        **match_panel(session, demand.id, level),
        **extra,
    }


@router.post("/demands/{demand_id:int}/status")
def change_status(
    request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep, demand_id: int
) -> Response:
    """Move a demand along the review workflow; errors shown beside the form."""
    target = str(form.get("to") or "")
    reason = str(form.get("reason") or "").strip() or None
    values = {"to": target, "reason": reason or ""}
    if target not in DemandStatus._value2member_map_:
        return _status_error(request, session, demand_id, {"to": "请选择要执行的操作"}, values)
    try:
        with session.begin_nested():
            service.change_status(
                session, demand_id=demand_id, to=DemandStatus(target), reason=reason, staff=staff
            )
    except RequestInvalidError as error:
        return _status_error(request, session, demand_id, _by_field(error.errors), values)
    except InvalidTransitionError as error:
        return _status_error(request, session, demand_id, {"to": error.detail}, values)
    label = service.STATUS_LABELS[DemandStatus(target)]
    return redirect(f"/demands/{demand_id}", f"需求 {demand_id} 已改为“{label}”。")


def _status_error(
    request: Request, session: Session, demand_id: int, errors: dict[str, str], values: dict[str, str]
) -> Response:
    # The refused form shows again as the user left it: the reason typed, the action chosen.
    demand = service.get_demand(session, demand_id=demand_id)
    context = _detail_context(session, demand, status_errors=errors, status_values=values)
    return render(request, "demands/detail.html", context, status_code=422)


def _by_field(errors: tuple[FieldError, ...] | list[FieldError]) -> dict[str, str]:
    # One message per field, in the pages' words; nested names like keywords[2] are shown at their field.
    return messages.by_field(errors, LABELS)


@router.get("/demands/{demand_id:int}/edit")
def edit_form(request: Request, session: SessionDep, _staff: WebStaffDep, demand_id: int) -> Response:
    """The edit form of a demand, filled with its current values."""
    demand = service.get_demand(session, demand_id=demand_id)
    values = {name: _shown(getattr(demand, name)) for name in EDIT_FIELDS}
    return _edit_page(request, demand, values, {})


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "，".join(str(item) for item in value)
    return str(value)


def _edit_page(
    request: Request, demand: Demand, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    context = {
        "demand": demand,
        "fields": EDIT_FIELDS,
        "long_fields": LONG_FIELDS,
        "labels": LABELS,
        "values": values,
        "errors": errors,
        "modes": COOPERATION_MODES,
        "code_lists": code_lists(),
    }
    return render(request, "demands/edit.html", context, status_code=status)


@router.post("/demands/{demand_id:int}/edit")
def save_edit(
    request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep, demand_id: int
) -> Response:
    """Save a staff edit through the intake rules; every bad field is marked beside its input."""
    demand = service.get_demand(session, demand_id=demand_id)
    values = {name: str(form.get(name) or "").strip() for name in EDIT_FIELDS}
    try:
        submitted = _patch_input(values | {"region_code": full_region_code(values["region_code"])})
        # The form holds every field: checking it as a whole submission lists every problem at once.
        DemandCreate.model_validate(submitted)
        patch = DemandPatch.model_validate(submitted)
        with session.begin_nested():
            service.update_demand(session, demand_id=demand_id, patch=patch, staff=staff)
    except ValidationError as error:
        return _edit_page(request, demand, values, _by_field(translate_all(error.errors())), 422)
    except RequestInvalidError as error:
        return _edit_page(request, demand, values, _by_field(error.errors), 422)
    return redirect(f"/demands/{demand_id}", "修改已保存。")


def _patch_input(values: FormData | dict[str, str]) -> dict[str, Any]:
    # Every field is sent: a cleared input clears an optional field and is refused for a required one.
    data: dict[str, Any] = {name: (values.get(name) or None) for name in EDIT_FIELDS}
    keywords = str(values.get("keywords") or "")
    data["keywords"] = [
        word.strip() for word in keywords.replace("，", ",").replace("、", ",").split(",") if word.strip()
    ]
    return data


PREFERENCE_FIELDS = ("provider_level", "provider_id", "kind", "reason")


@router.post("/demands/{demand_id:int}/preferences")
def add_preference(
    request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep, demand_id: int
) -> Response:
    """Record that the enterprise wants or refuses a provider; errors shown beside the form."""
    demand = service.get_demand(session, demand_id=demand_id)
    values = {name: str(form.get(name) or "").strip() for name in PREFERENCE_FIELDS}
    values["provider"] = str(form.get("provider") or "").strip()
    chosen = _chosen_provider(session, values)
    if isinstance(chosen, str):
        return _preference_error(request, session, demand, values, {"provider_id": chosen})
    try:
        payload = PreferenceIn.model_validate({name: values[name] for name in PREFERENCE_FIELDS} | chosen)
        with session.begin_nested():
            providers.add_preference(session, demand=demand, payload=payload, staff=staff)
    except ValidationError as error:
        return _preference_error(request, session, demand, values, _by_field(translate_all(error.errors())))
    except HuiqiError as error:
        errors = _by_field(error.errors) or {"provider_id": error.detail}
        return _preference_error(request, session, demand, values, errors)
    return redirect(f"/demands/{demand_id}#preferences", "已记录企业的对接意向。")


def _chosen_provider(session: Session, values: dict[str, str]) -> dict[str, str] | str:
    """The level and id of the provider chosen by name (or by number), or why none was found."""
    typed = values["provider"] or values["provider_id"]
    if not typed:
        return "请从列表中选择学会、分支机构或专家（可输入名称查找）"
    level = values["provider_level"] if values["provider_level"] in LEVEL_LABELS else "society"
    found = pickers.resolve_any(session, ProviderLevel(level), typed)
    if found is None:
        return f"没有找到“{typed[:40]}”，请从列表中选择（可输入名称中的几个字查找）"
    return {"provider_level": found[0].value, "provider_id": str(found[1])}


def _preference_error(
    request: Request, session: Session, demand: Demand, values: dict[str, str], errors: dict[str, str]
) -> Response:
    context = _detail_context(session, demand, preference_errors=errors, preference_values=values)
    return render(request, "demands/detail.html", context, status_code=422)


@router.post("/demands/{demand_id:int}/preferences/{preference_id:int}/delete")
def remove_preference(
    session: SessionDep, _staff: WebStaffDep, _form: FormDep, demand_id: int, preference_id: int
) -> Response:
    """Delete one of the demand's preferences."""
    demand = service.get_demand(session, demand_id=demand_id)
    providers.remove_preference(session, demand=demand, preference_id=preference_id)
    return redirect(f"/demands/{demand_id}#preferences", "已删除该对接意向。")
