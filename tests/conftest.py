"""Shared fixtures. Database tests run once on SQLite and once on PostgreSQL.

PostgreSQL comes from ``HUIQI_TEST_POSTGRES_URL`` (set by ``bash .ci/test``); each test session works
in a database of its own, created and migrated here and dropped afterwards. Each test starts from
empty tables.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import api.models  # noqa: F401  (every domain's tables on Base.metadata)
from api.auth.service import create_staff
from api.db import Base, StaffRole, make_engine, make_session_factory
from api.db.migrate import upgrade
from api.main import create_app
from api.settings import Settings

POSTGRES_ENV = "HUIQI_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


@contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[str]:
    """The URL of a new, empty database on ``backend``, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'huiqi-{uuid.uuid4().hex[:8]}.db'}"
        return
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests need it (`bash .ci/test` sets it)")
    name = f"huiqi_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to the newest revision, for the whole session, on each backend."""
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The engine of the session's database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _empty_tables(engine: Engine) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def db(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on empty tables (emptied again after the test)."""
    _empty_tables(engine)
    yield make_session_factory(engine)
    _empty_tables(engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at the test database, with a fixed signing key."""
    return Settings(database_url=database_url, data_dir=str(tmp_path), secret_key="test-signing-key")


@pytest.fixture
def app(settings: Settings, db: sessionmaker[Session]) -> Iterator[FastAPI]:
    """The application on the test database."""
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client of the application."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def staff_token(db: sessionmaker[Session]) -> str:
    """A valid bearer token of a reviewer."""
    with db.begin() as session:
        return create_staff(session, name="审核员甲", role=StaffRole.REVIEWER)[1]


@pytest.fixture
def admin_headers(db: sessionmaker[Session]) -> dict[str, str]:
    """Authorization headers of an admin (who alone manages providers and staff)."""
    with db.begin() as session:
        return {"Authorization": f"Bearer {create_staff(session, name='管理员甲', role=StaffRole.ADMIN)[1]}"}


@pytest.fixture
def staff_headers(staff_token: str) -> dict[str, str]:
    """Authorization headers of a reviewer."""
    return {"Authorization": f"Bearer {staff_token}"}
