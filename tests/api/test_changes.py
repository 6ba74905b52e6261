"""The change stamp: unchanged while nothing is written, moved by any commit (of this process or of
another one, seen only by the database), never kept across an uncommitted write; and the match lists'
signatures it saves re-read as soon as a provider changes."""

import sqlite3
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.db.changes import change_stamp
from api.matching.index import clear_cache, signatures
from api.providers.models import Society
from tests.api.matching_helpers import add_societies

pytestmark = pytest.mark.db
Factory = sessionmaker[Session]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def _stamp(db: Factory) -> object:
    with db() as session:
        return change_stamp(session)


def _outside_write(engine: Engine, sql: str) -> None:
    """A commit SQLAlchemy does not see, as another process's would be."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database), timeout=30) as raw:
            raw.execute(sql)
        return
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as raw:
        raw.execute(sql.encode())


def test_the_stamp_stays_while_nothing_is_written(db: Factory) -> None:
    add_societies(db)
    first = _stamp(db)
    assert first is not None
    with db() as session:
        session.get(Society, 1)
    assert _stamp(db) == first


def test_a_commit_in_this_process_moves_it(db: Factory) -> None:
    ids = add_societies(db)
    before = _stamp(db)
    with db.begin() as session:
        session.execute(update(Society).where(Society.id == min(ids.values())).values(name="改名学会"))
    assert _stamp(db) != before


def test_a_commit_of_another_process_moves_it(db: Factory, engine: Engine) -> None:
    add_societies(db)
    before = _stamp(db)
    _outside_write(engine, "UPDATE societies SET default_capacity = default_capacity + 1")
    assert _stamp(db) != before


def test_no_stamp_inside_a_transaction_that_wrote_and_a_rollback_moves_it(db: Factory) -> None:
    ids = add_societies(db)
    before = _stamp(db)
    with db() as session:
        session.execute(update(Society).where(Society.id == min(ids.values())).values(name="未提交"))
        assert change_stamp(session) is None
        session.rollback()
    assert _stamp(db) != before


def test_signatures_follow_a_provider_changed_by_another_process(db: Factory, engine: Engine) -> None:
    add_societies(db)
    with db() as session:
        first = signatures(session)
    with db() as session:
        assert signatures(session) == first  # from the cache: nothing moved
    _outside_write(engine, "UPDATE societies SET updated_at = '2099-01-01 00:00:00'")
    with db() as session:
        providers, pairings = signatures(session)
    assert providers != first[0]
    assert pairings == first[1]


def test_a_transaction_whose_connection_was_lost_rolls_back_without_a_new_error(db: Factory) -> None:
    """The database went away mid-request: the rollback must not raise, or a 503 becomes a 500."""
    add_societies(db)
    before = _stamp(db)
    with db() as session:
        session.get(Society, 1)
        session.connection().invalidate()
        session.rollback()
    assert _stamp(db) != before
