"""Staff pages of matching: a demand's ranked matches, rounds with live progress, pairing review."""

from math import ceil
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.db.models import DemandStatus, StaffUser
from api.deps import SessionDep
from api.errors import HuiqiError, RequestInvalidError, model_labels, translate_all
from api.matching import review, service
from api.matching.models import AgreementType, MatchRound, PairingStatus, RoundStatus
from api.matching.schemas import MatchList, PairingTransition, RoundScope
from api.web.deps import FormDep, WebStaffDep
from api.web.routing import WebRoute
from api.web.templating import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LEVEL_LABELS = {"society": "学会", "branch": "分支机构", "expert": "专家"}
ROUND_STATUS_LABELS = {
    RoundStatus.QUEUED: "排队中",
    RoundStatus.RUNNING: "运行中",
    RoundStatus.SUCCEEDED: "已完成",
    RoundStatus.FAILED: "失败",
    RoundStatus.CANCELLED: "已取消",
}
STAGE_LABELS = {
    "tokenize": "分词",
    "vectorize": "向量化",
    "candidates": "候选",
    "solve": "求解",
    "save": "保存",
}
FIELD_LABELS = {
    "title": "名称",
    "description": "说明",
    "keywords": "关键词",
    "main_business": "主营业务",
    "company_profile": "企业概况",
}
COUNT_LABELS = {
    "demands": "需求数",
    "tokenized_now": "本轮补分词",
    "providers": "服务方数",
    "candidates": "候选配对",
    "locked": "锁定",
    "kept": "保留的已接受配对",
    "forbidden": "禁止",
    "preferred": "企业指定",
    "pairs": "配对数",
    "served": "已匹配需求",
    "unserved": "未匹配需求",
    "widenings": "候选扩大次数",
    "new_pairs": "新配对",
    "churn": "与上一轮相比变动",
    "objective": "目标值",
    "gap_bound": "最优性间隙上界",
}
PAIRINGS_PER_PAGE = 50
ROUNDS_SHOWN = 50


def match_panel(session: Session, demand_id: int, level: str) -> dict[str, Any]:
    """The context of a demand's ranked matches: the list and the shared terms to highlight."""
    matches: MatchList = service.match_list(session, demand_id=demand_id, level=level, limit=10)
    terms = sorted({reason.term for item in matches.items for reason in item.reasons})
    return {
        "matches": matches,
        "shared_terms": terms,
        "level": level,
        "level_labels": LEVEL_LABELS,
        "field_labels": FIELD_LABELS,
    }


# --- rounds -------------------------------------------------------------------------------------


@router.get("/rounds")
def round_list(request: Request, session: SessionDep, _staff: WebStaffDep) -> Response:
    """Recent rounds and the form to start one."""
    return _rounds_page(request, session, {}, {})


def _rounds_page(
    request: Request, session: Session, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    rounds = session.scalars(select(MatchRound).order_by(MatchRound.id.desc()).limit(ROUNDS_SHOWN)).all()
    context = {
        "rounds": rounds,
        "values": values,
        "errors": errors,
        "all_statuses": list(DemandStatus),
        "level_labels": LEVEL_LABELS,
        "round_status_labels": ROUND_STATUS_LABELS,
    }
    return render(request, "rounds/list.html", context, status_code=status)


@router.post("/rounds")
def start_round(request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep) -> Response:
    """Queue a round with the scope of the form; the page of the round follows its progress."""
    values = _scope_values(form)
    try:
        scope = RoundScope.model_validate(_scope_input(values))
    except ValidationError as error:
        translated = translate_all(error.errors(), model_labels(RoundScope))
        errors = {e.field.split("[", 1)[0].split(".", 1)[0]: e.message for e in translated}
        return _rounds_page(request, session, values, errors, 422)
    except ValueError as error:
        return _rounds_page(request, session, values, {"capacities": str(error)}, 422)
    matching_round = service.create_round(session, scope=scope, staff=staff)
    return redirect(f"/rounds/{matching_round.id}", f"匹配轮次 {matching_round.id} 已加入队列，后台运行。")


def _scope_values(form: FormData) -> dict[str, Any]:
    text = {
        name: str(form.get(name) or "").strip()
        for name in (
            "level",
            "region",
            "industry",
            "wanted",
            "candidates",
            "min_match_degree",
            "capacities",
            "demand_ids",
        )
    }
    return text | {"statuses": [str(value) for value in form.getlist("statuses")]}


def _scope_input(values: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "level": values["level"] or "society",
        "statuses": values["statuses"] or ["published"],
    }
    for name in ("region", "industry", "wanted", "candidates", "min_match_degree"):
        if values[name]:
            data[name] = values[name]
    if values["demand_ids"]:
        data["demand_ids"] = [
            part for part in values["demand_ids"].replace("，", ",").split(",") if part.strip()
        ]
    data["capacities"] = _capacities(values["capacities"])
    return data


def _capacities(text: str) -> dict[str, str]:
    # One "编号=容量" per line or comma: the capacity of that provider in this round.
    pairs: dict[str, str] = {}
    for part in text.replace("，", ",").replace("\n", ",").split(","):
        if not part.strip():
            continue
        key, sep, value = part.replace("＝", "=").partition("=")
        if not sep or not key.strip().isdigit() or not value.strip().isdigit():
            raise ValueError(f"“{part.strip()}”格式不对：每项应为 编号=容量，如 12=3")
        pairs[key.strip()] = value.strip()
    return pairs


@router.get("/rounds/{round_id:int}")
def round_page(request: Request, session: SessionDep, _staff: WebStaffDep, round_id: int) -> Response:
    """A round: its scope, live progress, counts, timings and coverage diagnosis."""
    matching_round = service.get_round(session, round_id)
    context = {
        "round": matching_round,
        "progress": progress_state(matching_round),
        "level_labels": LEVEL_LABELS,
        "round_status_labels": ROUND_STATUS_LABELS,
        "stage_labels": STAGE_LABELS,
        "count_labels": COUNT_LABELS,
        "export_enabled": True,
        "report_enabled": True,
    }
    return render(request, "rounds/detail.html", context)


def progress_state(matching_round: MatchRound) -> dict[str, Any]:
    """What the progress bar shows: percent, a Chinese label and whether the round has ended."""
    status = ROUND_STATUS_LABELS[matching_round.status]
    stage = STAGE_LABELS.get(matching_round.stage.value if matching_round.stage else "", "")
    finished = matching_round.status not in (RoundStatus.QUEUED, RoundStatus.RUNNING)
    percent = 100 if matching_round.status == RoundStatus.SUCCEEDED else matching_round.percent
    label = f"{status}：{stage} {percent}%" if matching_round.status == RoundStatus.RUNNING else status
    if matching_round.cancel_requested and not finished:
        label += "（正在取消）"
    return {"percent": percent, "label": label, "finished": finished, "status": matching_round.status.value}


@router.get("/rounds/{round_id:int}/progress")
def round_progress(session: SessionDep, _staff: WebStaffDep, round_id: int) -> Response:
    """The round's progress as JSON, polled by the round page."""
    return JSONResponse(
        progress_state(service.get_round(session, round_id)), headers={"Cache-Control": "no-store"}
    )


@router.post("/rounds/{round_id:int}/cancel")
def cancel_round(session: SessionDep, _staff: WebStaffDep, _form: FormDep, round_id: int) -> Response:
    """Cancel a queued round, or ask a running one to stop."""
    service.cancel_round(session, round_id=round_id)
    return redirect(f"/rounds/{round_id}", "已请求取消本轮匹配。")


# --- pairings -----------------------------------------------------------------------------------


@router.get("/rounds/{round_id:int}/pairings")
def pairing_list(
    request: Request,
    session: SessionDep,
    _staff: WebStaffDep,
    round_id: int,
    status: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """A round's pairings by demand and rank, with the review actions of each."""
    return _pairings_page(request, session, round_id, status, page, {})


def _pairings_page(
    request: Request,
    session: Session,
    round_id: int,
    status: str,
    page: int,
    row_errors: dict[int, dict[str, str]],
    code: int = 200,
) -> Response:
    wanted = PairingStatus(status) if status in PairingStatus._value2member_map_ else None
    items, total = service.list_pairings(
        session,
        round_id=round_id,
        status=wanted,
        demand_id=None,
        offset=(page - 1) * PAIRINGS_PER_PAGE,
        limit=PAIRINGS_PER_PAGE,
    )
    context = {
        "round": service.get_round(session, round_id),
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, ceil(total / PAIRINGS_PER_PAGE)),
        "status": status,
        "pairing_statuses": service.STATUS_LABELS,
        "actions": review.ACTIONS,
        "action_labels": review.ACTION_LABELS,
        "agreement_types": list(AgreementType),
        "row_errors": row_errors,
        "level_labels": LEVEL_LABELS,
        "export_enabled": True,
    }
    return render(request, "rounds/pairings.html", context, status_code=code)


@router.post("/pairings/{pairing_id:int}")
def change_pairing(
    request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep, pairing_id: int
) -> Response:
    """Apply one review action to a pairing; a refused action is explained in its row."""
    pairing = review.get_pairing(session, pairing_id)
    back = str(form.get("back") or f"/rounds/{pairing.round_id}/pairings")
    back = back if back.startswith("/") and not back.startswith("//") else "/"
    try:
        with session.begin_nested():
            _transition(session, pairing_id, form, staff)
    except (ValidationError, HuiqiError) as error:
        code = error.status_code if isinstance(error, HuiqiError) else 422
        return _pairings_page(request, session, pairing.round_id, "", 1, {pairing_id: _errors(error)}, code)
    label = review.ACTION_LABELS.get(str(form.get("action")), "")
    return redirect(f"{back}#pairing-{pairing_id}", f"配对 {pairing_id}：已{label}。")


def _transition(session: Session, pairing_id: int, form: FormData, staff: StaffUser) -> None:
    data = {
        name: str(value).strip()
        for name, value in form.multi_items()
        if name in PairingTransition.model_fields and str(value).strip()
    }
    change = PairingTransition.model_validate(data)
    review.transition(session, pairing_id=pairing_id, change=change, version=None, staff=staff)


def _errors(error: ValidationError | HuiqiError) -> dict[str, str]:
    if isinstance(error, ValidationError):
        return {e.field: e.message for e in translate_all(error.errors())}
    if isinstance(error, RequestInvalidError) and error.errors:
        return {e.field: e.message for e in error.errors}
    return {"action": error.detail}
