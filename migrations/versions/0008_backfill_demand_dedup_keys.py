"""Demands: fill the deduplication keys of demands stored before revision 0005

Revision 0005 added ``demands.dedup_key`` empty; only demands stored afterwards got a key, so an
import did not recognise a copy of an older demand. This revision computes the missing keys the way
intake does: the key goes to the first demand (the lowest id) holding that content, and stays with a
demand that holds it already; a later copy keeps no key, like a second identical submission.

What was filled is written to the audit log (one entry, the filled ids as ranges), so the downgrade
clears exactly those keys and the log tells staff why old demands changed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 04:30:00.000000
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH: Final = 1000
FILLED: Final = "demand.dedup_backfill"
CLEARED: Final = "demand.dedup_backfill_undone"
ACTOR: Final = "数据库迁移 0008"

_demands = sa.table(
    "demands",
    sa.column("id", sa.Integer()),
    sa.column("org_name", sa.String()),
    sa.column("title", sa.String()),
    sa.column("description", sa.Text()),
    sa.column("dedup_key", sa.String()),
)
_audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("staff_id", sa.Integer()),
    sa.column("staff_name", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target_kind", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
)

# id, org_name, title, description of a demand without a key.
_Keyless = tuple[int, str, str, str]

# A frozen copy of api.imports.keys.dedup_key as it was when this revision was written: a migration
# must compute the same keys whatever the application code later becomes.
_SPACES: Final = re.compile(r"\s+")


def _frozen_key(org_name: str, title: str, description: str) -> str:
    parts = (
        _SPACES.sub("", unicodedata.normalize("NFKC", text)).casefold()
        for text in (org_name, title, description)
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def upgrade() -> None:
    """Apply this revision."""
    connection = op.get_bind()
    filled = [demand_id for batch in _keyless_batches(connection) for demand_id in _fill(connection, batch)]
    if filled:
        _log(connection, FILLED, {"revision": revision, "filled": len(filled), "ids": _ranges(filled)})


def downgrade() -> None:
    """Revert this revision: clear the keys its upgrade filled (as the audit log lists them)."""
    connection = op.get_bind()
    ids = _last_filled_ids(connection)
    cleared = [demand_id for batch in _chunks(ids, BATCH) for demand_id in _clear(connection, batch)]
    if ids:
        _log(connection, CLEARED, {"revision": revision, "cleared": len(cleared), "ids": _ranges(cleared)})


def _keyless_batches(connection: sa.Connection) -> Iterator[list[_Keyless]]:
    """Demands without a key in id order, a batch at a time (by id, as a filled row leaves the set)."""
    last = 0
    while True:
        query = (
            sa.select(_demands.c.id, _demands.c.org_name, _demands.c.title, _demands.c.description)
            .where(_demands.c.dedup_key.is_(None), _demands.c.id > last)
            .order_by(_demands.c.id)
            .limit(BATCH)
        )
        batch: list[_Keyless] = [
            (row.id, row.org_name, row.title, row.description) for row in connection.execute(query)
        ]
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _fill(connection: sa.Connection, batch: list[_Keyless]) -> list[int]:
    """Give each demand of ``batch`` its key unless a stored or earlier demand holds it; the ids filled."""
    keys = {demand_id: _frozen_key(org_name, title, text) for demand_id, org_name, title, text in batch}
    held = _held(connection, set(keys.values()))
    updates: list[dict[str, Any]] = []
    for demand_id, key in keys.items():  # in id order: the first copy keeps the key
        if key not in held:
            held.add(key)
            updates.append({"demand_id": demand_id, "key": key})
    if updates:
        statement = (
            sa.update(_demands)
            .where(_demands.c.id == sa.bindparam("demand_id"))
            .values(dedup_key=sa.bindparam("key"))
        )
        connection.execute(statement, updates)
    return [update["demand_id"] for update in updates]


def _held(connection: sa.Connection, keys: set[str]) -> set[str]:
    query = sa.select(_demands.c.dedup_key).where(_demands.c.dedup_key.in_(sorted(keys)))
    return set(connection.scalars(query))


def _clear(connection: sa.Connection, ids: list[int]) -> list[int]:
    """Clear the keys of ``ids`` that still are the ones filled (a reused id with new content is kept)."""
    query = sa.select(
        _demands.c.id, _demands.c.org_name, _demands.c.title, _demands.c.description, _demands.c.dedup_key
    ).where(_demands.c.id.in_(ids))
    rows = connection.execute(query)
    ours = [row.id for row in rows if row.dedup_key == _frozen_key(row.org_name, row.title, row.description)]
    if ours:
        connection.execute(sa.update(_demands).where(_demands.c.id.in_(ours)).values(dedup_key=None))
    return ours


def _last_filled_ids(connection: sa.Connection) -> list[int]:
    """The ids the newest upgrade filled; none when no upgrade filled any, or the last was undone."""
    query = (
        sa.select(_audit_log.c.action, _audit_log.c.after)
        .where(_audit_log.c.action.in_([FILLED, CLEARED]))
        .order_by(_audit_log.c.id.desc())
        .limit(1)
    )
    last = connection.execute(query).first()
    if last is None or last.action != FILLED:
        return []
    return [demand_id for first, end in last.after["ids"] for demand_id in range(first, end + 1)]


def _log(connection: sa.Connection, action: str, after: dict[str, Any]) -> None:
    row = {
        "created_at": datetime.now(UTC),
        "staff_id": None,
        "staff_name": ACTOR,
        "action": action,
        "target_kind": "demand",
        "target_id": None,
        "before": None,
        "after": after,
    }
    connection.execute(sa.insert(_audit_log), [row])


def _ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as ``[first, last]`` runs of consecutive ids: short, however many demands."""
    runs: list[list[int]] = []
    for demand_id in sorted(ids):
        if runs and runs[-1][1] == demand_id - 1:
            runs[-1][1] = demand_id
        else:
            runs.append([demand_id, demand_id])
    return runs


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
