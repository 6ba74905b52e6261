"""Staff pages of providers: societies with branches and experts, experts, load against capacity,
and the enterprise preferences of a demand."""

from math import ceil
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.errors import HuiqiError
from api.matching import service as matching
from api.providers import service
from api.providers.models import Branch, CastGroup, PreferenceKind, ProviderLevel
from api.providers.repository import ExpertFilter, SocietyFilter
from api.web.deps import WebStaffDep
from api.web.routing import WebRoute
from api.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 30
SOCIETY_LEVEL_LABELS = {"national": "全国学会", "provincial": "省级学会", "municipal": "市级学会"}
KIND_LABELS = {PreferenceKind.PREFER: "希望对接", PreferenceKind.REFUSE: "不希望对接"}


def loads(session: Session, level: str, capacities: dict[int, int]) -> dict[int, dict[str, int]]:
    """Per provider: capacity in the current round, pairings held and the share used (percent)."""
    if not capacities:
        return {}
    current = matching.current_round(session, level)
    remaining = matching.remaining_capacity(session, level, current, capacities)
    return {
        provider: {
            "capacity": cap,
            "held": cap - left,
            "percent": round(100 * (cap - left) / cap) if cap else 0,
        }
        for provider, (cap, left) in remaining.items()
    }


@router.get("/societies")
def society_list(
    request: Request,
    session: SessionDep,
    _staff: WebStaffDep,
    q: str = "",
    group: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Societies with their load against capacity in the current round."""
    cast_group = CastGroup(group) if group in CastGroup._value2member_map_ else None
    where = SocietyFilter(text=q.strip()[:100] or None, cast_group=cast_group)
    items, total = service.list_societies(session, where=where, page=page, page_size=PAGE_SIZE)
    context = {
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, ceil(total / PAGE_SIZE)),
        "q": q,
        "group": group,
        "groups": list(CastGroup),
        "loads": loads(session, "society", {s.id: s.default_capacity for s in items}),
        "level_labels": SOCIETY_LEVEL_LABELS,
    }
    return render(request, "providers/societies.html", context)


@router.get("/societies/{society_id:int}")
def society_page(request: Request, session: SessionDep, _staff: WebStaffDep, society_id: int) -> Response:
    """A society's profile: scope, disciplines, branches, experts and load."""
    society = service.get_society(session, society_id=society_id)
    branches = service.list_branches(session, society_id=society_id)
    experts, expert_total = service.list_experts(
        session, where=ExpertFilter(society_id=society_id), page=1, page_size=100
    )
    context = {
        "society": society,
        "branches": branches,
        "experts": experts,
        "expert_total": expert_total,
        "load": loads(session, "society", {society.id: society.default_capacity}).get(society.id),
        "branch_loads": loads(session, "branch", {b.id: b.default_capacity for b in branches}),
        "level_labels": SOCIETY_LEVEL_LABELS,
    }
    return render(request, "providers/society.html", context)


@router.get("/experts")
def expert_list(
    request: Request,
    session: SessionDep,
    _staff: WebStaffDep,
    q: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Experts with their load against capacity."""
    where = ExpertFilter(text=q.strip()[:100] or None)
    items, total = service.list_experts(session, where=where, page=page, page_size=PAGE_SIZE)
    context = {
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, ceil(total / PAGE_SIZE)),
        "q": q,
        "loads": loads(session, "expert", {e.id: e.capacity for e in items}),
    }
    return render(request, "providers/experts.html", context)


@router.get("/experts/{expert_id:int}")
def expert_page(request: Request, session: SessionDep, _staff: WebStaffDep, expert_id: int) -> Response:
    """An expert's profile, posts and load."""
    expert = service.get_expert(session, expert_id=expert_id)
    context = {
        "expert": expert,
        "load": loads(session, "expert", {expert.id: expert.capacity}).get(expert.id),
    }
    return render(request, "providers/expert.html", context)


# --- a demand's preferences ---------------------------------------------------------------------


def provider_name(session: Session, level: ProviderLevel, provider_id: int) -> str:
    """The name of a provider, or a note that it no longer exists."""
    getters = {
        ProviderLevel.SOCIETY: lambda: service.get_society(session, society_id=provider_id).name,
        ProviderLevel.BRANCH: lambda: _branch_label(service.get_branch(session, branch_id=provider_id)),
        ProviderLevel.EXPERT: lambda: service.get_expert(session, expert_id=provider_id).name,
    }
    try:
        return getters[level]()
    except HuiqiError:
        return f"（已删除的{service.LEVEL_LABELS[level]} {provider_id}）"


def _branch_label(branch: Branch) -> str:
    # A branch is always named with its society: many societies have a branch of the same name.
    return f"{branch.society.name} · {branch.name}"


def preference_rows(session: Session, demand_id: int) -> list[dict[str, Any]]:
    """The demand's preferences as the demand page lists them."""
    return [
        {
            "id": preference.id,
            "level": service.LEVEL_LABELS[preference.provider_level],
            "level_value": preference.provider_level.value,
            "provider_id": preference.provider_id,
            "name": provider_name(session, preference.provider_level, preference.provider_id),
            "kind": KIND_LABELS[preference.kind],
            "refuse": preference.kind == PreferenceKind.REFUSE,
            "reason": preference.reason,
        }
        for preference in service.preferences_for(session, demand_ids=[demand_id])
    ]
