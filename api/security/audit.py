"""The append-only audit log of staff actions: who, what, when, before and after.

Two ways in:

* :func:`record_audit` — any service may call it for an action of its own;
* a flush hook — once a request's session knows its staff member (:func:`attach_actor`, done by the
  staff authentication dependencies), every insert, update and delete of an audited table in that
  session is logged with the changed columns' old and new values. Services need no audit code for
  plain CRUD, and a new route cannot forget it.

Rows are only ever inserted; PostgreSQL refuses UPDATE and DELETE on the table by trigger.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.state import InstanceState

from api.db.base import utcnow
from api.db.models import StaffUser
from api.security.models import AuditEntry

ACTOR_KEY: Final = "huiqi_audit_actor"
REDACTED: Final = "***"

# Audited tables and the kind of target they hold; other tables (sessions, jobs, events) are not.
AUDITED_TABLES: Final[Mapping[str, str]] = {
    "demands": "demand",
    "pairings": "pairing",
    "pair_constraints": "pair_constraint",
    "demand_preferences": "demand_preference",
    "societies": "society",
    "branches": "branch",
    "experts": "expert",
    "expert_posts": "expert_post",
    "staff_users": "staff",
    "staff_tokens": "staff_token",
    "match_rounds": "round",
    "programmes": "programme",
    "campaigns": "campaign",
    "campaign_overrides": "campaign_override",
    "standing_units": "standing_unit",
    "activities": "activity",
    "reporting_units": "reporting_unit",
    "service_settings": "setting",
}
# Derived or bookkeeping columns whose change says nothing about what the person did.
IGNORED_COLUMNS: Final = frozenset(
    {"tokens", "updated_at", "version", "receipt_salt", "request_fingerprint", "dedup_key", "heartbeat_at"}
)
# Secrets: their change is logged, never their value.
SECRET_COLUMNS: Final = frozenset({"password_hash", "token_hash", "idempotency_key", "csrf_token"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts in a session: a staff member, or an operator at the command line (no id)."""

    staff_id: int | None
    name: str


CLI_ACTOR: Final = Actor(staff_id=None, name="命令行")


def attach_actor(session: Session, staff: StaffUser | Actor) -> None:
    """Make ``staff`` the author of every audited change flushed by ``session`` from now on."""
    actor = staff if isinstance(staff, Actor) else Actor(staff_id=staff.id, name=staff.name)
    session.info[ACTOR_KEY] = actor


def actor_of(session: Session) -> Actor | None:
    """The actor attached to ``session``, if any."""
    actor = session.info.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else None


def record_audit(
    session: Session,
    staff: StaffUser | Actor,
    action: str,
    target: tuple[str, int | str | None],
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Append one entry to the audit log in the session's transaction (rolled back with it)."""
    actor = staff if isinstance(staff, Actor) else Actor(staff_id=staff.id, name=staff.name)
    kind, target_id = target
    row = {
        "created_at": utcnow(),
        "staff_id": actor.staff_id,
        "staff_name": actor.name,
        "action": action,
        "target_kind": kind,
        "target_id": None if target_id is None else str(target_id),
        "before": jsonable(dict(before)) if before is not None else None,
        "after": jsonable(dict(after)) if after is not None else None,
    }
    # A Core insert on the session's connection: valid inside a flush hook, where adding ORM
    # objects is not.
    session.connection().execute(insert(AuditEntry), [row])


def jsonable(value: Any) -> Any:
    """``value`` with dates, decimals and enums turned into JSON-friendly scalars."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return value


def _shown(column: str, value: Any) -> Any:
    return REDACTED if column in SECRET_COLUMNS and value is not None else value


def _audited_columns(state: InstanceState[Any]) -> list[str]:
    return [attr.key for attr in state.mapper.column_attrs if attr.key not in IGNORED_COLUMNS]


def _snapshot(state: InstanceState[Any]) -> dict[str, Any]:
    values = state.dict
    return {key: _shown(key, values.get(key)) for key in _audited_columns(state) if key in values}


def _changes(state: InstanceState[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in _audited_columns(state):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        before[key] = _shown(key, history.deleted[0] if history.deleted else None)
        after[key] = _shown(key, history.added[0] if history.added else None)
    return before, after


def _target(state: InstanceState[Any]) -> tuple[str, int | str | None] | None:
    table = getattr(state.mapper.persist_selectable, "name", "")
    kind = AUDITED_TABLES.get(table)
    if kind is None:
        return None
    # The identity key is not set on new rows until the flush finishes; the primary key already is.
    identity = state.mapper.primary_key_from_instance(state.obj())
    return kind, (identity[0] if len(identity) == 1 else None)


def _update_action(kind: str, after: Mapping[str, Any]) -> str:
    return f"{kind}.status" if "status" in after else f"{kind}.update"


def _log_flush(session: Session, actor: Actor) -> None:
    for obj in session.new:
        state = inspect(obj)
        target = _target(state)
        if target is not None:
            record_audit(session, actor, f"{target[0]}.create", target, None, _snapshot(state))
    for obj in session.dirty:
        state = inspect(obj)
        target = _target(state)
        if target is not None and session.is_modified(obj, include_collections=False):
            before, after = _changes(state)
            if after:
                record_audit(session, actor, _update_action(target[0], after), target, before, after)
    for obj in session.deleted:
        state = inspect(obj)
        target = _target(state)
        if target is not None:
            record_audit(session, actor, f"{target[0]}.delete", target, _snapshot(state), None)


@event.listens_for(Session, "after_flush")
def _audit_after_flush(session: Session, _context: UOWTransaction) -> None:
    # After the flush the new rows have their ids; the new/dirty/deleted sets and the attribute
    # histories still describe what this flush wrote.
    actor = actor_of(session)
    if actor is not None:
        _log_flush(session, actor)
