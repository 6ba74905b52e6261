"""Bad input at every way in answers 422 in the error shape, names the field in Chinese and writes nothing.

One application per backend for the whole module (SQLite and PostgreSQL: PostgreSQL refuses NUL in
text and has 32-bit keys, SQLite stores both, so a case can pass on one and fail on the other). Each
case counts the rows of the table it aims at before and after, so a refusal that leaves a
half-written record fails too.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.auth.passwords import set_password
from api.auth.service import create_staff
from api.cli import app as cli_app
from api.db import StaffRole, StaffUser
from api.db.models import Demand
from api.main import create_app
from api.matching.models import MatchRound, Pairing, PairingEvent, ProviderLevel
from api.programmes.models import Campaign, Programme
from api.providers.models import Branch, Expert, Society
from api.settings import Settings, get_settings
from tests.api.factories import demand_payload
from tests.conftest import _empty_tables

NUL = "甲\x00乙"
ESCAPE = "甲\x1b[31m乙"
LONE_SURROGATE = "甲\ud800乙"
CSV_DEFAULT_FIELD_LIMIT = 131_072


@dataclass(frozen=True)
class Service:
    """The running service, its database and an admin's headers."""

    client: TestClient
    engine: Engine
    admin: dict[str, str]
    society: int
    branch: int
    expert: int

    def count(self, model: Any) -> int:
        """The number of rows of ``model``'s table."""
        with Session(self.engine) as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture(scope="module")
def service(database_url: str, engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The application on the session's database, emptied first, with one society, branch and expert."""
    _empty_tables(engine)
    settings = Settings(
        database_url=database_url, data_dir=str(tmp_path_factory.mktemp("bad")), secret_key="bad-inputs"
    )
    app = create_app(settings)
    app.state.rate_limit_rules.clear()
    with Session(engine) as session, session.begin():
        admin = create_staff(session, name="管理员", role=StaffRole.ADMIN)[1]
    headers = {"Authorization": f"Bearer {admin}"}
    with TestClient(app) as client:
        society = client.post("/api/v1/societies", json=_society(), headers=headers).json()["id"]
        branch_url = f"/api/v1/societies/{society}/branches"
        branch = client.post(branch_url, json={"name": "焊接分会"}, headers=headers).json()["id"]
        expert_body = {"name": "专家甲", "research_fields": "焊接"}
        expert = client.post("/api/v1/experts", json=expert_body, headers=headers).json()["id"]
        yield Service(client, engine, headers, society, branch, expert)
    app.state.engine.dispose()
    _empty_tables(engine)


def _society(**overrides: Any) -> dict[str, Any]:
    return {"name": "福建省机械工程学会", "level": "provincial", "scope": "焊接与铸造"} | overrides


def _campaign(**overrides: Any) -> dict[str, Any]:
    body = {
        "code": "2026-cxzx-bad",
        "name": "2026年技术需求征集",
        "programme": "cxzx",
        "organiser": "福建省科学技术协会",
        "regions": ["350000"],
        "opens_on": "2026-01-01",
        "closes_on": "2026-12-31",
    }
    return body | overrides


def _errors(response: Any) -> dict[str, str]:
    """``{field: code}`` of a 422 answer, after checking the error shape."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error", body
    assert all(set(item) == {"field", "code", "message"} for item in body["errors"]), body
    return {item["field"]: item["code"] for item in body["errors"]}


def _messages(response: Any) -> list[str]:
    return [item["message"] for item in response.json()["errors"]]


# (method, path template, valid body, the field to spoil, the model whose rows must not change)
TEXT_FIELDS = [
    ("POST", "/api/v1/demands", demand_payload(), "title", Demand),
    ("POST", "/api/v1/demands", demand_payload(), "description", Demand),
    ("POST", "/api/v1/demands", demand_payload(), "org_name", Demand),
    ("POST", "/api/v1/demands", demand_payload(), "company_profile", Demand),
    ("POST", "/api/v1/societies", _society(), "name", Society),
    ("POST", "/api/v1/societies", _society(), "scope", Society),
    ("PATCH", "/api/v1/societies/{society}", {}, "address", Society),
    ("POST", "/api/v1/societies/{society}/branches", {"name": "铸造分会"}, "scope", Branch),
    ("PATCH", "/api/v1/branches/{branch}", {}, "name", Branch),
    ("POST", "/api/v1/experts", {"name": "专家乙", "research_fields": "焊接"}, "research_fields", Expert),
    ("PATCH", "/api/v1/experts/{expert}", {}, "organisation", Expert),
    ("POST", "/api/v1/programmes", {"code": "bad1", "name": "测试行动"}, "description", Programme),
    ("POST", "/api/v1/campaigns", _campaign(), "organiser", Campaign),
    ("POST", "/api/v1/staff", {"name": "审核员"}, "name", StaffUser),
    ("POST", "/api/v1/rounds", {}, "industry", MatchRound),
    ("POST", "/api/v1/rounds", {}, "region", MatchRound),
]


def _url(service: Service, template: str) -> str:
    return template.format(society=service.society, branch=service.branch, expert=service.expert)


@pytest.mark.parametrize(("method", "template", "body", "field", "model"), TEXT_FIELDS)
@pytest.mark.parametrize(("spoiled", "code"), [(NUL, "control_character"), (ESCAPE, "control_character")])
def test_control_characters_are_refused_by_field_and_nothing_is_written(
    service: Service,
    method: str,
    template: str,
    body: dict[str, Any],
    field: str,
    model: Any,
    spoiled: str,
    code: str,
) -> None:
    """NUL (a 500 on PostgreSQL) and escape sequences answer 422 under the field's name; no row changes."""
    before = service.count(model)
    response = service.client.request(
        method, _url(service, template), json=body | {field: spoiled}, headers=service.admin
    )
    assert _errors(response) == {field: code}
    assert "控制字符 U+" in _messages(response)[0]
    assert service.count(model) == before


@pytest.mark.parametrize(("method", "template", "body", "field", "model"), TEXT_FIELDS[::3])
def test_lone_surrogates_are_named_for_what_they_are(
    service: Service, method: str, template: str, body: dict[str, Any], field: str, model: Any
) -> None:
    """A lone UTF-16 surrogate (valid JSON, not encodable text) gets its own code, not 'invalid'."""
    raw = json.dumps(body | {field: LONE_SURROGATE}).encode()
    headers = service.admin | {"Content-Type": "application/json"}
    before = service.count(model)
    response = service.client.request(method, _url(service, template), content=raw, headers=headers)
    assert _errors(response) == {field: "text_encoding_invalid"}
    assert "代理项" in _messages(response)[0]
    assert service.count(model) == before


def test_control_characters_in_a_list_name_the_list(service: Service) -> None:
    """Keywords are checked one by one; the list is named."""
    response = service.client.post("/api/v1/demands", json=demand_payload(keywords=["聚氨酯", "耐\x00水解"]))
    assert _errors(response) == {"keywords": "control_character"}


def test_tabs_and_line_breaks_stay(service: Service) -> None:
    """Line breaks and tabs are ordinary text in a description and are kept as sent."""
    description = "第一段：现状\r\n第二段：\t目标"
    receipt = service.client.post("/api/v1/demands", json=demand_payload(description=description)).json()
    read = service.client.get(f"/api/v1/demands/{receipt['id']}", headers=service.admin).json()
    assert read["description"] == description


def test_a_body_that_is_not_utf8_is_a_422_in_chinese(service: Service) -> None:
    """Invalid UTF-8 bytes in a JSON body: 422 body_encoding_invalid, not FastAPI's English 400."""
    raw = json.dumps(demand_payload(), ensure_ascii=False).encode().replace("耐水解".encode(), b"\xff\xfe", 1)
    before = service.count(Demand)
    headers = {"Content-Type": "application/json"}
    response = service.client.post("/api/v1/demands", content=raw, headers=headers)
    assert _errors(response) == {"body": "body_encoding_invalid"}
    assert "UTF-8" in _messages(response)[0]
    assert service.count(Demand) == before


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/demands?q={value}", "q"),
        ("/api/v1/demands?industry={value}", "industry"),
        ("/api/v1/societies?q={value}", "q"),
        ("/api/v1/experts?q={value}", "q"),
        ("/api/v1/programmes/{value}/summary", "key"),
        ("/api/v1/campaigns/{value}", "key"),
        ("/api/v1/campaigns/{value}/dashboard", "key"),
        ("/api/v1/demands/export.csv?q={value}", "q"),
        ("/api/v1/demands/export.xlsx?q={value}", "q"),
        ("/api/v1/demands/export.csv?industry={value}", "industry"),
        ("/api/v1/audit?action={value}", "action"),
        ("/api/v1/audit?target_kind={value}", "target_kind"),
        ("/api/v1/audit?target_id={value}", "target_id"),
        ("/api/v1/audit/export.csv?action={value}", "action"),
        ("/api/v1/audit/export.xlsx?target_id={value}", "target_id"),
    ],
)
def test_nul_in_a_query_or_path_parameter_is_a_422(service: Service, path: str, parameter: str) -> None:
    """A %00 in a search text or a code (a 500 on PostgreSQL) is refused under the parameter's name."""
    response = service.client.get(path.format(value="a%00b"), headers=service.admin)
    assert _errors(response) == {parameter: "control_character"}


@pytest.mark.parametrize(
    ("method", "template", "body", "field"),
    [
        ("POST", "/api/v1/demands", demand_payload(campaign_id=2**31), "campaign_id"),
        ("POST", "/api/v1/demands", demand_payload(collected_by_society_id=2**70), "collected_by_society_id"),
        (
            "POST",
            "/api/v1/demands/{demand}/preferences",
            {"provider_level": "society", "provider_id": 2**63, "kind": "prefer"},
            "provider_id",
        ),
        ("POST", "/api/v1/programmes/cxzx/tags", {"target": "round", "target_id": 2**64}, "target_id"),
        ("POST", "/api/v1/reporting-units", {"kind": "society", "society_id": 2**31}, "society_id"),
    ],
)
def test_ids_beyond_the_key_range_are_named(
    service: Service, method: str, template: str, body: dict[str, Any], field: str
) -> None:
    """An id no row can have is a field error (number_too_large), not a field-less number_out_of_range."""
    demand = service.client.post("/api/v1/demands", json=demand_payload(title="范围测试")).json()
    url = template.format(demand=demand["id"])
    response = service.client.request(method, url, json=body, headers=service.admin)
    assert _errors(response) == {field: "number_too_large"}
    assert "2147483647" in _messages(response)[0]


def test_full_width_digits_in_phones_and_postcodes_are_stored_as_ascii(service: Service) -> None:
    """Chinese input methods type １３８…: accepted, and stored in ASCII digits."""
    payload = demand_payload(
        mobile="１３８０５９１２３４５", office_phone="０５９１－８７６５４３２１", postcode="３５０００１"
    )
    receipt = service.client.post("/api/v1/demands", json=payload).json()
    read = service.client.get(f"/api/v1/demands/{receipt['id']}", headers=service.admin).json()
    stored = (read["mobile"], read["office_phone"], read["postcode"])
    assert stored == ("13805912345", "0591-87654321", "350001")


@pytest.mark.parametrize("postcode", ["٣٥٠٠٠١", "३५०००१"])
def test_other_scripts_digits_are_not_a_postcode(service: Service, postcode: str) -> None:
    """Arabic-Indic or Devanagari digits match Python's \\d but are no Chinese postcode."""
    response = service.client.post("/api/v1/demands", json=demand_payload(postcode=postcode))
    assert _errors(response) == {"postcode": "postcode_invalid"}


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script>",
        "'; DROP TABLE demands; --",
        "耐水解聚氨酯彈性體😀",
        'A & B <b>加粗</b> "引号"',
    ],
)
def test_injection_strings_emoji_and_traditional_characters_are_stored_verbatim(
    service: Service, text: str
) -> None:
    """Markup and SQL are data: stored and returned exactly as sent."""
    receipt = service.client.post("/api/v1/demands", json=demand_payload(title=text[:100])).json()
    read = service.client.get(f"/api/v1/demands/{receipt['id']}", headers=service.admin).json()
    assert read["title"] == text[:100]
    found = service.client.get("/api/v1/demands", params={"q": text[:100]}, headers=service.admin).json()
    assert receipt["id"] in [item["id"] for item in found["items"]]


@pytest.mark.parametrize("key", ["²", "３", "99999999999999999999999"])
def test_campaign_and_programme_keys_that_look_numeric_are_404(service: Service, key: str) -> None:
    """ "²" passes str.isdigit but int("²") raises (a 500); a number beyond the keys names no row."""
    for path in (f"/api/v1/campaigns/{key}", f"/api/v1/programmes/{key}/summary"):
        response = service.client.get(path, headers=service.admin)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
        assert key in response.json()["detail"] or "不存在" in response.json()["detail"]


# The command line ---------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli(service: Service, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    """The ``huiqi`` command pointed at the module's database."""
    monkeypatch.setenv("HUIQI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield service
    get_settings.cache_clear()


def _refused(arguments: list[str], exit_code: int, reason: str) -> None:
    result = runner.invoke(cli_app, arguments)
    assert result.exit_code == exit_code, result.output
    assert not isinstance(result.exception, Exception | BaseExceptionGroup) or isinstance(
        result.exception, SystemExit
    ), result.exception
    assert "Traceback" not in result.output
    assert reason in result.output, result.output


CLI_CASES = [
    (["db", "upgrade", "nonexistent"], 1, "无法迁移到版本“nonexistent”"),
    (["db", "downgrade", "zzz"], 1, "无法迁移到版本“zzz”"),
    (["staff", "create", "   "], 2, "不能为空白"),
    (["staff", "create", "甲\x1b[31m乙"], 2, "控制字符"),
    (["staff", "create", "长" * 101], 2, "最多100个字"),
    (
        [
            "campaign",
            "launch",
            "--code",
            "c1",
            "--name",
            "征集",
            "--organiser",
            "科协",
            "--closes",
            "2026-02-30",
        ],
        1,
        "“2026-02-30”不是日历上有的日期",
    ),
    (
        ["campaign", "launch", "--code", "c1", "--name", "", "--organiser", "科协", "--closes", "2026-12-31"],
        1,
        "名称不能为空白",
    ),
    (
        [
            "campaign",
            "launch",
            "--code",
            "c1",
            "--name",
            "征集",
            "--organiser",
            "科协",
            "--closes",
            "2026-12-31",
            "--opens",
            "2027-01-01",
        ],
        1,
        "截止日期不能早于开始日期",
    ),
    (["campaign", "close", "99999999999999999999999"], 1, "不存在"),
    (["campaign", "dashboard", "²"], 1, "不存在"),
    (
        ["report", "quarterly", "--unit", "1", "--period", "2026Q9", "--table", "2"],
        1,
        "报告期“2026Q9”的格式不对",
    ),
    (
        ["report", "quarterly", "--unit", "0", "--period", "2026Q3", "--table", "2"],
        1,
        "填报单位编号不能小于1",
    ),
    (["report", "due", "--on", "2026-02-30"], 2, "不是有效日期"),
    (["export", "providers", "--output", "/"], 1, "是一个目录"),
    (["export", "providers", "--output", "/nonexistent-dir/providers.csv"], 1, "所在的目录不存在"),
]


@pytest.mark.parametrize(("arguments", "exit_code", "reason"), CLI_CASES)
def test_the_command_line_refuses_bad_input_in_one_line(
    cli: Service, arguments: list[str], exit_code: int, reason: str
) -> None:
    """Non-zero exit and the reason in Chinese; never a traceback."""
    _refused(arguments, exit_code, reason)


def test_a_refused_staff_name_creates_no_account(cli: Service) -> None:
    """The blank name used to be stored as an account named ''."""
    before = cli.count(StaffUser)
    _refused(["staff", "create", " "], 2, "不能为空白")
    assert cli.count(StaffUser) == before


def test_full_width_dates_on_the_command_line_are_read(cli: Service) -> None:
    """２０２６-０１-０１ typed with a Chinese input method is the date 2026-01-01."""
    full_width = runner.invoke(cli_app, ["report", "due", "--on", "２０２６-０１-０１", "--json"])
    ascii_digits = runner.invoke(cli_app, ["report", "due", "--on", "2026-01-01", "--json"])
    assert full_width.exit_code == 0, full_width.output
    assert json.loads(full_width.output) == json.loads(ascii_digits.output)


@pytest.mark.parametrize(
    ("url", "reason"),
    [("not a database url", "不是有效的数据库地址"), ("sqlite:////nonexistent-dir/x.db", "数据库不可用")],
)
def test_a_bad_database_setting_is_one_line(url: str, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong HUIQI_DATABASE_URL is the operator's setting, reported as such."""
    monkeypatch.setenv("HUIQI_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        _refused(["db", "current"], 1, reason)
        _refused(["staff", "create", "甲"], 1, reason)
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        (f"/api/v1/demands?page={2**63}", "page"),
        (f"/api/v1/societies?page={2**63 - 1}", "page"),
        (f"/api/v1/experts?page={2**62}&page_size=100", "page"),
        (f"/api/v1/experts?society_id={2**70}", "society_id"),
        (f"/api/v1/demands/{2**31}", "demand_id"),
        (f"/api/v1/societies/{2**63}", "society_id"),
        (f"/api/v1/branches/{2**40}", "branch_id"),
        (f"/api/v1/standing-units/{2**64}", "unit_id"),
        (f"/api/v1/rounds/{2**31}", "round_id"),
        (f"/api/v1/rounds/1/pairings?demand_id={2**31}", "demand_id"),
        (f"/api/v1/pairings/{2**40}", "pairing_id"),
        (f"/api/v1/reports/round/{2**31}.html", "round_id"),
        (f"/api/v1/public/demands/{2**31}", "demand_id"),
        (f"/api/v1/audit?staff_id={2**31}", "staff_id"),
    ],
)
def test_numbers_beyond_the_database_range_are_field_errors(
    service: Service, path: str, parameter: str
) -> None:
    """Pages and ids no row can reach: the parameter is named, the same on both backends.

    They used to reach the database: a field-less number_out_of_range, or on SQLite a 404 below 2**63
    and an error above.
    """
    response = service.client.get(path, headers=service.admin)
    assert _errors(response) == {parameter: "number_too_large"}


@pytest.mark.parametrize("path", ["/api/v1/demands/0", "/api/v1/societies/-1", "/api/v1/experts/2147483647"])
def test_ids_in_range_that_name_no_row_stay_404(service: Service, path: str) -> None:
    """An unknown id is a missing resource, with a Chinese message."""
    response = service.client.get(path, headers=service.admin)
    assert response.status_code == 404, response.text
    assert "不存在" in response.json()["detail"]


@pytest.mark.parametrize(
    ("content", "code", "reason"),
    [
        (
            "name,level,scope\n学会甲,provincial,焊接\n学会乙,provincial," + "长" * 140_000 + "\n",
            "csv_invalid",
            "第3行",
        ),
        ("name,name,level\n学会甲,学会乙,provincial\n", "column_repeated", "“name”"),
        ("name,level\n学会甲,provincial\n学会乙,provincial,多出的,单元格\n", "cells_beyond_header", "第3行"),
    ],
)
def test_provider_csv_files_that_cannot_be_read_faithfully_are_refused(
    service: Service, content: str, code: str, reason: str
) -> None:
    """A cell over the csv module's limit was a 500; a repeated column or extra cells lost data silently.

    The limit is process-wide and another command raises it, so it is pinned to the default here.
    """
    before = service.count(Society)
    files = {"file": ("societies.csv", content.encode())}
    previous_limit = csv.field_size_limit(CSV_DEFAULT_FIELD_LIMIT)
    try:
        response = service.client.post(
            "/api/v1/providers/import", params={"level": "society"}, files=files, headers=service.admin
        )
    finally:
        csv.field_size_limit(previous_limit)
    assert _errors(response) == {"file": code}
    assert reason in _messages(response)[0]
    assert service.count(Society) == before


def test_provider_rows_with_control_characters_are_rejected_by_row(service: Service) -> None:
    """A NUL in a cell (a 500 on PostgreSQL) is a rejected row naming the column."""
    files = {"file": ("societies.csv", "name,level\n学会\x00甲,provincial\n".encode())}
    response = service.client.post(
        "/api/v1/providers/import", params={"level": "society"}, files=files, headers=service.admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["rows"][0]["errors"][0]["code"] == "control_character"


def test_an_unknown_branch_code_names_the_column(service: Service) -> None:
    """An expert row's unknown branch_code is reported under branch_code, not as an id of -1."""
    society_code = "FJ-BAD-01"
    service.client.patch(
        f"/api/v1/societies/{service.society}", json={"code": society_code}, headers=service.admin
    )
    content = f"name,research_fields,society_code,branch_code\n专家丙,焊接,{society_code},NO-SUCH\n"
    files = {"file": ("experts.csv", content.encode())}
    response = service.client.post(
        "/api/v1/providers/import", params={"level": "expert"}, files=files, headers=service.admin
    )
    assert response.status_code == 200, response.text
    errors = response.json()["rows"][0]["errors"]
    assert [(item["field"], item["code"]) for item in errors] == [("branch_code", "branch_not_in_society")]


def test_report_workbooks_keep_formula_like_text_as_text(service: Service) -> None:
    """An activity titled "=1+1" was written into the 附件2 workbook as a live formula."""
    unit = service.client.post(
        "/api/v1/reporting-units",
        json={"kind": "society", "society_id": service.society},
        headers=service.admin,
    ).json()["id"]
    activity = {
        "kind": "visit",
        "title": '=HYPERLINK("http://example.com","点击")',
        "content": "走访企业",
        "occurred_on": "2026-07-09",
        "reporting_unit_id": unit,
        "report_table": 2,
    }
    assert service.client.post("/api/v1/activities", json=activity, headers=service.admin).status_code == 201
    params = {"unit": unit, "period": "2026Q3", "table": 2, "format": "xlsx"}
    answer = service.client.get("/api/v1/reports/quarterly", params=params, headers=service.admin)
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == activity["title"]]
    assert cells, "the activity's title is in the workbook"
    assert {cell.data_type for cell in cells} == {"s"}


def test_a_shared_field_name_does_not_borrow_another_routes_label(service: Service) -> None:
    """The period report's ``to`` date was called 目标状态 (the demand transition's label)."""
    params = {"from": "2026-01-01", "to": "2026-02-30"}
    response = service.client.get("/api/v1/reports/period.html", params=params, headers=service.admin)
    assert _errors(response) == {"to": "date_invalid"}
    assert "目标状态" not in _messages(response)[0]


def test_an_impossible_date_time_gets_a_date_time_message(service: Service) -> None:
    """A malformed date-time used to answer the catch-all 'invalid'."""
    response = service.client.get("/api/v1/audit", params={"since": "yesterday"}, headers=service.admin)
    assert _errors(response) == {"since": "datetime_invalid"}
    assert "格式如 2025-06-30" in _messages(response)[0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2027-02-30", "“2027-02-30”不是日历上有的日期"),
        ("2027-13-01", "“2027-13-01”不是日历上有的日期"),
        ("2027/12/31", "格式如 2025-06-30"),
    ],
)
def test_a_day_the_calendar_lacks_is_named_as_such(service: Service, value: str, message: str) -> None:
    """The code stays date_invalid; the message no longer asks for a format the value already has."""
    response = service.client.post("/api/v1/demands", json=demand_payload(deadline=value))
    assert _errors(response) == {"deadline": "date_invalid"}
    assert message in _messages(response)[0]


def test_full_width_dates_in_bodies_are_read(service: Service) -> None:
    """２０２７－１２－３１ typed with a Chinese input method is stored as 2027-12-31."""
    receipt = service.client.post(
        "/api/v1/demands", json=demand_payload(deadline="２０２７－１２－３１")
    ).json()
    read = service.client.get(f"/api/v1/demands/{receipt['id']}", headers=service.admin).json()
    assert read["deadline"] == "2027-12-31"


@pytest.mark.parametrize("token", ["é".encode(), b"\xff\xfe", "hqr_回执".encode()])
@pytest.mark.parametrize("path", ["/api/v1/demands/{id}", "/api/v1/demands/{id}/preferences"])
def test_a_receipt_token_that_is_not_ascii_is_refused_not_a_500(
    service: Service, token: bytes, path: str
) -> None:
    """Non-ASCII header bytes made hmac.compare_digest raise TypeError (a 500)."""
    demand = service.client.post("/api/v1/demands", json=demand_payload(title="回执测试")).json()
    response = service.client.get(path.format(id=demand["id"]), headers={"X-Receipt-Token": token})
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("key", [b"key\x7f", "é".encode(), b"\xff", "键".encode()])
def test_an_idempotency_key_of_invisible_or_non_ascii_characters_is_refused(
    service: Service, key: bytes
) -> None:
    """The documented rule (1 to 200 visible characters) is enforced, and nothing is stored."""
    before = service.count(Demand)
    response = service.client.post("/api/v1/demands", json=demand_payload(), headers={"Idempotency-Key": key})
    assert _errors(response) == {"Idempotency-Key": "idempotency_key_invalid"}
    assert service.count(Demand) == before


def test_markup_in_a_demand_is_shown_escaped_on_the_staff_pages(service: Service) -> None:
    """Stored verbatim (above) and shown as text: no tag of the submitter reaches the page."""
    title = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    receipt = service.client.post("/api/v1/demands", json=demand_payload(title=title[:100])).json()
    with Session(service.engine) as session, session.begin():
        staff = StaffUser(name="页面审核员", role=StaffRole.REVIEWER)
        set_password(staff, "correct-horse-9")
        session.add(staff)
    with TestClient(service.client.app) as browser:
        form = browser.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token, form
        signed_in = {"name": "页面审核员", "password": "correct-horse-9", "csrf_token": token.group(1)}
        assert browser.post("/login", data=signed_in).status_code == 200
        for page in (f"/demands/{receipt['id']}", "/demands"):
            html = browser.get(page).text
            assert "<script>alert" not in html
            assert "<img src=x" not in html
            assert "&lt;script&gt;alert" in html


@pytest.mark.parametrize(
    ("path", "params", "field", "label"),
    [
        ("/api/v1/reports/period.html", {"from": "2026-01", "to": "2026-02-28"}, "from", "开始日期"),
        ("/api/v1/reports/period.xlsx", {"from": "2026-01-01", "to": "soon"}, "to", "结束日期"),
        ("/api/v1/audit", {"since": "yesterday"}, "since", "起始时间"),
        ("/api/v1/audit/export.csv", {"until": "today"}, "until", "截止时间"),
        ("/api/v1/audit", {"staff_id": "x"}, "staff_id", "工作人员编号"),
        ("/api/v1/demands/matches.xlsx", {"ids": "1", "limit": "0"}, "limit", "条数"),
    ],
)
def test_report_and_audit_parameters_are_named_in_chinese(
    service: Service, path: str, params: dict[str, str], field: str, label: str
) -> None:
    """The messages used to begin with the parameter's API name ("to应为日期…")."""
    response = service.client.get(path, params=params, headers=service.admin)
    assert list(_errors(response)) == [field]
    assert _messages(response)[0].startswith(label), _messages(response)


@pytest.mark.parametrize("ids", ["²", "1,³", str(2**31)])
def test_demand_ids_that_name_no_row_are_a_field_error(service: Service, ids: str) -> None:
    """ "²" passes str.isdigit and int("²") raised (a 500); 2**31 reached the database."""
    response = service.client.get("/api/v1/demands/matches.xlsx", params={"ids": ids}, headers=service.admin)
    assert _errors(response) == {"ids": "ids_invalid"}


@pytest.fixture
def pairing(service: Service) -> int:
    """A proposed pairing of a fresh demand with the module's society, at version 1."""
    demand = service.client.post("/api/v1/demands", json=demand_payload(title="配对测试")).json()["id"]
    with Session(service.engine) as session, session.begin():
        matching_round = MatchRound(scope={})
        session.add(matching_round)
        session.flush()
        found = Pairing(
            round_id=matching_round.id,
            demand_id=demand,
            provider_level=ProviderLevel.SOCIETY,
            provider_id=service.society,
            provider_name="福建省机械工程学会",
            score=0.5,
            rank=1,
        )
        session.add(found)
        session.flush()
        return found.id


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("reason", NUL, "control_character"),
        ("reason", ESCAPE, "control_character"),
        ("reason", "   ", "pairing_reason_required"),
        ("version", 2**31, "number_too_large"),
    ],
)
def test_a_pairing_transition_with_bad_text_changes_nothing(
    service: Service, pairing: int, field: str, value: Any, code: str
) -> None:
    """A NUL in a rejection reason was a 500 on PostgreSQL; the pairing and its history stay as they were."""
    before = service.count(PairingEvent)
    body = {"action": "reject", "version": 1, "reason": "不对口"} | {field: value}
    response = service.client.post(
        f"/api/v1/pairings/{pairing}/transitions", json=body, headers=service.admin
    )
    assert _errors(response) == {field: code}
    assert service.count(PairingEvent) == before
    read = service.client.get(f"/api/v1/pairings/{pairing}", headers=service.admin).json()
    assert (read["status"], read["version"]) == ("proposed", 1)


@pytest.mark.parametrize("header", ["abc", '"²"', 'W/"0"', f'"{2**31}"', '"1.0"'])
def test_a_malformed_if_match_header_has_its_own_code(service: Service, pairing: int, header: str) -> None:
    """It answered the catch-all 'invalid' (and "²" a 500): now if_match_invalid, in Chinese."""
    response = service.client.post(
        f"/api/v1/pairings/{pairing}/transitions",
        json={"action": "accept"},
        headers=service.admin | {"If-Match": header.encode()},
    )
    assert _errors(response) == {"If-Match": "if_match_invalid"}
    assert "ETag" in _messages(response)[0]


@pytest.mark.parametrize(
    ("scope", "field", "code"),
    [
        ({"demand_ids": [2**31]}, "demand_ids[0]", "number_too_large"),
        ({"capacities": {"1": -1}}, "capacities.1", "number_too_small"),
        ({"capacities": {str(2**40): 1}}, f"capacities.{2**40}", "number_too_large"),
        ({"wanted_per_demand": {"1": 11}}, "wanted_per_demand.1", "number_too_large"),
        ({"locked": [{"demand_id": 1, "provider_id": 2**31}]}, "locked[0].provider_id", "number_too_large"),
        ({"level": "society", "industry": " C35 ", "colour": "red"}, "colour", "unknown_field"),
        # Depth weights the solver refuses used to be queued, and the round failed in the worker.
        ({"depth_discount": [1.0, -0.5]}, "depth_discount[1]", "number_too_small"),
        ({"depth_discount": [0.5, 1.0]}, "depth_discount", "depth_discount_rising"),
        ({"depth_discount": [1.0] * 11}, "depth_discount", "too_many"),
    ],
)
def test_a_round_scope_out_of_range_is_refused_before_it_is_queued(
    service: Service, scope: dict[str, Any], field: str, code: str
) -> None:
    """Negative capacities were the catch-all 'invalid'; ids beyond the keys reached the worker."""
    before = service.count(MatchRound)
    response = service.client.post("/api/v1/rounds", json=scope, headers=service.admin)
    assert _errors(response) == {field: code}
    assert service.count(MatchRound) == before


def test_an_optional_body_names_its_fields_by_their_labels(service: Service) -> None:
    """The round's body is optional (``RoundScope | None``): its titles used to be lost to the union."""
    scope = {"depth_discount": [0.5, 1.0], "capacities": {"1": -1}}
    response = service.client.post("/api/v1/rounds", json=scope, headers=service.admin)
    messages = sorted(_messages(response))
    assert messages[0].startswith("对接顺位权重")
    assert messages[1].startswith("本轮容量")


@pytest.mark.parametrize("weight", ["NaN", "Infinity", "-Infinity"])
def test_a_depth_weight_that_is_not_a_number_is_refused(service: Service, weight: str) -> None:
    """Python's JSON reader accepts NaN and Infinity; the solver does not, so they stop at the door."""
    before = service.count(MatchRound)
    body = '{"depth_discount": [1.0, ' + weight + "]}"
    headers = service.admin | {"Content-Type": "application/json"}
    response = service.client.post("/api/v1/rounds", content=body.encode(), headers=headers)
    assert _errors(response) == {"depth_discount[1]": "number_invalid"}
    assert service.count(MatchRound) == before


@pytest.mark.parametrize("name", ["  ", "长" * 101])
def test_a_refused_staff_account_is_not_created(service: Service, name: str) -> None:
    """Blank and over-long names are named under 姓名; no account appears."""
    before = service.count(StaffUser)
    response = service.client.post("/api/v1/staff", json={"name": name}, headers=service.admin)
    assert list(_errors(response)) == ["name"]
    assert _messages(response)[0].startswith("姓名")
    assert service.count(StaffUser) == before
