"""A cheap stamp of the database's state: equal stamps mean no committed change in between.

Caches of derived data (the provider signatures behind the match lists' provider index and capacity
caches) ask for the stamp first and run their real queries only when it moved. The stamp combines:

* this process's **write generation**, bumped whenever a statement that may write runs through any
  SQLAlchemy engine of the process and again when such a transaction ends (commit or rollback);
* the backend's own view of **other connections' commits**: SQLite's ``PRAGMA data_version`` (changes
  when any other connection, of this process or another, commits) with the connection's own
  ``total_changes``; PostgreSQL's ``pg_current_snapshot()`` (changes when any write transaction of
  the cluster starts or ends).

A stamp taken inside a transaction that has written is None: what that transaction sees may still be
rolled back, so nothing derived from it may be kept. Other backends have no stamp (None): callers then
query every time, as without the cache.

The stamp is conservative: any write anywhere moves it (a demand's intake too), and a moved stamp only
costs the queries the cache saves.
"""

import itertools
import threading
import uuid
from collections.abc import Hashable
from typing import Any, Final

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

_WROTE: Final = "huiqi_wrote"
_TOKEN: Final = "huiqi_connection_token"
# Statements that never write; anything else (INSERT, UPDATE, DELETE, DDL, WITH ... INSERT) counts as
# a write, so an unknown statement errs towards a fresh query.
_READS: Final = ("SELECT", "PRAGMA", "SHOW", "EXPLAIN", "BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK")

_lock = threading.Lock()
_counter = itertools.count(1)
_generation = [0]


def write_generation() -> int:
    """This process's write generation: it grows with every write statement and every end of a
    transaction that wrote."""
    return _generation[0]


def _bump() -> None:
    with _lock:
        _generation[0] = next(_counter)


def _is_write(statement: str) -> bool:
    return not statement.lstrip(" \t\r\n(").upper().startswith(_READS)


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(
    connection: Connection, _cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool
) -> None:
    if _is_write(statement):
        connection.info[_WROTE] = True
        _bump()


@event.listens_for(Engine, "commit")
def _after_commit(connection: Connection) -> None:
    _end_transaction(connection)


@event.listens_for(Engine, "rollback")
def _after_rollback(connection: Connection) -> None:
    _end_transaction(connection)


def _end_transaction(connection: Connection) -> None:
    if connection.invalidated or connection.closed:
        # The database went away mid-transaction: its flag went with the connection (reading `info`
        # now raises and would turn the request's 503 into a 500). A bump only costs one re-read.
        _bump()
        return
    if connection.info.pop(_WROTE, False):
        _bump()


def change_stamp(session: Session) -> tuple[Hashable, ...] | None:
    """The stamp of what ``session`` sees now, or None when it cannot be had (or must not be kept).

    Parameters
    ----------
    session : Session
        A session bound to one engine.

    Returns
    -------
    tuple or None
        Equal stamps (taken on the same database) mean that no change was committed in between and
        that the session holds no uncommitted write.
    """
    connection = session.connection()
    if connection.info.get(_WROTE):
        return None
    generation = write_generation()
    backend = connection.dialect.name
    if backend == "sqlite":
        return (generation, *_sqlite_stamp(connection))
    if backend == "postgresql":
        snapshot = connection.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar()
        return (generation, str(snapshot))
    return None


def _sqlite_stamp(connection: Connection) -> tuple[Hashable, ...]:
    raw = connection.connection.dbapi_connection
    token = connection.connection.info.setdefault(_TOKEN, uuid.uuid4().hex)
    # Read on the DBAPI connection: a pragma is no statement of the application's.
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        (version,) = cursor.execute("PRAGMA data_version").fetchone()
    finally:
        cursor.close()
    return (token, int(version), int(raw.total_changes))  # type: ignore[union-attr]
