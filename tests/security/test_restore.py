"""``huiqi db restore`` checks a backup before it replaces anything and keeps the previous database."""

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine
from api.db.migrate import upgrade
from tests.conftest import fresh_database
from tests.security.test_data_safety import _huiqi, _rows
from tests.security.world import World, build_world

pytestmark = pytest.mark.db


@pytest.fixture
def world(client: TestClient, db: sessionmaker[Session]) -> World:
    """The small world of demands, staff, providers and pairings."""
    return build_world(client, db)


def _corrupt(backup: Path) -> None:
    """Overwrite everything past the first 4 KiB (past the header) with garbage, as a bad disk would."""
    data = bytearray(backup.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)
    backup.write_bytes(bytes(data))


def _backend(url: str) -> str:
    return "postgres" if url.startswith("postgresql") else "sqlite"


def test_a_corrupt_backup_is_refused_and_the_database_is_untouched(
    world: World, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """Reproduction: a corrupt SQLite backup was installed, then failed integrity_check."""
    backup = tmp_path / "huiqi.backup"
    assert _huiqi(database_url, "backup", str(backup)).returncode == 0
    _corrupt(backup)
    with fresh_database(_backend(database_url), tmp_path) as target_url:
        upgrade(target_url)
        target = make_engine(target_url)
        try:
            before = _rows(target)
            answer = _huiqi(target_url, "restore", "--yes", str(backup))
            assert answer.returncode != 0, answer.stdout
            assert "Traceback" not in answer.stderr
            if _backend(database_url) == "sqlite":
                assert "完整性检查" in answer.stderr or "已损坏" in answer.stderr, answer.stderr
                assert "数据库未被改动" in answer.stderr
            assert _rows(target) == before
        finally:
            target.dispose()


def test_a_sqlite_restore_keeps_the_previous_database(
    world: World, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    if _backend(database_url) != "sqlite":
        pytest.skip("PostgreSQL restores in one transaction; there is no previous file to keep")
    backup = tmp_path / "huiqi.backup"
    assert _huiqi(database_url, "backup", str(backup)).returncode == 0
    original = _rows(engine)
    with fresh_database("sqlite", tmp_path) as target_url:
        upgrade(target_url)
        target = make_engine(target_url)
        empty = _rows(target)
        target.dispose()
        answer = _huiqi(target_url, "restore", "--yes", str(backup))
        assert answer.returncode == 0, answer.stderr
        kept = [line.split(" as ", 1)[1] for line in answer.stdout.splitlines() if "kept as" in line]
        assert len(kept) == 1, answer.stdout
        previous = make_engine(f"sqlite:///{kept[0]}")
        restored = make_engine(target_url)
        try:
            assert _rows(previous) == empty
            assert _rows(restored) == original
        finally:
            previous.dispose()
            restored.dispose()


def test_a_sqlite_file_that_is_not_a_huiqi_database_is_refused(database_url: str, tmp_path: Path) -> None:
    if _backend(database_url) != "sqlite":
        pytest.skip("a SQLite file is refused on PostgreSQL by its kind already")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    connection.close()
    with fresh_database("sqlite", tmp_path) as target_url:
        upgrade(target_url)
        answer = _huiqi(target_url, "restore", "--yes", str(other))
    assert answer.returncode != 0
    assert "不是会企的数据库备份" in answer.stderr
