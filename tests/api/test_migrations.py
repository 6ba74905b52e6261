"""Migrations are reversible and match the models, on SQLite and on PostgreSQL."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from api.db import Base, make_engine
from api.db.migrate import alembic_config, current_revision_of, downgrade, upgrade
from api.imports.keys import dedup_key
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


# --- revision 0008: keys of demands stored before revision 0005 -----------------------------------

# (id, organisation, title, description, key stored before 0008). Ids 2 and 5 are copies: 2 of 1
# (spaced and full-width), 5 of 4, whose key was stored by intake after revision 0005.
OLD_DEMANDS: list[tuple[int, str, str, str, str | None]] = [
    (1, "福建闽江机械有限公司", "焊接变形控制", "Thin plate welding distortion", None),
    (2, "福建闽江机械 有限公司", "焊接变形控制", "ＴＨＩＮ　ＰＬＡＴＥ welding distortion", None),
    (3, "厦门海沧化工有限公司", "废水除磷", "高盐废水中的总磷去除", None),
    (
        4,
        "泉州石材有限公司",
        "石粉利用",
        "石材锯泥制砖",
        dedup_key("泉州石材有限公司", "石粉利用", "石材锯泥制砖"),
    ),
    (5, "泉州石材有限公司", "石粉 利用", "石材锯泥制砖", None),
]
# Enough rows for three batches of the backfill, with a copy across batches (2600 of 1500).
FILLER = [(10 + i, f"企业{i}", f"需求{i}", f"说明{i}", None) for i in range(2500)]
LATE_COPY = (2600, "企业1490", "需求1490", "说明1490", None)
INSERT_DEMAND = text(
    "INSERT INTO demands (id, status, org_name, contact_name, title, description, region_suggested,"
    " keywords, receipt_salt, created_at, updated_at, dedup_key) VALUES (:id, 'submitted', :org, '张三',"
    " :title, :description, :suggested, :keywords, 'salt', :at, :at, :key)"
)


def _insert_old_demands(url: str, rows: list[tuple[int, str, str, str, str | None]]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                INSERT_DEMAND,
                [
                    {"id": i, "org": org, "title": title, "description": description, "key": key}
                    | {"suggested": False, "keywords": "[]", "at": "2025-03-01 08:00:00"}
                    for i, org, title, description, key in rows
                ],
            )
    finally:
        engine.dispose()


def _keys(url: str) -> dict[int, str | None]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(text("SELECT id, dedup_key FROM demands")).all())
    finally:
        engine.dispose()


def _audit_actions(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT action FROM audit_log ORDER BY id")))
    finally:
        engine.dispose()


def _expected_keys() -> dict[int, str | None]:
    expected = {
        i: dedup_key(org, title, description) for i, org, title, description, _ in OLD_DEMANDS + FILLER
    }
    # Copies keep no key: it stays with the first stored demand, as with a second identical submission.
    return expected | {2: None, 5: None, LATE_COPY[0]: None}


@pytest.mark.parametrize("backend", BACKENDS)
def test_revision_0008_fills_the_keys_of_old_demands_as_intake_would(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        upgrade(url, "0007")
        _insert_old_demands(url, OLD_DEMANDS + FILLER + [LATE_COPY])
        before = _keys(url)
        upgrade(url)
        assert _keys(url) == _expected_keys()
        downgrade(url, "0007")
        assert _keys(url) == before
        upgrade(url)
        assert _keys(url) == _expected_keys()
        assert _drift(url) == []
        assert _audit_actions(url) == [
            "demand.dedup_backfill",
            "demand.dedup_backfill_undone",
            "demand.dedup_backfill",
        ]


def test_revision_0008_downgrade_keeps_keys_stored_after_the_upgrade(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        upgrade(url, "0007")
        _insert_old_demands(url, OLD_DEMANDS[:2])
        upgrade(url)
        later = (
            7,
            "漳州食品有限公司",
            "冷链保鲜",
            "荔枝保鲜",
            dedup_key("漳州食品有限公司", "冷链保鲜", "荔枝保鲜"),
        )
        _insert_old_demands(url, [later])
        downgrade(url, "0007")
        assert _keys(url) == {1: None, 2: None, 7: later[4]}


def test_revision_0008_on_demands_that_all_have_keys_changes_nothing(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        upgrade(url, "0007")
        _insert_old_demands(url, OLD_DEMANDS[3:4])
        upgrade(url)
        downgrade(url, "0007")
        assert _keys(url) == {4: OLD_DEMANDS[3][4]}
        assert _audit_actions(url) == []
