"""Exports and reports on SQLite and PostgreSQL: a round run by the worker, pairings moved along their
lifecycle, then the funnel, the sheets per society, the XLSX read back, the charts decoded, the CLI."""

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.db.models import DemandStatus
from api.programmes.periods import china_today
from api.settings import get_settings
from api.worker import work_once
from tests.api.matching_helpers import DEMANDS, add_demands, add_societies

pytestmark = pytest.mark.db

Factory = sessionmaker[Session]
Headers = dict[str, str]
UNMATCHABLE = ("量子引力实验", "弦论与圈量子引力的检验方案")
STEP_ROW = re.compile(
    r'<tr data-step="(\w+)"><th[^>]*>[^<]*</th><td[^>]*>(\d+)</td><td[^>]*>(\d*)</td><td[^>]*>([\d,.]*)</td>'
)


@pytest.fixture
def reviewed(client: TestClient, staff_headers: Headers, db: Factory) -> dict[str, Any]:
    """Three societies, four published demands (one matches nobody) and one submitted; a round run by the
    worker; then its pairings: one signed (35.5 万元), one contacted, one rejected."""
    societies = add_societies(db)
    demand_ids = add_demands(db, [*DEMANDS, UNMATCHABLE])
    [submitted] = add_demands(db, [("尚未审核的需求", "聚氨酯弹性体")], status=DemandStatus.SUBMITTED)
    created = client.post("/api/v1/rounds", json={}, headers=staff_headers).json()
    assert work_once(db, "report-worker") is not None
    round_id = created["id"]
    items = client.get(f"/api/v1/rounds/{round_id}/pairings", headers=staff_headers).json()["items"]
    by_demand = {item["demand_id"]: item for item in items}
    signed, contacted, rejected = (by_demand[d] for d in demand_ids[:3])
    signed = _move(client, staff_headers, signed, action="accept")
    signed = _move(client, staff_headers, signed, action="contact", contact_date="2026-07-01")
    _move(
        client,
        staff_headers,
        signed,
        action="agreement",
        agreement_type="技术开发",
        agreement_amount_wan="35.5",
    )
    contacted = _move(client, staff_headers, contacted, action="accept")
    _move(
        client,
        staff_headers,
        contacted,
        action="contact",
        contact_date="2026-07-02",
        contact_notes="现场对接",
    )
    _move(client, staff_headers, rejected, action="reject", reason="方向不符")
    return {"round_id": round_id, "demand_ids": demand_ids, "submitted": submitted, "societies": societies}


def _move(client: TestClient, headers: Headers, pairing: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/pairings/{pairing['id']}/transitions",
        json=body,
        headers={**headers, "If-Match": f'"{pairing["version"]}"'},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _funnel(html: str) -> dict[str, tuple[int, str, str]]:
    return {key: (int(n), pairs, amount) for key, n, pairs, amount in STEP_ROW.findall(html)}


def _workbook(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def test_the_round_report_counts_each_step_of_the_funnel(
    client: TestClient, staff_headers: Headers, reviewed: dict[str, Any]
) -> None:
    response = client.get(f"/api/v1/reports/round/{reviewed['round_id']}.html", headers=staff_headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    funnel = _funnel(response.text)
    assert funnel == {
        "collected": (4, "", ""),
        "published": (4, "", ""),
        "matched": (3, "3", ""),
        "accepted": (2, "2", ""),
        "contacted": (2, "2", ""),
        "signed": (1, "1", "35.50"),
    }
    assert "推荐的服务方均已被拒绝" in response.text  # the rejected pairing's demand is a gap
    assert "没有相似度达到阈值的服务方" in response.text  # so is the demand nobody matches
    images = re.findall(
        r'<img src="data:image/png;base64,([^"]+)" alt="[^"]+" data-chart="(\w+)"', response.text
    )
    assert {name for _, name in images} == {"funnel", "load", "stages", "gaps"}


def test_reports_need_a_staff_token_and_an_existing_round(client: TestClient, staff_headers: Headers) -> None:
    for path in (
        "/api/v1/reports/round/1.html",
        "/api/v1/reports/round/1.xlsx",
        "/api/v1/rounds/1/pairings.xlsx",
    ):
        assert client.get(path).status_code == 401
    assert client.get("/api/v1/reports/period.html?from=2026-01-01&to=2026-03-31").status_code == 401
    assert client.get("/api/v1/demands/matches.xlsx?ids=1").status_code == 401
    missing = client.get("/api/v1/reports/round/999.xlsx", headers=staff_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_the_round_report_workbook_holds_the_funnel_the_load_and_decodable_charts(
    client: TestClient, staff_headers: Headers, reviewed: dict[str, Any]
) -> None:
    response = client.get(f"/api/v1/reports/round/{reviewed['round_id']}.xlsx", headers=staff_headers)
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    book = _workbook(response.content)
    assert book.sheetnames[:2] == ["概览", "服务方负荷"]
    overview = book["概览"]
    rows = {
        row[0]: row[1:4] for row in overview.iter_rows(min_row=6, max_row=11, max_col=4, values_only=True)
    }
    assert rows["征集"][0] == 4
    assert rows["匹配"] == (3, 3, None)
    assert rows["签约"] == (1, 1, 35.5)
    charts = overview._images
    assert len(charts) == 4
    for chart in charts:
        picture = Image.open(io.BytesIO(chart._data()))
        assert picture.format == "PNG"
        assert picture.size[0] > 400
    load = {row[2]: row[3:7] for row in book["服务方负荷"].iter_rows(min_row=2, values_only=True)}
    assert set(load) == set(reviewed["societies"])
    assert all(capacity == 5 for capacity, *_ in load.values())
    assert sum(live for _, live, _, _ in load.values()) == 2  # three pairings, one rejected
    assert sum(rejected for *_, rejected in load.values()) == 1
    # 负荷率 is a ratio shown as a percentage (1 reads 100%), like the page's column.
    sheet = book["服务方负荷"]
    assert sheet.cell(row=1, column=8).value == "负荷率"
    ratios = [row[0] for row in sheet.iter_rows(min_row=2, min_col=8, max_col=8) if row[0].value is not None]
    assert ratios
    assert all(cell.number_format == "0%" for cell in ratios)
    assert all(0 <= cell.value <= 1 for cell in ratios)


def test_the_pairings_workbook_has_a_summary_and_a_sheet_per_society(
    client: TestClient, staff_headers: Headers, reviewed: dict[str, Any]
) -> None:
    response = client.get(f"/api/v1/rounds/{reviewed['round_id']}/pairings.xlsx", headers=staff_headers)
    assert response.status_code == 200
    book = _workbook(response.content)
    assert book.sheetnames[0] == "汇总"
    assert set(book.sheetnames[1:]) == set(reviewed["societies"])
    summary = list(book["汇总"].iter_rows(min_row=2, values_only=True))
    assert sorted(count for *_, count in summary) == [1, 1, 1]
    statuses = {}
    for name in book.sheetnames[1:]:
        header, *rows = book[name].iter_rows(values_only=True)
        assert header[:4] == ("轮次", "配对编号", "需求编号", "技术需求名称")
        assert all(row[8] == name for row in rows)  # 所属学会
        statuses.update({row[2]: (row[12], row[17]) for row in rows})
    first, second, third = reviewed["demand_ids"][:3]
    assert statuses == {first: ("已签约", 35.5), second: ("已对接", None), third: ("已拒绝", None)}


def test_match_lists_of_demands_follow_the_matching_service_ranking(
    client: TestClient, staff_headers: Headers, reviewed: dict[str, Any]
) -> None:
    ids = reviewed["demand_ids"][:2]
    response = client.get(
        f"/api/v1/demands/matches.xlsx?ids={ids[0]},{ids[1]}&limit=3", headers=staff_headers
    )
    assert response.status_code == 200, response.text
    book = _workbook(response.content)
    exported = {}
    for name in book.sheetnames[1:]:
        _, *rows = book[name].iter_rows(values_only=True)
        exported.update({(row[0], row[3]): (row[5], row[7]) for row in rows})
    for demand_id in ids:
        listed = client.get(f"/api/v1/demands/{demand_id}/matches?limit=3", headers=staff_headers).json()
        for item in listed["items"]:
            provider_id, society = exported[(demand_id, item["rank"])]
            assert (provider_id, society) == (item["provider_id"], item["provider_name"])
    assert len(exported) == sum(
        len(client.get(f"/api/v1/demands/{d}/matches?limit=3", headers=staff_headers).json()["items"])
        for d in ids
    )


@pytest.mark.parametrize("ids", ["", "1,x", "0", ",".join(str(i) for i in range(1, 202))])
def test_a_bad_list_of_demand_ids_is_a_field_error(
    client: TestClient, staff_headers: Headers, ids: str
) -> None:
    response = client.get(f"/api/v1/demands/matches.xlsx?ids={ids}", headers=staff_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ids"


def test_the_period_report_follows_the_demands_collected_in_it(
    client: TestClient, staff_headers: Headers, reviewed: dict[str, Any]
) -> None:
    today = china_today()
    query = f"from={today - timedelta(days=7)}&to={today}"
    response = client.get(f"/api/v1/reports/period.html?{query}", headers=staff_headers)
    assert response.status_code == 200
    funnel = _funnel(response.text)
    assert funnel["collected"][0] == 5  # the submitted demand too
    assert funnel["published"][0] == 4
    assert funnel["signed"] == (1, "1", "35.50")
    assert "尚未进入匹配轮次" in response.text  # the submitted demand was in no round
    book = _workbook(client.get(f"/api/v1/reports/period.xlsx?{query}", headers=staff_headers).content)
    assert [row[1] for row in book["概览"].iter_rows(min_row=6, max_row=11, values_only=True)] == [
        5,
        4,
        3,
        2,
        2,
        1,
    ]
    earlier = client.get("/api/v1/reports/period.html?from=2020-01-01&to=2020-03-31", headers=staff_headers)
    assert _funnel(earlier.text)["collected"] == (0, "", "")


def test_a_reversed_period_is_refused_with_the_field(client: TestClient, staff_headers: Headers) -> None:
    response = client.get("/api/v1/reports/period.xlsx?from=2026-09-30&to=2026-07-01", headers=staff_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "to",
        "code": "period_reversed",
        "message": "结束日期不能早于开始日期",
    }
    malformed = client.get("/api/v1/reports/period.html?from=2026-13-01&to=2026-12-31", headers=staff_headers)
    assert malformed.status_code == 422


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command line pointed at the test database."""
    monkeypatch.setenv("HUIQI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_huiqi_report_writes_round_and_period_files(
    reviewed: dict[str, Any], cli_database: None, tmp_path: Path
) -> None:
    runner = CliRunner()
    target = tmp_path / "round.xlsx"
    result = runner.invoke(
        cli_app, ["report", "round", str(reviewed["round_id"]), "--format", "xlsx", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "签约 1" in result.output
    assert _workbook(target.read_bytes())["概览"]["B11"].value == 1
    today = china_today().isoformat()
    page = tmp_path / "period.html"
    result = runner.invoke(cli_app, ["report", "period", "--from", today, "--to", today, "--out", str(page)])
    assert result.exit_code == 0, result.output
    assert _funnel(page.read_text(encoding="utf-8"))["collected"][0] == 5
    missing = runner.invoke(cli_app, ["report", "round", "999", "--out", str(tmp_path / "x.html")])
    assert missing.exit_code == 1
    assert "匹配轮次 999 不存在" in missing.output


def test_amounts_add_up_over_the_signed_pairings(reviewed: dict[str, Any], db: Factory) -> None:
    from api.reports.service import round_report

    with db() as session:
        report = round_report(session, reviewed["round_id"], with_charts=False)
    assert report.funnel[-1].amount_wan == Decimal("35.50")
    assert report.charts == {}
