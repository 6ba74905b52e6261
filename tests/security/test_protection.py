"""Audit log, security headers, rate limits and the answer to a database outage."""

import csv
import io
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from api.security.audit import Actor, record_audit
from api.security.ratelimit import RateLimiter, Rule, TokenBucket
from api.settings import Settings
from tests.api.factories import demand_payload
from tests.security.world import World, build_world

pytestmark = pytest.mark.db


@pytest.fixture
def world(client: TestClient, db: sessionmaker[Session]) -> World:
    """The world of ``world.py``."""
    return build_world(client, db)


def _audit(client: TestClient, world: World, **params: str | int) -> list[dict[str, object]]:
    answer = client.get("/api/v1/audit", params={"page_size": 200, **params}, headers=world.headers("admin"))
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def test_staff_actions_are_audited_with_who_before_and_after(client: TestClient, world: World) -> None:
    reviewer, admin = world.headers("reviewer"), world.headers("admin")
    a = f"/api/v1/demands/{world.demand_a}"
    assert client.patch(a, json={"title": "新的标题"}, headers=reviewer).status_code == 200
    assert client.post(f"{a}/transitions", json={"to": "in_review"}, headers=reviewer).status_code == 200
    move = {"action": "contact", "version": 1, "contact_date": "2026-11-20", "contact_notes": "电话沟通"}
    assert (
        client.post(
            f"/api/v1/pairings/{world.pairing_a}/transitions", json=move, headers=reviewer
        ).status_code
        == 200
    )
    society = f"/api/v1/societies/{world.society}"
    assert client.patch(society, json={"default_capacity": 9}, headers=admin).status_code == 200
    assert client.delete(f"/api/v1/experts/{world.expert}", headers=admin).status_code == 204
    created = client.post("/api/v1/staff", json={"name": "新审核员"}, headers=admin).json()
    assert client.post(f"/api/v1/staff/{created['staff']['id']}/revoke", headers=admin).status_code == 204

    entries = {(entry["action"], entry["target_id"]): entry for entry in _audit(client, world)}
    edit = entries[("demand.update", str(world.demand_a))]
    assert edit["staff_name"] == "审核员"
    assert edit["before"]["title"] == "耐水解聚氨酯弹性体配方开发"
    assert edit["after"]["title"] == "新的标题"
    status = entries[("demand.status", str(world.demand_a))]
    assert (status["before"]["status"], status["after"]["status"]) == ("submitted", "in_review")
    pairing = entries[("pairing.status", str(world.pairing_a))]
    assert (pairing["before"]["status"], pairing["after"]["status"]) == ("accepted", "contacted")
    assert entries[("society.update", str(world.society))]["after"] == {"default_capacity": 9}
    assert entries[("expert.delete", str(world.expert))]["before"]["email"] == "expert.secret@example.org"
    assert entries[("staff.create", str(created["staff"]["id"]))]["staff_name"] == "管理员"
    token_change = next(entry for (action, _), entry in entries.items() if action == "staff_token.update")
    assert token_change["after"]["revoked_at"] is not None
    token_made = next(entry for (action, _), entry in entries.items() if action == "staff_token.create")
    assert token_made["after"]["token_hash"] == "***"  # secrets are never logged


def test_reads_and_refused_requests_leave_no_audit_entry(client: TestClient, world: World) -> None:
    client.get(f"/api/v1/demands/{world.demand_a}", headers=world.headers("reviewer"))
    client.patch(
        f"/api/v1/societies/{world.society}", json={"default_capacity": 1}, headers=world.headers("reviewer")
    )
    client.patch(
        f"/api/v1/demands/{world.demand_a}", json={"mobile": "123"}, headers=world.headers("reviewer")
    )
    assert _audit(client, world) == []


def test_audit_filters_paging_and_exports(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    for capacity in (1, 2, 3):
        client.patch(f"/api/v1/societies/{world.society}", json={"default_capacity": capacity}, headers=admin)
    client.patch(f"/api/v1/demands/{world.demand_a}", json={"title": "改"}, headers=admin)
    assert len(_audit(client, world, action="society")) == 3
    assert len(_audit(client, world, target_kind="demand", target_id=world.demand_a)) == 1
    page = client.get("/api/v1/audit", params={"page_size": 2, "page": 2}, headers=admin).json()
    assert (page["total"], len(page["items"])) == (4, 2)
    rows = list(
        csv.reader(
            io.StringIO(client.get("/api/v1/audit/export.csv", headers=admin).content.decode("utf-8-sig"))
        )
    )
    assert rows[0][:5] == ["编号", "时间（UTC）", "工作人员编号", "工作人员", "操作"]
    assert len(rows) == 5
    book = load_workbook(io.BytesIO(client.get("/api/v1/audit/export.xlsx", headers=admin).content))
    assert book.active.max_row == 5


def test_the_audit_log_refuses_update_and_delete_on_postgresql(
    engine_url_backend: str, db: sessionmaker[Session]
) -> None:
    if engine_url_backend != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's; SQLite relies on the code never updating")
    with db.begin() as session:
        record_audit(session, Actor(staff_id=None, name="测试"), "test.entry", ("test", 1), None, {"x": 1})
    for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin() as session:
            session.execute(text(statement))
    with db() as session:
        assert session.execute(text("SELECT action FROM audit_log")).scalars().all() == ["test.entry"]


@pytest.fixture
def engine_url_backend(database_url: str) -> str:
    """The backend name of the session's database."""
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


def test_security_headers_on_pages_api_and_errors(client: TestClient) -> None:
    for url in ("/login", "/api/v1/demands", "/healthz", "/no-such-page"):
        headers = client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain http: HSTS would be a lie
    assert "script-src 'self';" in client.get("/login").headers["Content-Security-Policy"]
    assert client.get("/api/v1/demands").headers["Cache-Control"] == "no-store"
    assert "cdn.jsdelivr.net" in client.get("/docs").headers["Content-Security-Policy"]


def test_hsts_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://huiqi.example") as secure:
        assert secure.get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_submissions_over_the_limit_get_429_with_retry_after(app: FastAPI, client: TestClient) -> None:
    app.state.rate_limit_rules[("POST", "/api/v1/demands")] = Rule("submit", 3, 6.0, "提交过于频繁")
    answers = [client.post("/api/v1/demands", json=demand_payload(title=f"需求{n}")) for n in range(5)]
    assert [answer.status_code for answer in answers] == [201, 201, 201, 429, 429]
    refused = answers[-1]
    assert refused.json() == {"detail": refused.json()["detail"], "code": "rate_limited", "errors": []}
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert refused.headers["X-Content-Type-Options"] == "nosniff"


def test_sign_in_attempts_are_limited(app: FastAPI, client: TestClient) -> None:
    app.state.rate_limit_rules[("POST", "/login")] = Rule("login", 2, 1.0, "登录尝试过于频繁")
    form = {"name": "x", "password": "wrong-password", "csrf_token": "t"}
    codes = [client.post("/login", data=form, headers={"Accept": "text/html"}).status_code for _ in range(3)]
    assert codes[-1] == 429
    assert 429 not in codes[:2]


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    rule = Rule("r", burst=2, per_minute=60.0, message="")
    assert [limiter.check(rule, "c") for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    assert limiter.check(rule, "other client") == 0.0
    now[0] = 1.0
    assert limiter.check(rule, "c") == 0.0
    assert TokenBucket(tokens=0.5, updated=0.0).take(rule, 0.25) == pytest.approx(0.25)
    off = Rule("off", burst=0, per_minute=0.0, message="")
    assert [limiter.check(off, "c") for _ in range(100)] == [0.0] * 100


def test_an_unreachable_database_answers_503_in_the_error_shape(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql+psycopg://huiqi:huiqi@127.0.0.1:9/nowhere?connect_timeout=2",
        data_dir=str(tmp_path),
        secret_key="k",
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for method, url in (("GET", "/api/v1/demands"), ("POST", "/api/v1/demands")):
            kwargs = {"json": demand_payload()} if method == "POST" else {}
            answer = client.request(method, url, headers={"Authorization": "Bearer hqs_x"}, **kwargs)
            assert answer.status_code == 503
            assert answer.json() == {
                "detail": "数据库暂时不可用，请稍后重试",
                "code": "database_unavailable",
                "errors": [],
            }
            assert answer.headers["Retry-After"] == "5"


def test_numbers_beyond_the_database_range_are_422_not_500(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    huge = 2**70
    for url, params in ((f"/api/v1/societies/{huge}", {}), ("/api/v1/societies", {"page": huge})):
        answer = client.get(url, params=params, headers=admin_headers)
        assert answer.status_code in (404, 422), answer.text
        assert answer.json()["code"] in ("number_out_of_range", "not_found", "validation_error")
