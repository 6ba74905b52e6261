"""The inputs that still answered 500: dates (one rule for every date), long CSV cells, non-ASCII CSRF
tokens, control characters in a staff page's reason. Each reproduction runs on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.auth.passwords import set_password
from api.cli import app as cli_app
from api.db import Demand, DemandEvent, StaffRole, StaffUser
from api.settings import get_settings
from api.validation import CHINA_TIME
from tests.api.factories import demand_payload
from tests.web.conftest import PASSWORD, csrf_of, sign_in

pytestmark = pytest.mark.db

runner = CliRunner()
OUT_OF_RANGE = ["0001-01-01", "9999-12-31", "1899-12-31", "2100-01-01"]


def _code(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {item["field"]: item["code"] for item in answer.json()["errors"]}


# --- the audit log's since / until -----------------------------------------------------------------


@pytest.fixture
def audited(client: TestClient, admin_headers: dict[str, str]) -> dict[str, str]:
    """An audit log with one entry made now."""
    client.post("/api/v1/staff", json={"name": "被审计的人"}, headers=admin_headers)
    return admin_headers


def _beijing(hours: float = 0) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).astimezone(CHINA_TIME).replace(tzinfo=None)


# The entry was made now: today (Beijing) began before it; a zone-less time is Beijing time, so an hour
# ago includes it and an hour ahead does not (read as UTC, "an hour ago" would lie 7 hours ahead).
QUERIES = {
    "date since": (lambda: {"since": _beijing().date().isoformat()}, True),
    "date until": (lambda: {"until": _beijing().date().isoformat()}, False),
    "naive an hour ago": (lambda: {"since": _beijing(-1).isoformat(timespec="seconds")}, True),
    "naive in an hour": (lambda: {"since": _beijing(1).isoformat(timespec="seconds")}, False),
    "aware": (lambda: {"since": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}, True),
}


@pytest.mark.parametrize("route", ["/api/v1/audit", "/api/v1/audit/export.csv", "/api/v1/audit/export.xlsx"])
@pytest.mark.parametrize("case", list(QUERIES))
def test_audit_filters_take_dates_and_times_without_a_zone(
    client: TestClient, audited: dict[str, str], route: str, case: str
) -> None:
    """Reproduction: since=2026-01-02, until=2026-01-01 and since=2026-01-02T00:00:00 were 500s."""
    query, found = QUERIES[case]
    answer = client.get(route, params=query(), headers=audited)
    assert answer.status_code == 200, answer.text
    if route == "/api/v1/audit":
        assert (answer.json()["total"] > 0) is found
    elif route.endswith(".csv"):
        assert ("被审计的人" in answer.content.decode("utf-8-sig")) is found


@pytest.mark.parametrize("route", ["/api/v1/audit", "/api/v1/audit/export.csv", "/api/v1/audit/export.xlsx"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01"])
def test_audit_times_out_of_range_are_a_field_error(
    client: TestClient, admin_headers: dict[str, str], route: str, value: str
) -> None:
    """Reproduction: since=0001-01-01T00:00:00+14:00 was a 500 (no UTC equivalent)."""
    answer = client.get(route, params={"since": value}, headers=admin_headers)
    assert _code(answer) == {"since": "date_out_of_range"}
    assert "1900-01-01 至 2099-12-31" in answer.json()["errors"][0]["message"]
    assert "起始时间" in answer.json()["errors"][0]["message"]


# --- report dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_the_due_report_refuses_days_out_of_range(
    client: TestClient, staff_headers: dict[str, str], day: str
) -> None:
    """Reproduction: GET /api/v1/reports/due?on=9999-12-31 and on=0001-01-01 were 500s."""
    assert _code(client.get("/api/v1/reports/due", params={"on": day}, headers=staff_headers)) == {
        "on": "date_out_of_range"
    }


@pytest.mark.parametrize("route", ["/api/v1/reports/period.html", "/api/v1/reports/period.xlsx"])
@pytest.mark.parametrize(("first", "last"), [("0001-01-01", "0001-01-31"), ("9999-12-01", "9999-12-31")])
def test_period_reports_refuse_days_out_of_range(
    client: TestClient, staff_headers: dict[str, str], route: str, first: str, last: str
) -> None:
    """Reproduction: period reports at 0001-01-01 or 9999-12-31 were 500s."""
    answer = client.get(route, params={"from": first, "to": last}, headers=staff_headers)
    assert _code(answer) == {"from": "date_out_of_range", "to": "date_out_of_range"}


@pytest.mark.parametrize(("first", "last"), [("0001-01-01", "0001-01-31"), ("9999-12-01", "9999-12-31")])
def test_the_report_page_names_a_day_out_of_range(
    client: TestClient, db: sessionmaker[Session], first: str, last: str
) -> None:
    """Reproduction: the period report page at 0001-01-01 or 9999-12-31 was a 500."""
    _reviewer_with_password(db)
    sign_in(client, "页面审核员")
    page = client.get("/reports", params={"from": first, "to": last})
    assert page.status_code in {200, 422}
    assert "超出可用范围，应在 1900-01-01 至 2099-12-31 之间" in page.text


def test_the_command_line_names_a_day_out_of_range(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUIQI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        for arguments in (
            ["report", "due", "--on", "9999-12-31"],
            ["report", "period", "--from", "0001-01-01", "--to", "2026-01-01"],
        ):
            result = runner.invoke(cli_app, arguments)
            assert result.exit_code == 2, result.output
            assert "超出可用范围" in result.output
            assert "Traceback" not in result.output
    finally:
        get_settings.cache_clear()


# --- dates in bodies: campaigns, overrides, activities, demands ------------------------------------


def _campaign(**overrides: str) -> dict[str, Any]:
    body = {
        "code": "2026-dates",
        "name": "日期测试征集",
        "programme": "cxzx",
        "organiser": "福建省科学技术协会",
        "regions": ["350000"],
        "opens_on": "2026-01-01",
        "closes_on": "2026-12-31",
    }
    return body | overrides


@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_body_dates_out_of_range_are_refused(
    client: TestClient, admin_headers: dict[str, str], db: sessionmaker[Session], day: str
) -> None:
    """Reproduction: 0001-01-01 … 9999-12-31 were accepted for campaigns, overrides and activities."""
    opens = day if day < "2026" else "2026-01-01"
    answer = client.post(
        "/api/v1/campaigns", json=_campaign(opens_on=opens, closes_on=day), headers=admin_headers
    )
    assert "date_out_of_range" in _code(answer).values()
    assert _code(client.post("/api/v1/demands", json=demand_payload(deadline=day))) == {
        "deadline": "date_out_of_range"
    }
    programme = {"code": "cxzx", "name": "测试行动"}
    assert client.post("/api/v1/programmes", json=programme, headers=admin_headers).status_code == 201
    created = client.post("/api/v1/campaigns", json=_campaign(), headers=admin_headers)
    assert created.status_code == 201, created.text
    override = client.post(
        "/api/v1/campaigns/2026-dates/overrides",
        json={"org_name": "补报单位", "reason": "系统故障", "valid_until": day},
        headers=admin_headers,
    )
    assert _code(override).get("valid_until") == "date_out_of_range"
    activity = client.post(
        "/api/v1/activities",
        json={"kind": "training", "title": "培训", "content": "内容", "occurred_on": day},
        headers=admin_headers,
    )
    assert _code(activity).get("occurred_on") == "date_out_of_range"
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Demand)) == 0


# --- CSV cells over the csv module's limit ---------------------------------------------------------

LONG_CELL_CSV = ("单位名称,技术需求名称,需求描述\n甲公司," + "长" * 200_000 + ",说明\n").encode()


def test_a_csv_with_a_200000_character_cell_is_refused_by_line(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    """Reproduction: a CSV whose second row has a 200,000-character cell was a 500."""
    files = {"files": ("long.csv", LONG_CELL_CSV, "text/csv")}
    answer = client.post("/api/v1/demands/import", files=files, headers=staff_headers)
    assert answer.status_code == 422, answer.text
    messages = [item["message"] for item in answer.json()["errors"]]
    assert any("第 2 行有单元格超过 131072 个字符" in message for message in messages), messages


def test_the_import_page_names_the_long_cell(client: TestClient, db: sessionmaker[Session]) -> None:
    _reviewer_with_password(db)
    sign_in(client, "页面审核员")
    token = csrf_of(client.get("/demands/import").text)
    files = {"files": ("long.csv", LONG_CELL_CSV, "text/csv")}
    page = client.post("/demands/import", files=files, data={"csrf_token": token, "mode": "strict"})
    assert page.status_code in {200, 422}
    assert "第 2 行有单元格超过 131072 个字符" in page.text


def test_the_command_line_names_the_long_cell(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reproduction: the command line printed a class name."""
    source = tmp_path / "long.csv"
    source.write_bytes(LONG_CELL_CSV)
    monkeypatch.setenv("HUIQI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli_app, ["import", "demands", str(source)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "第 2 行有单元格超过 131072 个字符" in result.output
    assert "Error" not in result.output


# --- CSRF tokens that are not ASCII ----------------------------------------------------------------


def test_a_non_ascii_csrf_token_at_sign_in_is_refused_not_a_500(client: TestClient) -> None:
    """Reproduction: POST /login with csrf_token=%C3%A9 was a 500."""
    client.get("/login")
    answer = client.post(
        "/login",
        content="name=a&password=b&csrf_token=%C3%A9",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 403
    assert "登录表单已过期" in answer.text


def test_a_non_ascii_csrf_token_on_a_signed_in_form_is_refused_not_a_500(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    _reviewer_with_password(db)
    sign_in(client, "页面审核员")
    answer = client.post("/logout", data={"csrf_token": "é" * 43}, follow_redirects=False)
    assert answer.status_code == 403


# --- control characters in a staff page's status reason ------------------------------------------


@pytest.mark.parametrize("reason", ["缺少\x00附件", "缺少\x1b[31m附件"])
def test_a_status_reason_with_control_characters_is_refused_on_the_page(
    client: TestClient, db: sessionmaker[Session], reason: str
) -> None:
    """Reproduction: a NUL/ESC reason was a 500 on PostgreSQL and stored as-is on SQLite."""
    demand_id = client.post("/api/v1/demands", json=demand_payload()).json()["id"]
    _reviewer_with_password(db)
    sign_in(client, "页面审核员")
    url = f"/demands/{demand_id}/status"
    token = csrf_of(client.get(f"/demands/{demand_id}").text)
    assert client.post(url, data={"csrf_token": token, "to": "in_review"}).status_code == 200
    token = csrf_of(client.get(f"/demands/{demand_id}").text)
    page = client.post(url, data={"csrf_token": token, "to": "returned", "reason": reason})
    assert page.status_code in {200, 422}
    assert "不可见的控制字符" in page.text
    with db() as session:
        reasons = session.scalars(select(DemandEvent.reason).where(DemandEvent.demand_id == demand_id)).all()
        assert all(text is None or ("\x00" not in text and "\x1b" not in text) for text in reasons)
        assert session.get(Demand, demand_id).status.value == "in_review"  # type: ignore[union-attr]


def _reviewer_with_password(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        staff = StaffUser(name="页面审核员", role=StaffRole.REVIEWER)
        set_password(staff, PASSWORD)
        session.add(staff)
