"""Migrations are reversible and match the models, on SQLite and on PostgreSQL."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from api.db import Base, make_engine
from api.db.migrate import alembic_config, current_revision_of, downgrade, upgrade
from tests.conftest import BACKENDS, fresh_database

pytestmark = pytest.mark.db


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _drift(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_downgrade_upgrade_round_trip_without_drift(backend: str, tmp_path: Path) -> None:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        assert current_revision_of(url) == head
        assert _tables(url) == set(Base.metadata.tables)
        downgrade(url, "base")
        assert current_revision_of(url) is None
        assert _tables(url) == set()
        upgrade(url)
        assert current_revision_of(url) == head
        assert _drift(url) == []


def test_every_revision_steps_down_and_up_again(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    revisions = [revision.revision for revision in script.walk_revisions()]
    with fresh_database("sqlite", tmp_path) as url:
        upgrade(url)
        for _ in revisions:
            downgrade(url)
        assert current_revision_of(url) is None
        for revision in reversed(revisions):
            upgrade(url, revision)
            assert current_revision_of(url) == revision
