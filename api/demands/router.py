"""HTTP routes of demand intake (enterprises) and review (staff)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status
from pydantic import AfterValidator

from api.auth.dependencies import OptionalStaffDep, StaffDep
from api.db.models import DemandStatus
from api.demands import service
from api.demands.repository import DemandFilter
from api.demands.schemas import (
    DemandCreate,
    DemandOut,
    DemandPage,
    DemandPatch,
    DemandReceipt,
    DemandSummary,
    TransitionRequest,
)
from api.deps import SecretDep, SessionDep, require_json
from api.reference import normalize_industry_code, region_prefix
from api.validation import MAX_ROW_ID, ParameterText, PathId, visible_ascii_key

router = APIRouter(prefix="/demands", tags=["demands"])

IdempotencyKey = Annotated[
    str | None,
    AfterValidator(visible_ascii_key),
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="重试时沿用同一个键，不会重复建档",
    ),
]
ReceiptToken = Annotated[str | None, Header(alias="X-Receipt-Token", description="提交时得到的回执凭证")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DemandReceipt,
    dependencies=[Depends(require_json)],
)
def submit_demand(
    payload: DemandCreate,
    session: SessionDep,
    secret: SecretDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DemandReceipt:
    """Submit a technology demand; keep the receipt token to read it later."""
    key = idempotency_key.strip() if idempotency_key else None
    outcome = service.submit(session, payload=payload, secret=secret, idempotency_key=key or None)
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    demand = outcome.demand
    return DemandReceipt(id=demand.id, status=demand.status, receipt_token=outcome.receipt_token)


@router.get("", response_model=DemandPage)
def list_demands(
    session: SessionDep,
    _staff: StaffDep,
    status: Annotated[list[DemandStatus] | None, Query(description="状态，可重复")] = None,
    q: Annotated[
        ParameterText | None,
        Query(max_length=100, title="查找内容", description="在名称、说明、单位、主营业务中查找"),
    ] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="行政区划代码或其前缀")] = None,
    industry: Annotated[
        ParameterText | None, Query(max_length=5, description="行业代码或其前缀，如 C35")
    ] = None,
    page: Annotated[int, Query(ge=1, le=MAX_ROW_ID)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DemandPage:
    """List demands for staff, newest first, with filters and the total count."""
    where = DemandFilter(
        statuses=tuple(status or ()),
        text=(q or "").strip() or None,
        region_prefix=region_prefix(region) if region else None,
        industry_prefix=(normalize_industry_code(industry) or industry.strip().upper()) if industry else None,
    )
    items, total = service.list_demands(session, where=where, page=page, page_size=page_size)
    summaries = [DemandSummary.model_validate(item) for item in items]
    return DemandPage(items=summaries, total=total, page=page, page_size=page_size)


@router.get("/{demand_id}", response_model=DemandOut)
def read_demand(
    demand_id: PathId,
    session: SessionDep,
    secret: SecretDep,
    staff: OptionalStaffDep,
    receipt: ReceiptToken = None,
) -> DemandOut:
    """Read one demand: staff with a bearer token, the enterprise with its receipt token."""
    demand = service.open_demand(session, demand_id=demand_id, staff=staff, receipt=receipt, secret=secret)
    return DemandOut.model_validate(demand)


@router.patch("/{demand_id}", response_model=DemandOut, dependencies=[Depends(require_json)])
def edit_demand(demand_id: PathId, patch: DemandPatch, session: SessionDep, staff: StaffDep) -> DemandOut:
    """Edit a demand (staff); the result must pass the same checks as a submission."""
    demand = service.update_demand(session, demand_id=demand_id, patch=patch, staff=staff)
    return DemandOut.model_validate(demand)


@router.post("/{demand_id}/transitions", response_model=DemandOut, dependencies=[Depends(require_json)])
def change_status(
    demand_id: PathId, request: TransitionRequest, session: SessionDep, staff: StaffDep
) -> DemandOut:
    """Move a demand along the review workflow (staff); a reason is required to return it."""
    demand = service.change_status(
        session, demand_id=demand_id, to=request.to, reason=request.reason, staff=staff
    )
    return DemandOut.model_validate(demand)
