"""HTTP routes of matching: match lists, rounds, coverage diagnosis, pairings and their review."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response, status

from api.auth.dependencies import StaffDep
from api.deps import SessionDep, require_json
from api.matching import review, service
from api.matching.models import PairingStatus
from api.matching.schemas import (
    Level,
    MatchList,
    PairingDetail,
    PairingOut,
    PairingPage,
    PairingTransition,
    RoundCreated,
    RoundOut,
    RoundScope,
)
from api.validation import MAX_ROW_ID, PathId

router = APIRouter(tags=["matching"])

LevelQuery = Annotated[
    Level, Query(title="匹配对象", description="学会 society、分支机构 branch 或专家 expert")
]


@router.get("/demands/{demand_id}/matches", response_model=MatchList)
def demand_matches(
    demand_id: PathId,
    session: SessionDep,
    _staff: StaffDep,
    level: LevelQuery = "society",
    limit: Annotated[int, Query(ge=1, le=100, title="条数")] = 10,
) -> Response:
    """A demand's provisional ranked providers with reasons, capacity left and constraints."""
    found = service.match_list(session, demand_id=demand_id, level=level, limit=limit)
    # Built as a MatchList already: serialized once, not validated again (the list is the hot path).
    return Response(found.model_dump_json(), media_type="application/json")


@router.post(
    "/rounds",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RoundCreated,
    dependencies=[Depends(require_json)],
)
def create_round(
    session: SessionDep, staff: StaffDep, scope: Annotated[RoundScope | None, Body()] = None
) -> RoundCreated:
    """Queue a matching round; a worker process runs it. An empty body uses every default."""
    matching_round = service.create_round(session, scope=scope or RoundScope(), staff=staff)
    return RoundCreated(id=matching_round.id, status=matching_round.status)


@router.get("/rounds/{round_id}", response_model=RoundOut)
def read_round(round_id: PathId, session: SessionDep, _staff: StaffDep) -> RoundOut:
    """A round's status, stage, percent done, counts and timings."""
    return RoundOut.model_validate(service.get_round(session, round_id))


@router.post("/rounds/{round_id}/cancel", response_model=RoundOut)
def cancel_round(round_id: PathId, session: SessionDep, _staff: StaffDep) -> RoundOut:
    """Cancel a queued round, or stop a running one at its next stage."""
    return RoundOut.model_validate(service.cancel_round(session, round_id=round_id))


@router.get("/rounds/{round_id}/diagnosis")
def round_diagnosis(round_id: PathId, session: SessionDep, _staff: StaffDep) -> dict[str, Any]:
    """Why each unserved demand got no provider, and the capacity increases that would serve them."""
    return service.get_round(session, round_id).diagnosis or {}


@router.get("/rounds/{round_id}/pairings", response_model=PairingPage)
def round_pairings(
    round_id: PathId,
    session: SessionDep,
    _staff: StaffDep,
    status: Annotated[PairingStatus | None, Query(title="配对状态")] = None,
    demand_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, title="需求编号")] = None,
    page: Annotated[int, Query(ge=1, le=100_000, title="页码")] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, title="每页条数")] = 100,
) -> PairingPage:
    """A round's pairings, by demand and rank."""
    items, total = service.list_pairings(
        session,
        round_id=round_id,
        status=status,
        demand_id=demand_id,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return PairingPage(items=[PairingOut.model_validate(item) for item in items], total=total)


@router.get("/pairings/{pairing_id}", response_model=PairingDetail)
def read_pairing(
    pairing_id: PathId, session: SessionDep, _staff: StaffDep, response: Response
) -> PairingDetail:
    """A pairing with its history; the ETag is its version, for If-Match."""
    pairing = review.get_pairing(session, pairing_id)
    response.headers["ETag"] = f'"{pairing.version}"'
    return PairingDetail.model_validate(pairing)


@router.post(
    "/pairings/{pairing_id}/transitions", response_model=PairingDetail, dependencies=[Depends(require_json)]
)
def change_pairing(
    pairing_id: PathId,
    change: PairingTransition,
    session: SessionDep,
    staff: StaffDep,
    response: Response,
    if_match: Annotated[
        str | None, Header(alias="If-Match", title="版本号", description="最近读取的版本（ETag）")
    ] = None,
) -> PairingDetail:
    """Accept, reject, lock, forbid, record 对接 or an agreement, or close; 409 on a stale version."""
    pairing = review.transition(
        session, pairing_id=pairing_id, change=change, version=review.parse_if_match(if_match), staff=staff
    )
    response.headers["ETag"] = f'"{pairing.version}"'
    return PairingDetail.model_validate(pairing)
