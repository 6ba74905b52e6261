"""Review and tracking of a pairing: accept, reject, lock, forbid, 对接, agreement, close.

Every change names its staff member and time (``pairing_events``) and must carry the version the
client last read: a pairing edited meanwhile answers 409 instead of losing the other person's change.
"""

from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from api.db.base import utcnow
from api.db.concurrency import locked
from api.db.models import StaffUser
from api.errors import (
    ConflictError,
    FieldError,
    HuiqiError,
    InvalidTransitionError,
    NotFoundError,
    RequestInvalidError,
    field_error,
)
from api.learning.service import record_decision
from api.matching.models import ConstraintKind, PairConstraint, Pairing, PairingEvent, PairingStatus
from api.matching.schemas import PairingTransition
from api.matching.service import STATUS_LABELS
from api.validation import row_id

P = PairingStatus
# action -> (statuses it may start from, status it leads to; None keeps the status)
ACTIONS: Final[dict[str, tuple[frozenset[PairingStatus], PairingStatus | None]]] = {
    "accept": (frozenset({P.PROPOSED}), P.ACCEPTED),
    "reject": (frozenset({P.PROPOSED, P.ACCEPTED}), P.REJECTED),
    "contact": (frozenset({P.ACCEPTED, P.CONTACTED}), P.CONTACTED),
    "agreement": (frozenset({P.CONTACTED}), P.AGREEMENT),
    "close": (frozenset({P.ACCEPTED, P.CONTACTED, P.AGREEMENT}), P.CLOSED),
    "lock": (frozenset({P.PROPOSED, P.ACCEPTED, P.CONTACTED, P.AGREEMENT}), None),
    "forbid": (frozenset({P.PROPOSED, P.ACCEPTED}), P.REJECTED),
}
ACTION_LABELS: Final = {
    "accept": "接受",
    "reject": "拒绝",
    "contact": "记录对接",
    "agreement": "记录签约",
    "close": "结束",
    "lock": "锁定",
    "forbid": "禁止",
}


class VersionRequiredError(HuiqiError):
    """A change came without the version it was based on."""

    status_code = 428
    code = "version_required"
    default_detail = "请在 If-Match 请求头或 version 字段中提供最近读取的版本号"


class StaleVersionError(ConflictError):
    """The pairing changed since the client read it."""

    code = "version_conflict"


def get_pairing(session: Session, pairing_id: int) -> Pairing:
    """The pairing, or 404."""
    pairing = session.get(Pairing, pairing_id)
    if pairing is None:
        raise NotFoundError(f"配对 {pairing_id} 不存在")
    return pairing


# ``If-Match: *`` (RFC 9110, 13.1.1) matches whatever version the pairing has now.
ANY_VERSION: Final = 0


def parse_if_match(header: str | None) -> int | None:
    """The version of an If-Match header: ``"3"``, ``W/"3"``, ``3``, or ``*`` (any: ``ANY_VERSION``)."""
    if header is None:
        return None
    if header.strip() == "*":
        return ANY_VERSION
    version = row_id(header.strip().removeprefix("W/").strip('"'))
    if version is None:
        # str.isdigit alone let "²" through to int(), and numbers beyond the version column through.
        message = '版本号（If-Match）应为最近读取的 ETag，如 "3"'
        raise RequestInvalidError(errors=[FieldError("If-Match", "if_match_invalid", message)])
    return version


def transition(
    session: Session, *, pairing_id: int, change: PairingTransition, version: int | None, staff: StaffUser
) -> Pairing:
    """Apply one change if the pairing is still at ``version`` and the change is allowed."""
    expected = version if version is not None else change.version
    if expected is None:
        raise VersionRequiredError()
    # Locked: concurrent changes queue here and each compares its version with the row as it is now.
    pairing = locked(session, Pairing, pairing_id)
    if pairing is None:
        raise NotFoundError(f"配对 {pairing_id} 不存在")
    if expected != ANY_VERSION and pairing.version != expected:
        raise StaleVersionError(
            f"配对已被他人修改（当前版本 {pairing.version}，你的版本 {expected}），请刷新后重试"
        )
    sources, target = ACTIONS[change.action]
    if pairing.status not in sources:
        raise InvalidTransitionError(
            f"配对当前状态为“{STATUS_LABELS[pairing.status]}”，不能{ACTION_LABELS[change.action]}"
        )
    before = pairing.status
    data = _APPLY[change.action](session, pairing, change, staff)
    pairing.status = target or pairing.status
    pairing.updated_at = utcnow()  # also bumps the version of a change that keeps every other column
    pairing.events.append(
        PairingEvent(
            action=change.action,
            from_status=before,
            to_status=pairing.status,
            data=data or None,
            staff_id=staff.id,
            staff_name=staff.name,
        )
    )
    record_decision(session, pairing=pairing, before=before, action=change.action, staff=staff)
    try:
        session.flush()
    except StaleDataError as error:
        raise StaleVersionError("配对已被他人修改，请刷新后重试") from error
    return pairing


def _required(change: PairingTransition, *names: str) -> None:
    missing = [name for name in names if getattr(change, name) in (None, "")]
    if missing:
        raise RequestInvalidError(errors=[field_error(name, "required") for name in missing])


def _accept(
    session: Session, pairing: Pairing, change: PairingTransition, staff: StaffUser
) -> dict[str, Any]:
    return {}


def _reject(
    session: Session, pairing: Pairing, change: PairingTransition, staff: StaffUser
) -> dict[str, Any]:
    if not (change.reason or "").strip():
        raise RequestInvalidError(errors=[field_error("reason", "pairing_reason_required")])
    pairing.reject_reason = (change.reason or "").strip()
    return {"reason": pairing.reject_reason}


def _contact(
    session: Session, pairing: Pairing, change: PairingTransition, staff: StaffUser
) -> dict[str, Any]:
    _required(change, "contact_date")
    pairing.contact_date, pairing.contact_notes = change.contact_date, change.contact_notes
    return {"contact_date": str(change.contact_date), "contact_notes": change.contact_notes}


def _agreement(
    session: Session, pairing: Pairing, change: PairingTransition, staff: StaffUser
) -> dict[str, Any]:
    _required(change, "agreement_type", "agreement_amount_wan")
    pairing.agreement_type, pairing.agreement_amount_wan = change.agreement_type, change.agreement_amount_wan
    return {
        "agreement_type": str(change.agreement_type),
        "agreement_amount_wan": str(change.agreement_amount_wan),
    }


def _close(session: Session, pairing: Pairing, change: PairingTransition, staff: StaffUser) -> dict[str, Any]:
    return {"reason": change.reason} if change.reason else {}


def _constrain(
    kind: ConstraintKind,
) -> Callable[[Session, Pairing, PairingTransition, StaffUser], dict[str, Any]]:
    def apply(
        session: Session, pairing: Pairing, change: PairingTransition, staff: StaffUser
    ) -> dict[str, Any]:
        existing = session.scalar(
            select(PairConstraint).where(
                PairConstraint.demand_id == pairing.demand_id,
                PairConstraint.provider_level == pairing.provider_level,
                PairConstraint.provider_id == pairing.provider_id,
            )
        )
        if existing is None:
            existing = PairConstraint(
                demand_id=pairing.demand_id,
                provider_level=pairing.provider_level,
                provider_id=pairing.provider_id,
                kind=kind,
            )
            session.add(existing)
        existing.kind, existing.reason, existing.created_by = kind, change.reason, staff.id
        if kind == ConstraintKind.FORBID:
            pairing.reject_reason = change.reason or "工作人员禁止"
        return {"constraint": kind.value, "reason": change.reason}

    return apply


_APPLY: Final[dict[str, Callable[[Session, Pairing, PairingTransition, StaffUser], dict[str, Any]]]] = {
    "accept": _accept,
    "reject": _reject,
    "contact": _contact,
    "agreement": _agreement,
    "close": _close,
    "lock": _constrain(ConstraintKind.LOCK),
    "forbid": _constrain(ConstraintKind.FORBID),
}
