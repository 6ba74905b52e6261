"""The staff reports page: a round's funnel and charts, a period chosen in the form, the downloads."""

import io
import re

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.worker import work_once
from tests.api.matching_helpers import add_demands, add_societies
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


@pytest.fixture
def round_id(browser: TestClient, db: sessionmaker[Session]) -> int:
    """A round over three published demands, run by the worker."""
    add_societies(db)
    add_demands(db)
    token = csrf_of(browser.get("/rounds").text)
    path = browser.post(
        "/rounds", data={"csrf_token": token, "level": "society", "statuses": "published"}
    ).url.path
    assert work_once(db, "page-worker") is not None
    return int(path.rsplit("/", 1)[1])


def test_the_reports_page_shows_the_latest_round_with_charts_and_downloads(
    browser: TestClient, round_id: int
) -> None:
    page = browser.get("/reports")
    assert page.status_code == 200
    assert f"第 {round_id} 轮匹配报告" in page.text
    assert len(re.findall(r'<img src="data:image/png;base64,[^"]+"', page.text)) == 4
    assert re.search(r'<tr data-step="matched">.*?<td[^>]*>3</td>', page.text)
    for href in (
        f"/reports/round/{round_id}.xlsx",
        f"/reports/round/{round_id}.html",
        f"/rounds/{round_id}/export.xlsx",
    ):
        assert f'href="{href}"' in page.text
        assert browser.get(href).status_code == 200
    assert 'href="/reports" aria-current="page"' in page.text
    assert f'href="/rounds/{round_id}/export.xlsx"' in browser.get(f"/rounds/{round_id}").text


def test_a_rounds_pairings_download_as_a_workbook_per_society(browser: TestClient, round_id: int) -> None:
    response = browser.get(f"/rounds/{round_id}/export.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames[0] == "汇总"
    assert len(book.sheetnames) == 4


def test_a_period_is_chosen_in_the_form_and_a_bad_date_is_explained(
    browser: TestClient, round_id: int
) -> None:
    page = browser.get("/reports?from=2020-01-01&to=2020-12-31")
    assert page.status_code == 200
    assert "2020年01月01日至2020年12月31日工作报告" in page.text
    assert 'href="/reports/period.xlsx?from=2020-01-01&amp;to=2020-12-31"' in page.text
    assert browser.get("/reports/period.xlsx?from=2020-01-01&to=2020-12-31").status_code == 200
    bad = browser.get("/reports?from=2020-02-30&to=2020-12-31")
    assert bad.status_code == 422
    assert 'id="e-from"' in bad.text
    reversed_period = browser.get("/reports?from=2020-12-31&to=2020-01-01")
    assert reversed_period.status_code == 422
    assert "结束日期不能早于开始日期" in reversed_period.text


def test_the_reports_need_a_sign_in(client: TestClient) -> None:
    response = client.get("/reports/round/1.xlsx", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
