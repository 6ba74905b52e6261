"""The one rule for changing a row that others may change at the same time.

Every state change reads the row it changes with :func:`locked` (``SELECT ... FOR UPDATE`` on
PostgreSQL), so concurrent changes of one row queue behind each other and each one checks its rules
(allowed transition, expected version) against the row as the previous change left it: the loser gets a
409, never a 500 and never a second event. SQLite needs no row lock: every transaction there begins
with ``BEGIN IMMEDIATE`` (see :mod:`api.db.session`) and so holds the database's write lock from its
first read.

A new row that must be unique cannot be locked before it exists; :func:`flush_unique` inserts it in a
savepoint and turns the unique violation of a concurrent twin into the caller's conflict error.
Whatever slips past both (a version-checked UPDATE that finds the row changed, a unique violation
elsewhere) is answered 409 by the error handler (:func:`api.errors.database_conflict`).
"""

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

T = TypeVar("T")

UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"


def locked(session: Session, model: type[T], ident: int, *, options: tuple[Any, ...] = ()) -> T | None:
    """The row ``ident`` of ``model`` read afresh and locked until the transaction ends, or None.

    ``options`` are loader options (``selectinload(...)``) applied to the locked read.
    """
    key = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    query: Select[Any] = select(model).where(key == ident).options(*options)
    row: T | None = session.scalar(query.with_for_update().execution_options(populate_existing=True))
    return row


def is_unique_violation(error: IntegrityError) -> bool:
    """Whether the database refused a duplicate of a unique key (PostgreSQL 23505, SQLite's UNIQUE)."""
    if getattr(error.orig, "sqlstate", None) == UNIQUE_VIOLATION:
        return True
    return "UNIQUE constraint failed" in str(error.orig)


def is_foreign_key_violation(error: IntegrityError) -> bool:
    """Whether the database refused a reference to a row that no longer exists."""
    if getattr(error.orig, "sqlstate", None) == FOREIGN_KEY_VIOLATION:
        return True
    return "FOREIGN KEY constraint failed" in str(error.orig)


def flush_unique(session: Session, conflict: Callable[[], Exception]) -> None:
    """Flush pending inserts in a savepoint; a unique violation raises ``conflict()`` instead.

    The pre-check of a service answers almost every duplicate; this catches the concurrent one, and
    the savepoint keeps the request's transaction usable (PostgreSQL aborts it on any error).
    """
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        raise conflict() from error
