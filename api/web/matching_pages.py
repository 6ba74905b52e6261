"""Staff pages of matching: a demand's ranked matches, rounds with live progress, pairing review."""

from math import ceil
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.db.models import Demand, DemandStatus, StaffUser
from api.deps import SessionDep
from api.errors import HuiqiError, RequestInvalidError, model_labels, translate_all
from api.matching import review, service
from api.matching.models import AgreementType, MatchRound, RoundStatus
from api.matching.schemas import MatchList, PairingTransition, RoundScope
from api.providers.models import ProviderLevel
from api.reference import industry_codes
from api.validation import row_id
from api.web import bulk as bulk_actions
from api.web import messages, pickers
from api.web.deps import FormDep, WebStaffDep
from api.web.pairing_lists import (
    SORTS,
    PairingQuery,
    branch_societies,
    find_pairings,
    parse_query,
    provider_label,
)
from api.web.regions import region_from_text, region_name
from api.web.routing import WebRoute
from api.web.templating import redirect, render
from api.web.worker_state import round_waiting_hint

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
    "total": "合计",
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
# What the round page shows up front; the other counts are technical and go into its 详情 fold.
PLAIN_COUNTS = (
    "demands",
    "providers",
    "pairs",
    "new_pairs",
    "churn",
    "kept",
    "locked",
    "preferred",
    "forbidden",
)
ROUND_FAILED = "本轮匹配出错，未能完成。可以重新开始一轮；如果再次出错，请联系系统管理员并告知轮次编号。"
PAIRINGS_PER_PAGE = 50
ROUNDS_SHOWN = 50


def match_panel(session: Session, demand_id: int, level: str) -> dict[str, Any]:
    """The context of a demand's ranked matches: the list, the shared terms and the demand's sentences
    closest to the providers' (each with the ranks it matches) to highlight."""
    matches: MatchList = service.match_list(session, demand_id=demand_id, level=level, limit=10)
    terms = sorted({reason.term for item in matches.items for reason in item.reasons})
    ranks: dict[str, list[str]] = {}
    for item in matches.items:
        if item.demand_sentence:
            ranks.setdefault(item.demand_sentence, []).append(str(item.rank))
    societies = (
        branch_societies(session, [item.provider_id for item in matches.items]) if level == "branch" else {}
    )
    return {
        "provider_labels": {
            item.provider_id: provider_label(
                ProviderLevel(level), item.provider_id, item.provider_name, societies
            )
            for item in matches.items
        },
        "matches": matches,
        "shared_terms": terms,
        "matched_sentences": {
            sentence: f"与第 {'、'.join(found)} 名推荐对象资料中最接近的一句对应"
            for sentence, found in ranks.items()
        },
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
        "industries": [(code, name) for code, name in industry_codes().items() if len(code) <= 3],
        "picker": pickers.all_options(session),
    }
    return render(request, "rounds/list.html", context, status_code=status)


@router.post("/rounds")
def start_round(request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep) -> Response:
    """Queue a round with the scope of the form; the page of the round follows its progress."""
    values = _scope_values(form)
    try:
        scope = RoundScope.model_validate(_scope_input(session, values))
    except ValidationError as error:
        labels = model_labels(RoundScope)
        return _rounds_page(
            request, session, values, messages.by_field(translate_all(error.errors(), labels), labels), 422
        )
    except ValueError as error:
        return _rounds_page(request, session, values, {"capacities": str(error)}, 422)
    try:
        with session.begin_nested():
            matching_round = service.create_round(session, scope=scope, staff=staff)
    except RequestInvalidError as error:
        errors = messages.by_field(error.errors, model_labels(RoundScope)) or {"statuses": error.detail}
        return _rounds_page(request, session, values, errors, 422)
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
            "time_limit",
            "capacities",
            "demand_ids",
        )
    }
    return text | {"statuses": [str(value) for value in form.getlist("statuses")]}


def _scope_input(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "level": values["level"] or "society",
        "statuses": values["statuses"] or ["published"],
    }
    for name in ("region", "industry", "wanted", "candidates", "min_match_degree", "time_limit"):
        if values[name]:
            data[name] = values[name]
    if values["region"]:
        # A name (福建, 福州市) is read as its code prefix; text naming no region goes on to be refused.
        data["region"] = region_from_text(values["region"]) or values["region"]
    if values["demand_ids"]:
        data["demand_ids"] = [
            part for part in values["demand_ids"].replace("，", ",").split(",") if part.strip()
        ]
    level = ProviderLevel(data["level"]) if data["level"] in LEVEL_LABELS else ProviderLevel.SOCIETY
    data["capacities"] = _capacities(session, level, values["capacities"])
    return data


def _capacities(session: Session, level: ProviderLevel, text: str) -> dict[str, str]:
    # One "名称=容量" (or "编号=容量") per line or comma: the capacity of that provider in this round.
    pairs: dict[str, str] = {}
    for part in text.replace("，", ",").replace("\n", ",").split(","):
        if not part.strip():
            continue
        key, sep, value = part.replace("＝", "=").partition("=")
        if not sep or not key.strip() or not value.strip().isdigit():
            raise ValueError(f"“{part.strip()[:40]}”格式不对：每行应为 名称=容量，如 中国机械工程学会=3")
        found = pickers.resolve(session, level, key)
        if found is None:
            raise ValueError(f"没有找到{LEVEL_LABELS[level.value]}“{key.strip()[:40]}”，请按列表中的名称填写")
        pairs[str(found)] = value.strip()
    return pairs


@router.get("/rounds/{round_id:int}")
def round_page(request: Request, session: SessionDep, _staff: WebStaffDep, round_id: int) -> Response:
    """A round: its scope, live progress, counts, timings and coverage diagnosis."""
    matching_round = service.get_round(session, round_id)
    context = {
        "round": matching_round,
        "progress": progress_state(matching_round, round_waiting_hint(session, matching_round)),
        "outcome": round_outcome(matching_round),
        "plain_counts": PLAIN_COUNTS,
        "titles": _diagnosed_titles(session, matching_round),
        "provider_names": _capacity_names(session, matching_round),
        "region_name": region_name(str((matching_round.scope or {}).get("region") or "")),
        "failure": failure_text(matching_round.error) if matching_round.status == RoundStatus.FAILED else "",
        "level_labels": LEVEL_LABELS,
        "round_status_labels": ROUND_STATUS_LABELS,
        "stage_labels": STAGE_LABELS,
        "count_labels": COUNT_LABELS,
        "export_enabled": True,
        "report_enabled": True,
    }
    return render(request, "rounds/detail.html", context)


def _capacity_names(session: Session, matching_round: MatchRound) -> dict[str, str]:
    scope = matching_round.scope or {}
    if not scope.get("capacities"):
        return {}
    level = ProviderLevel(scope.get("level") or "society")
    return {str(option.provider_id): option.label for option in pickers.options(session, level)}


def _diagnosed_titles(session: Session, matching_round: MatchRound) -> dict[int, str]:
    diagnosis = matching_round.diagnosis or {}
    ids = {int(entry["demand_id"]) for entry in (diagnosis.get("unserved") or [])[:50]}
    for item in (diagnosis.get("relaxations") or [])[:10]:
        ids |= {int(served["demand_id"]) for served in item.get("serves") or []}
    if not ids:
        return {}
    rows = session.execute(select(Demand.id, Demand.title).where(Demand.id.in_(ids)))
    return {int(demand_id): str(title) for demand_id, title in rows}


def failure_text(error: str | None) -> str:
    """Why a round failed, in words for staff: a Chinese reason is shown, a programmer's one is not."""
    reason = (error or "").split(": ", 1)[-1].strip()
    readable = any("\u4e00" <= char <= "\u9fff" for char in reason) and not any(
        mark in reason for mark in ("Traceback", "_", "{", "Error")
    )
    return f"本轮匹配未能完成：{reason}" if readable else ROUND_FAILED


def round_outcome(matching_round: MatchRound) -> dict[str, Any]:
    """匹配成功 N 项、未匹配 N 项 and the reasons of the unmatched, counted by reason."""
    counts = matching_round.counts or {}
    reasons: dict[str, int] = {}
    for entry in (matching_round.diagnosis or {}).get("unserved") or []:
        text = str(entry.get("message") or "原因未记录")
        reasons[text] = reasons.get(text, 0) + 1
    return {
        "served": counts.get("served"),
        "unserved": counts.get("unserved"),
        "reasons": sorted(reasons.items(), key=lambda item: -item[1]),
    }


def progress_state(matching_round: MatchRound, waiting: str = "") -> dict[str, Any]:
    """What the progress bar shows: percent, a Chinese label, whether the round has ended and, for a
    round no worker has taken, why it waits."""
    status = ROUND_STATUS_LABELS[matching_round.status]
    stage = STAGE_LABELS.get(matching_round.stage.value if matching_round.stage else "", "")
    finished = matching_round.status not in (RoundStatus.QUEUED, RoundStatus.RUNNING)
    percent = 100 if matching_round.status == RoundStatus.SUCCEEDED else matching_round.percent
    label = f"{status}：{stage} {percent}%" if matching_round.status == RoundStatus.RUNNING else status
    if matching_round.cancel_requested and not finished:
        label += "（正在取消）"
    return {
        "percent": percent,
        "label": label,
        "finished": finished,
        "status": matching_round.status.value,
        "waiting": waiting,
    }


@router.get("/rounds/{round_id:int}/progress")
def round_progress(session: SessionDep, _staff: WebStaffDep, round_id: int) -> Response:
    """The round's progress as JSON, polled by the round page."""
    matching_round = service.get_round(session, round_id)
    state = progress_state(matching_round, round_waiting_hint(session, matching_round))
    return JSONResponse(state, headers={"Cache-Control": "no-store"})


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
    q: str = "",
    sort: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """A round's pairings with their demands' titles and enterprises, searched, sorted, reviewable."""
    service.get_round(session, round_id)
    query = parse_query(str(round_id), status, q, sort)
    return _pairings_page(request, session, query, page, {})


@router.get("/pairings")
def all_pairings(
    request: Request,
    session: SessionDep,
    _staff: WebStaffDep,
    round: str = "",  # the query parameter of the links
    status: str = "",
    q: str = "",
    sort: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Pairings of every round (or one), e.g. all accepted ones waiting for 对接."""
    return _pairings_page(request, session, parse_query(round, status, q, sort), page, {})


def _pairings_page(
    request: Request,
    session: Session,
    query: PairingQuery,
    page: int,
    row_errors: dict[int, dict[str, str]],
    code: int = 200,
    bulk: dict[str, Any] | None = None,
) -> Response:
    rows, total = find_pairings(
        session, query, offset=(page - 1) * PAIRINGS_PER_PAGE, limit=PAIRINGS_PER_PAGE
    )
    matching_round = service.get_round(session, query.round_id) if query.round_id else None
    base = (
        f"/rounds/{query.round_id}/pairings"
        if matching_round and request.url.path != "/pairings"
        else "/pairings"
    )
    context = {
        "round": matching_round,
        "query": query,
        "list_path": base,
        "sorts": SORTS,
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, ceil(total / PAIRINGS_PER_PAGE)),
        "pairing_statuses": service.STATUS_LABELS,
        "actions": review.ACTIONS,
        "action_labels": review.ACTION_LABELS,
        "agreement_types": list(AgreementType),
        "row_errors": row_errors,
        "level_labels": LEVEL_LABELS,
        "export_enabled": True,
        "bulk": bulk or {"reason": "", "ids": [], "errors": {}},
        "back": _list_url(base, query, page),
    }
    return render(request, "rounds/pairings.html", context, status_code=code)


def _list_url(path: str, query: PairingQuery, page: int) -> str:
    params = {
        "round": str(query.round_id) if query.round_id and path == "/pairings" else "",
        "status": query.status.value if query.status else "",
        "q": query.text,
        "sort": query.sort if query.sort != "demand" else "",
        "page": str(page) if page > 1 else "",
    }
    kept = urlencode({key: value for key, value in params.items() if value})
    return f"{path}?{kept}" if kept else path


def _query_of(back: str) -> tuple[PairingQuery, int]:
    """The worklist a form came from, read back from its ``back`` URL."""
    parts = urlsplit(back)
    params = dict(parse_qsl(parts.query))
    round_text = params.get("round", "")
    if parts.path.startswith("/rounds/"):
        round_text = parts.path.split("/")[2]
    page = row_id(params.get("page", "1")) or 1
    query = parse_query(round_text, params.get("status", ""), params.get("q", ""), params.get("sort", ""))
    return query, min(page, 100_000)


def _safe_back(value: str, fallback: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else fallback


@router.post("/pairings/bulk")
def bulk_pairings(request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep) -> Response:
    """Accept or reject the checked pairings at once; the worklist keeps its filter."""
    back = _safe_back(str(form.get("back") or "/pairings"), "/pairings")
    ids = [str(value) for value in form.getlist("ids")]
    action, reason = str(form.get("action") or ""), str(form.get("reason") or "").strip()
    try:
        result = bulk_actions.apply_to_pairings(session, ids=ids, action=action, reason=reason, staff=staff)
    except bulk_actions.BulkInputError as error:
        query, page = _query_of(back)
        bulk = {"reason": reason, "ids": ids, "errors": error.errors}
        return _pairings_page(request, session, query, page, {}, 422, bulk)
    return redirect(back, result.summary())


@router.post("/pairings/{pairing_id:int}")
def change_pairing(
    request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep, pairing_id: int
) -> Response:
    """Apply one review action to a pairing; a refused action is explained in its row."""
    pairing = review.get_pairing(session, pairing_id)
    back = _safe_back(str(form.get("back") or f"/rounds/{pairing.round_id}/pairings"), "/")
    try:
        with session.begin_nested():
            _transition(session, pairing_id, form, staff)
    except (ValidationError, HuiqiError) as error:
        code = error.status_code if isinstance(error, HuiqiError) else 422
        query, page = _query_of(back)
        return _pairings_page(request, session, query, page, {pairing_id: _errors(error)}, code)
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
    labels = model_labels(PairingTransition)
    if isinstance(error, ValidationError):
        return messages.by_field(translate_all(error.errors(), labels), labels)
    if isinstance(error, RequestInvalidError) and error.errors:
        return messages.by_field(error.errors, labels)
    return {"action": error.detail}
