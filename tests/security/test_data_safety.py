"""The database itself enforces every rule the code relies on; a backup restores every row."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.db import Base, make_engine
from api.security.audit import Actor, record_audit
from tests.conftest import fresh_database
from tests.security.world import World, build_world

pytestmark = pytest.mark.db

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(client: TestClient, db: sessionmaker[Session]) -> World:
    """The world of ``world.py``."""
    return build_world(client, db)


def _violations(w: World) -> dict[str, str]:
    pairing = (
        "INSERT INTO pairings (round_id, demand_id, provider_level, provider_id, provider_name, score, rank,"
        " reasons, status, created_at, updated_at, version) VALUES ({round}, {demand}, 'society', {society},"
        " 'x', 0.1, 1, '[]', 'proposed', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
    )
    return {
        "one pairing per demand and provider in a round": pairing.format(
            round=w.round, demand=w.demand_a, society=w.society
        ),
        "pairing of a demand that does not exist": pairing.format(
            round=w.round, demand=999_999, society=w.society
        ),
        "pairing in a round that does not exist": pairing.format(
            round=999_999, demand=w.demand_b, society=w.society
        ),
        "negative society capacity": f"UPDATE societies SET default_capacity = -1 WHERE id = {w.society}",
        "negative branch capacity": f"UPDATE branches SET default_capacity = -1 WHERE id = {w.branch}",
        "negative expert capacity": f"UPDATE experts SET capacity = -1 WHERE id = {w.expert}",
        "unknown demand status": f"UPDATE demands SET status = 'approved' WHERE id = {w.demand_a}",
        "unknown pairing status": f"UPDATE pairings SET status = 'maybe' WHERE id = {w.pairing_a}",
        "unknown staff role": "UPDATE staff_users SET role = 'root'",
        "unknown provider level": f"UPDATE pairings SET provider_level = 'planet' WHERE id = {w.pairing_a}",
        "branch of a society that does not exist": (
            f"UPDATE branches SET society_id = 999999 WHERE id = {w.branch}"
        ),
        "preference of a demand that does not exist": (
            f"UPDATE demand_preferences SET demand_id = 999999 WHERE id = {w.preference}"
        ),
        "two preferences for one provider": (
            f"INSERT INTO demand_preferences (demand_id, provider_level, provider_id, kind, created_at)"
            f" VALUES ({w.demand_a}, 'society', {w.society}, 'refuse', CURRENT_TIMESTAMP)"
        ),
        "one society name": (
            f"UPDATE societies SET name = (SELECT name FROM societies WHERE id = {w.society})"
        ),
        "duplicate idempotency key": "UPDATE demands SET idempotency_key = 'same-key'",
        "duplicate staff token": "UPDATE staff_tokens SET token_hash = 'same-hash'",
        "demand without a title": f"UPDATE demands SET title = NULL WHERE id = {w.demand_a}",
        "audit entry without its author": (
            "INSERT INTO audit_log (created_at, action, target_kind) VALUES (CURRENT_TIMESTAMP, 'x', 'y')"
        ),
    }


def test_each_rule_is_refused_by_the_database(world: World, db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO branches (society_id, name, keywords, discipline_codes, nsfc_codes,"
                f" default_capacity, active, created_at, updated_at) VALUES ({world.society}, '另一分会',"
                " '[]', '[]', '[]', 1, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        session.execute(
            text(
                "INSERT INTO societies (name, level, discipline_codes, nsfc_codes, industry_codes,"
                " default_capacity, active, created_at, updated_at) VALUES ('另一学会', 'national',"
                " '[]', '[]', '[]', 1, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    accepted = []
    for rule, statement in _violations(world).items():
        try:
            with db.begin() as session:
                session.execute(text(statement))
            accepted.append(rule)
        except IntegrityError:
            pass
    assert accepted == []


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    tables = {table.name: table for table in Base.metadata.sorted_tables}
    with engine.connect() as connection:
        found = {
            name: [
                tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for name, table in tables.items()
        }
        found["alembic_version"] = [
            tuple(row) for row in connection.execute(text("SELECT * FROM alembic_version"))
        ]
    return found


def _huiqi(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"HUIQI_DATABASE_URL": url}
    command = [sys.executable, "-c", "from api.cli import app; app()", "db", *args]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )


def _fill_more(db: sessionmaker[Session], client: TestClient, world: World) -> None:
    client.patch(
        f"/api/v1/demands/{world.demand_a}", json={"title": "备份前的修改"}, headers=world.headers("admin")
    )
    with db.begin() as session:
        record_audit(
            session, Actor(None, "测试"), "test.entry", ("demand", world.demand_a), {"a": 1}, {"a": "二"}
        )


def test_backup_then_restore_finds_every_row(
    world: World,
    client: TestClient,
    db: sessionmaker[Session],
    engine: Engine,
    database_url: str,
    tmp_path: Path,
) -> None:
    _fill_more(db, client, world)
    original = _rows(engine)
    assert sum(len(rows) for rows in original.values()) >= 15
    backup = tmp_path / "huiqi.backup"
    made = _huiqi(database_url, "backup", str(backup))
    assert made.returncode == 0, made.stderr
    backend = "postgres" if database_url.startswith("postgresql") else "sqlite"
    with fresh_database(backend, tmp_path) as target_url:
        restored = _huiqi(target_url, "restore", "--yes", str(backup))
        assert restored.returncode == 0, restored.stderr
        target = make_engine(target_url)
        try:
            assert _rows(target) == original
        finally:
            target.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(database_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all")
    answer = _huiqi(database_url, "restore", "--yes", str(junk))
    assert answer.returncode != 0
    assert "既不是 SQLite 数据库也不是 pg_dump" in answer.stderr
