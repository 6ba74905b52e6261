"""Health, API description, error shapes outside the demand routes, and the demo data."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import Demand
from api.demo import DEMO_STEPS, DemoContext, DemoStep, register_demo_step, run_demo_steps

pytestmark = pytest.mark.db


def test_healthz_checks_the_database(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_the_api_is_described_at_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/demands", "/api/v1/demands/{demand_id}", "/healthz"} <= set(paths)


def test_unknown_routes_and_methods_get_the_error_shape(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong = client.delete("/api/v1/demands")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")
    assert set(wrong.json()) == {"detail", "code", "errors"}


def _demand_count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Demand)) or 0


def test_demo_demands_load_once(db: sessionmaker[Session]) -> None:
    reports: list[str] = []
    context = DemoContext(secret=b"k", report=reports.append)
    with db.begin() as session:
        first = run_demo_steps(session, context)
    with db.begin() as session:
        second = run_demo_steps(session, context)
    assert first["demands"] == _demand_count(db) > 0
    assert second["demands"] == 0
    # Every shipped demo demand passes intake validation (steps may report what they loaded).
    assert not [line for line in reports if "skipped" in line]


def test_demo_steps_are_extensible(db: sessionmaker[Session]) -> None:
    calls: list[str] = []
    step = register_demo_step(DemoStep("probe", lambda _session, _context: calls.append("ran") or 1))
    try:
        with db.begin() as session:
            added = run_demo_steps(session, DemoContext(secret=b"k", report=print))
        assert (added["probe"], calls) == (1, ["ran"])
    finally:
        DEMO_STEPS.remove(step)
