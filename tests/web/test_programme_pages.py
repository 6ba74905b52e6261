"""Programme pages: campaigns (launch, dashboard, close, 补报), standing units registered from a pairing
with their activity log, and the 附件2/3 reports (存在不足, filing, downloads, reminders)."""

import io
import re
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand
from api.matching.models import MatchRound
from api.programmes.campaigns import seed_programmes
from api.programmes.models import Campaign, CampaignOverride, CampaignStatus, ReportFiling, StandingUnit
from api.programmes.periods import china_today
from api.web.quarterly_pages import latest_period
from tests.api.programme_setup import ENTERPRISE, SOCIETY_NAME, Setting, build_setting
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


@pytest.fixture
def setting(client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]) -> Setting:
    """A society with a reporting unit, a county 科协, a demand with an accepted and a proposed pairing."""
    return build_setting(client, staff_headers, db)


def _part(html: str, element_id: str, end: str = "</table>") -> str:
    """The part of a page from the element with ``element_id`` to its end tag."""
    found = re.search(rf'id="{element_id}">.*?{end}', html, re.S)
    assert found, f"no #{element_id} on the page"
    return found.group(0)


def _launch(browser: TestClient, **fields: str) -> Any:
    today = china_today()
    data = {
        "name": "2026年龙岩市企业技术需求征集",
        "code": "2026-ly",
        "programme": "cxzx",
        "organiser": "龙岩市科学技术协会",
        "opens_on": (today - timedelta(days=3)).isoformat(),
        "closes_on": (today + timedelta(days=10)).isoformat(),
        "regions": "350800，350823",
        "channels": "县（市、区）科协、市级学会",
    }
    token = csrf_of(browser.get("/campaigns").text)
    return browser.post("/campaigns", data={"csrf_token": token, **(data | fields)})


# --- campaigns -----------------------------------------------------------------------------------


def test_a_bad_launch_form_is_explained_at_each_field_and_launches_nothing(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        seed_programmes(session)
    refused = _launch(browser, name="", regions="350800, 999999")
    assert refused.status_code == 422
    assert 'id="c-name" name="name" maxlength="100" value="" aria-invalid="true"' in refused.text
    for field in ("name", "regions"):
        assert f'<p class="field-error" id="e-{field}">' in refused.text, field
    assert "999999" in refused.text  # what was typed stays in the box
    backwards = _launch(browser, closes_on="2020-01-01")
    assert backwards.status_code == 422
    assert '<p class="field-error" id="e-closes_on">' in backwards.text
    with db() as session:
        assert session.scalars(select(Campaign)).all() == []


def test_a_launched_campaign_opens_on_its_dashboard_and_a_second_one_with_its_code_is_refused(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        seed_programmes(session)
    launched = _launch(browser)
    assert launched.status_code == 200
    assert re.fullmatch(r"/campaigns/\d+", launched.url.path)
    assert "已发布" in launched.text
    assert "征集中，剩 10 天" in launched.text
    assert "县（市、区）科协、市级学会" in launched.text
    assert "2026年龙岩市企业技术需求征集" in browser.get("/campaigns").text
    again = _launch(browser, name="另一个")
    assert again.status_code == 409
    assert '<p class="field-error" id="e-code">' in again.text
    assert "已被使用" in again.text


def test_the_dashboard_counts_by_county_society_and_day_and_the_campaign_can_be_closed(
    browser: TestClient, db: sessionmaker[Session], setting: Setting
) -> None:
    _launch(browser)
    with db.begin() as session:
        campaign_id = session.scalars(select(Campaign.id)).one()
        session.execute(
            update(Demand).values(campaign_id=campaign_id, collected_by_society_id=setting.society_id)
        )
    page = browser.get(f"/campaigns/{campaign_id}")
    assert page.status_code == 200
    county = _part(page.text, "by-county")
    assert "上杭县" in county
    assert '<td class="num">1</td>' in county
    assert SOCIETY_NAME in _part(page.text, "by-society")
    assert china_today().isoformat() in page.text  # the day the demand came in
    assert '<b id="total-received">1</b>' in page.text

    closed = browser.post(f"/campaigns/{campaign_id}/close", data={"csrf_token": csrf_of(page.text)})
    assert "不再接收新的需求" in closed.text
    assert 'id="campaign-phase">已关闭' in closed.text
    assert '<b id="days-left">0</b>' in closed.text
    assert "关闭征集</button>" not in closed.text
    twice = browser.post(f"/campaigns/{campaign_id}/close", data={"csrf_token": csrf_of(page.text)})
    assert twice.status_code == 409
    with db() as session:
        assert session.get(Campaign, campaign_id).status == CampaignStatus.CLOSED  # type: ignore[union-attr]


def test_a_late_submission_override_is_recorded_and_a_bad_one_explained(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        seed_programmes(session)
    campaign_path = _launch(browser).url.path
    token = csrf_of(browser.get(campaign_path).text)
    refused = browser.post(
        f"{campaign_path}/overrides",
        data={"csrf_token": token, "org_name": ENTERPRISE, "reason": "", "valid_until": "2020-01-01"},
    )
    assert refused.status_code == 422
    assert '<p class="field-error" id="e-reason">' in refused.text
    assert f'value="{ENTERPRISE}"' in refused.text
    granted = browser.post(
        f"{campaign_path}/overrides",
        data={"csrf_token": token, "org_name": ENTERPRISE, "reason": "县科协汇总表漏报"},
    )
    assert "已登记补报" in granted.text
    assert "县科协汇总表漏报" in granted.text
    with db() as session:
        override = session.scalars(select(CampaignOverride)).one()
        assert override.staff_name == "审核员乙"
        assert override.valid_until == china_today() + timedelta(days=7)


def test_a_campaign_form_without_its_csrf_token_is_refused(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        seed_programmes(session)
    campaign_path = _launch(browser).url.path
    refused = browser.post(f"{campaign_path}/close", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert "不存在" in browser.get("/campaigns/no-such-campaign").text


# --- standing units ------------------------------------------------------------------------------


def test_a_standing_unit_is_registered_from_the_accepted_pairing_row(
    browser: TestClient, db: sessionmaker[Session], setting: Setting
) -> None:
    with db() as session:
        round_id = session.scalars(select(MatchRound.id)).one()
    pairings = browser.get(f"/rounds/{round_id}/pairings").text
    links = re.findall(r'href="/standing-units/new\?pairing=(\d+)"', pairings)
    assert links == [str(setting.pairing_id)]  # the proposed pairing has no such action
    form = browser.get(f"/standing-units/new?pairing={setting.pairing_id}")
    assert ENTERPRISE in form.text
    data = {
        "csrf_token": csrf_of(form.text),
        "pairing_id": str(setting.pairing_id),
        "kind": "society_station",
        "level": "provincial",
        "established_on": "2026-13-01",
        "lock_provider": "on",
    }
    refused = browser.post("/standing-units/from-pairing", data=data)
    assert refused.status_code == 422
    assert '<p class="field-error" id="e-established_on">' in refused.text
    assert "2026-13-01" in refused.text
    created = browser.post("/standing-units/from-pairing", data=data | {"established_on": "2026-07-08"})
    assert re.fullmatch(r"/standing-units/\d+", created.url.path)
    assert f"{SOCIETY_NAME}{ENTERPRISE}学会服务站" in created.text
    assert "建立学会服务站" in created.text  # the founding is the first entry of the activity log
    assert "是：以后各轮保留" in created.text
    assert f"{SOCIETY_NAME}{ENTERPRISE}学会服务站" in browser.get("/standing-units").text


def test_a_proposed_pairing_cannot_found_a_unit_and_says_why(
    browser: TestClient, db: sessionmaker[Session], setting: Setting
) -> None:
    form = browser.get(f"/standing-units/new?pairing={setting.proposed_pairing_id}")
    assert "尚未被接受" in form.text
    refused = browser.post(
        "/standing-units/from-pairing",
        data={
            "csrf_token": csrf_of(form.text),
            "pairing_id": str(setting.proposed_pairing_id),
            "kind": "society_station",
            "level": "provincial",
            "established_on": "2026-07-08",
        },
    )
    assert refused.status_code == 409
    assert 'class="error-summary"' in refused.text
    with db() as session:
        assert session.scalars(select(StandingUnit)).all() == []
    assert browser.get("/standing-units/new?pairing=abc").status_code == 404


def _station(browser: TestClient, setting: Setting) -> str:
    form = browser.get(f"/standing-units/new?pairing={setting.pairing_id}").text
    data = {"pairing_id": str(setting.pairing_id), "kind": "society_station", "level": "provincial"}
    created = browser.post(
        "/standing-units/from-pairing",
        data=data | {"csrf_token": csrf_of(form), "established_on": "2026-07-08"},
    )
    return created.url.path


def test_an_activity_is_added_to_the_log_and_a_bad_one_explained_at_its_fields(
    browser: TestClient, setting: Setting
) -> None:
    unit_path = _station(browser, setting)
    token = csrf_of(browser.get(unit_path).text)
    activity = {
        "csrf_token": token,
        "kind": "agreement",
        "title": "签订技术开发合同",
        "content": "围绕数控加工精度签订技术开发合同",
        "occurred_on": "2026-08-20",
        "enterprises": "1",
        "amount_wan": "80",
    }
    refused = browser.post(f"{unit_path}/activities", data=activity | {"title": "", "enterprises": "-2"})
    assert refused.status_code == 422
    for field in ("title", "enterprises"):
        assert f'<p class="field-error" id="e-{field}">' in refused.text, field
    added = browser.post(f"{unit_path}/activities", data=activity)
    assert "计入附件2" in added.text
    rows = _part(added.text, "activities")
    assert "签订技术开发合同" in rows
    assert "80.00" in rows


# --- 附件2/3 -------------------------------------------------------------------------------------


def _report_query(setting: Setting, table: int = 2) -> str:
    return f"unit={setting.society_unit}&period=2026Q3&table={table}"


def test_the_report_lists_the_rows_takes_shortcomings_is_filed_and_downloads(
    browser: TestClient, db: sessionmaker[Session], setting: Setting
) -> None:
    _station(browser, setting)  # its founding on 2026-07-08 is a 附件2 row of 2026Q3
    page = browser.get(f"/quarterly-reports?{_report_query(setting)}")
    assert page.status_code == 200
    rows = _part(page.text, "report-rows")
    assert "建立学会服务站" in rows
    assert "合计" in rows
    row_key = re.findall(r'name="row" value="(a\d+)"', page.text)[0]
    form = {
        "csrf_token": csrf_of(page.text),
        "unit": str(setting.society_unit),
        "period": "2026Q3",
        "table": "2",
    }
    too_long = browser.post(
        "/quarterly-reports/shortcomings", data=form | {"row": row_key, "text": "长" * 1001}
    )
    assert too_long.status_code == 422
    assert f'id="e-row-{row_key}"' in too_long.text
    saved = browser.post(
        "/quarterly-reports/shortcomings", data=form | {"row": row_key, "text": "企业配套资金未到位"}
    )
    assert "已保存存在不足" in saved.text
    assert "企业配套资金未到位" in saved.text
    filed = browser.post("/quarterly-reports/filings", data=form)
    assert 'id="filing-status">已报送' in filed.text
    with db() as session:
        assert session.scalars(select(ReportFiling.status)).one() == "filed"

    word = browser.get(f"/quarterly-reports/report.docx?{_report_query(setting)}")
    assert word.status_code == 200
    assert "attachment" in word.headers["content-disposition"]
    table = Document(io.BytesIO(word.content)).tables[0]
    assert [cell.text for cell in table.rows[0].cells][:2] == ["序号", "活动名称"]
    assert any(row.cells[4].text == "企业配套资金未到位" for row in table.rows)
    sheet = openpyxl.load_workbook(
        io.BytesIO(browser.get(f"/quarterly-reports/report.xlsx?{_report_query(setting)}").content)
    ).active
    assert sheet is not None
    assert sheet["A1"].value == "附件2"


def test_a_bad_report_choice_is_explained_next_to_its_box(browser: TestClient, setting: Setting) -> None:
    page = browser.get("/quarterly-reports?unit=abc&period=2026Q7&table=2")
    assert page.status_code == 422
    assert '<p class="field-error" id="e-unit">' in page.text
    assert "报告期应为季度" in page.text
    unknown = browser.get("/quarterly-reports?unit=999&period=2026Q3&table=2")
    assert unknown.status_code == 422
    assert "填报单位 999 不存在" in unknown.text
    assert browser.get("/quarterly-reports/report.docx?unit=abc").status_code == 422


def test_the_reminders_list_the_units_that_have_not_reported(browser: TestClient, setting: Setting) -> None:
    page = browser.get("/quarterly-reports").text
    due = _part(page, "due", "</section>")
    # Some report is always past due or due within 30 days; nobody has filed, so both units owe it.
    assert re.search(rf"unit={setting.county_unit}&amp;period=\d{{4}}(Q\d)?&amp;table=3", due)
    assert re.search(rf"unit={setting.society_unit}&amp;period=\d{{4}}(Q\d)?&amp;table=2", due)
    latest = latest_period(china_today())
    assert f'<option value="{latest.code}" selected>' in page  # the default report is the latest period's


def test_before_any_unit_reports_the_page_says_so_and_there_is_nothing_to_download(
    browser: TestClient,
) -> None:
    page = browser.get("/quarterly-reports")
    assert page.status_code == 200
    assert 'id="no-units"' in page.text
    assert 'id="report-rows"' not in page.text
    assert browser.get("/quarterly-reports/report.docx").status_code == 404
