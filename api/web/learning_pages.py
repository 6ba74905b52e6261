"""The staff page of learning from staff decisions: the switch (admins turn it) and its audit."""

from math import ceil
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request, Response

from api.db.models import StaffRole
from api.deps import SessionDep
from api.errors import PermissionDeniedError
from api.learning import service
from api.matching.models import PairingStatus
from api.matching.review import ACTION_LABELS
from api.matching.service import LEVEL_LABELS, STATUS_LABELS
from api.web.deps import FormDep, WebStaffDep
from api.web.routing import WebRoute
from api.web.templating import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE: Final = 30


def _status_label(value: str | None) -> str:
    return STATUS_LABELS[PairingStatus(value)] if value else ""


@router.get("/learning")
def learning_page(
    request: Request,
    session: SessionDep,
    staff: WebStaffDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Whether staff decisions move the ranking, who turned it, and what each decision changed."""
    state = service.learning_state(session)
    found = service.event_page(session, page=page, page_size=PAGE_SIZE)
    return render(
        request,
        "learning.html",
        {
            "section": "learning",
            "state": state,
            "events": found.items,
            "page": page,
            "pages": max(1, ceil(found.total / PAGE_SIZE)),
            "total": found.total,
            "can_switch": staff.role == StaffRole.ADMIN,
            "level_labels": LEVEL_LABELS,
            "action_labels": ACTION_LABELS,
            "status_label": _status_label,
            "neighbours": service.FEEDBACK.neighbours,
            "reject_share": service.FEEDBACK.reject_weight,
        },
    )


@router.post("/learning")
def turn_learning(session: SessionDep, staff: WebStaffDep, form: FormDep) -> Response:
    """Turn learning on or off (admins)."""
    if staff.role != StaffRole.ADMIN:
        raise PermissionDeniedError("仅管理员可以开启或关闭从员工决定中学习")
    enabled = str(form.get("enabled") or "") == "on"
    service.set_learning(session, enabled=enabled, staff=staff)
    notice = (
        "已开启：员工的接受、对接、签约与拒绝将影响相似需求的排名。"
        if enabled
        else "已关闭：排名不再受员工决定影响。"
    )
    return redirect("/learning", notice)
