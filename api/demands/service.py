"""Demand intake and review rules. Functions take keyword arguments and flush, never commit."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.tokens import new_receipt_salt, receipt_matches, receipt_token
from api.db.models import Demand, DemandEvent, DemandStatus, StaffUser
from api.demands import repository
from api.demands.repository import DemandFilter
from api.demands.schemas import DemandCreate, DemandPatch
from api.errors import (
    AuthenticationError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    RequestInvalidError,
    field_error,
)
from api.imports.keys import unclaimed_dedup_key
from api.matching.inputs import demand_record
from api.programmes.admission import admit_to_campaign
from api.reference import suggest_region
from matcher.texts import tokenize_demands

STATUS_LABELS: Final = {
    DemandStatus.SUBMITTED: "已提交",
    DemandStatus.IN_REVIEW: "审核中",
    DemandStatus.PUBLISHED: "已发布",
    DemandStatus.RETURNED: "已退回",
    DemandStatus.CLOSED: "已关闭",
}
# The review workflow: submitted -> in_review -> published | returned -> closed.
TRANSITIONS: Final[dict[DemandStatus, frozenset[DemandStatus]]] = {
    DemandStatus.SUBMITTED: frozenset({DemandStatus.IN_REVIEW}),
    DemandStatus.IN_REVIEW: frozenset({DemandStatus.PUBLISHED, DemandStatus.RETURNED}),
    DemandStatus.PUBLISHED: frozenset({DemandStatus.CLOSED}),
    DemandStatus.RETURNED: frozenset({DemandStatus.CLOSED}),
    DemandStatus.CLOSED: frozenset(),
}
REASON_REQUIRED: Final = frozenset({DemandStatus.RETURNED})


@dataclass(frozen=True, slots=True)
class Submission:
    """The outcome of a submission: the demand, its receipt token and whether it was a replay."""

    demand: Demand
    receipt_token: str
    replayed: bool


def submit(
    session: Session, *, payload: DemandCreate, secret: bytes, idempotency_key: str | None
) -> Submission:
    """Store a new demand, or return the one already stored under the same idempotency key."""
    fingerprint = _fingerprint(payload)
    # Built before the first query: on SQLite the first query takes the write lock.
    demand = _new_demand(payload, idempotency_key, fingerprint)
    if idempotency_key and (earlier := repository.by_idempotency_key(session, idempotency_key)):
        return _replay(earlier, fingerprint, secret)
    # The same key as bulk import, so an imported copy of this demand is recognised.
    demand.dedup_key = unclaimed_dedup_key(session, payload.org_name, payload.title, payload.description)
    admit_to_campaign(session, demand)
    try:
        _insert(session, demand)
    except IntegrityError:
        # A concurrent retry with the same key committed first: answer with its demand.
        earlier = repository.by_idempotency_key(session, idempotency_key) if idempotency_key else None
        if earlier is not None:
            return _replay(earlier, fingerprint, secret)
        if demand.dedup_key is None:
            raise
        # A concurrent identical submission took the dedup key first; like a later one, this one is
        # still accepted and the key stays with the first.
        demand.dedup_key = None
        _insert(session, demand)
    return Submission(demand, receipt_token(secret, demand.id, demand.receipt_salt), replayed=False)


def _insert(session: Session, demand: Demand) -> None:
    with session.begin_nested():
        session.add(demand)
        session.flush()


def _new_demand(payload: DemandCreate, idempotency_key: str | None, fingerprint: str) -> Demand:
    fields = payload.model_dump()
    suggested = fields["region_code"] is None and bool(fields["address"])
    if suggested:
        fields["region_code"] = suggest_region(fields["address"])
    demand = Demand(
        **fields,
        status=DemandStatus.SUBMITTED,
        region_suggested=suggested and fields["region_code"] is not None,
        receipt_salt=new_receipt_salt(),
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
    )
    demand.events.append(DemandEvent(kind="submitted", to_status=DemandStatus.SUBMITTED))
    demand.tokens = tokenize_demands([demand_record(payload)])[0]  # once at intake: rounds reuse them
    return demand


def _fingerprint(payload: DemandCreate) -> str:
    canonical = json.dumps(payload.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(earlier: Demand, fingerprint: str, secret: bytes) -> Submission:
    if earlier.request_fingerprint != fingerprint:
        raise RequestInvalidError(errors=[field_error("Idempotency-Key", "idempotency_key_reused")])
    return Submission(earlier, receipt_token(secret, earlier.id, earlier.receipt_salt), replayed=True)


def get_demand(session: Session, *, demand_id: int) -> Demand:
    """The demand, or 404."""
    demand = repository.get(session, demand_id)
    if demand is None:
        raise NotFoundError(f"需求 {demand_id} 不存在")
    return demand


def open_demand(
    session: Session, *, demand_id: int, staff: StaffUser | None, receipt: str | None, secret: bytes
) -> Demand:
    """The demand for staff, or for the enterprise holding its receipt token; nobody else."""
    if staff is None and not receipt:
        raise AuthenticationError("请提供工作人员令牌，或在 X-Receipt-Token 中提供提交时得到的回执凭证")
    demand = get_demand(session, demand_id=demand_id)
    if staff is None and not receipt_matches(secret, demand.id, demand.receipt_salt, receipt or ""):
        raise PermissionDeniedError("回执凭证与该需求不符：回执凭证只能查看提交时对应的那一份需求")
    return demand


def list_demands(
    session: Session, *, where: DemandFilter, page: int, page_size: int
) -> tuple[list[Demand], int]:
    """One page of demands matching ``where``, newest first, with the total count."""
    return repository.search(session, where, offset=(page - 1) * page_size, limit=page_size)


def update_demand(session: Session, *, demand_id: int, patch: DemandPatch, staff: StaffUser) -> Demand:
    """Apply a staff edit; the edited demand must pass the same validation as a submission."""
    demand = get_demand(session, demand_id=demand_id)
    before = _as_payload(demand)
    changes = patch.model_dump(exclude_unset=True)
    if "address" in changes and "region_code" not in changes and demand.region_suggested:
        changes["region_code"] = None  # re-suggest from the new address below
    after = DemandCreate.model_validate({**before.model_dump(), **changes})
    diff = _diff(before, after)
    if not diff:
        return demand
    _apply(demand, after, region_given="region_code" in patch.model_fields_set)
    demand.tokens = tokenize_demands([demand_record(after)])[0]
    demand.events.append(DemandEvent(kind="updated", changes=diff, staff=staff))
    session.flush()
    return demand


def _as_payload(demand: Demand) -> DemandCreate:
    values = {name: getattr(demand, name) for name in DemandCreate.model_fields}
    return DemandCreate.model_validate(values)


def _diff(before: DemandCreate, after: DemandCreate) -> dict[str, Any]:
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return {name: {"from": old[name], "to": new[name]} for name in new if old[name] != new[name]}


def _apply(demand: Demand, payload: DemandCreate, *, region_given: bool) -> None:
    fields = payload.model_dump()
    if fields["region_code"] is None and fields["address"] and not region_given:
        fields["region_code"] = suggest_region(fields["address"])
        demand.region_suggested = fields["region_code"] is not None
    elif region_given:
        demand.region_suggested = False
    for name, value in fields.items():
        setattr(demand, name, value)


def change_status(
    session: Session, *, demand_id: int, to: DemandStatus, reason: str | None, staff: StaffUser
) -> Demand:
    """Move a demand along the review workflow, recording who, when, from, to and why."""
    demand = get_demand(session, demand_id=demand_id)
    _check_transition(demand.status, to, reason)
    demand.events.append(
        DemandEvent(
            kind="status_changed", from_status=demand.status, to_status=to, reason=reason, staff=staff
        )
    )
    demand.status = to
    session.flush()
    return demand


def _check_transition(current: DemandStatus, to: DemandStatus, reason: str | None) -> None:
    allowed = TRANSITIONS[current]
    if to not in allowed:
        options = "、".join(STATUS_LABELS[status] for status in sorted(allowed)) or "无（已是最终状态）"
        raise InvalidTransitionError(
            f"需求当前状态为“{STATUS_LABELS[current]}”，不能改为“{STATUS_LABELS[to]}”；可改为：{options}"
        )
    if to in REASON_REQUIRED and not reason:
        raise RequestInvalidError(errors=[field_error("reason", "reason_required")])
