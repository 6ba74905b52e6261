"""End to end in headless Chromium on the demo data: sign in, open the demo campaign's dashboard, a
standing unit and its activity log, the latest quarter's 附件2 of a society (存在不足 entered with the
keyboard, filed), download it as Word and Excel and open both; every page also at phone width.
Screenshots go to artifacts/screenshots/."""

import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from playwright.sync_api import Browser, Page, expect

from api.programmes.periods import china_today
from api.web.quarterly_pages import latest_period
from tests.conftest import fresh_database
from tests.web.chromium import new_tab, sign_in
from tests.web.live import LiveService, live_service, prepare_database
from tests.web.test_e2e import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    """The service with the demo data on each backend (no worker: these pages start no round)."""
    workdir = tmp_path_factory.mktemp(f"live-programmes-{request.param}")
    with fresh_database(request.param, workdir) as url:
        prepare_database(url, workdir)
        with live_service(url, workdir, worker=False) as live:
            yield live


def _open_dashboard(page: Page, service: LiveService) -> str:
    page.get_by_role("link", name="征集活动", exact=True).click()
    expect(page.get_by_role("heading", name="技术需求征集活动")).to_be_visible()
    shoot(page, "campaigns-1280", service.database_url)
    page.get_by_role("link", name=re.compile("（演示）")).click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    expect(page.locator("#campaign-phase")).to_contain_text("征集中")
    assert int(page.locator("#total-received").inner_text()) >= 300  # the demo demands belong to it
    assert page.locator("#by-county tbody tr").count() >= 1
    assert page.locator("#by-day tbody tr").count() >= 1
    shoot(page, "campaign-dashboard-1280", service.database_url)
    return page.url


def _open_station(page: Page, service: LiveService) -> str:
    page.get_by_role("link", name="服务站", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("常设服务单位"))).to_be_visible()
    shoot(page, "standing-units-1280", service.database_url)
    page.locator("tbody tr a").first.click()
    expect(page.locator("#activities")).to_contain_text("建立学会服务站")
    shoot(page, "standing-unit-1280", service.database_url)
    return page.url


def _choose_report(page: Page, period: str) -> None:
    page.get_by_role("link", name="季度报告", exact=True).click()
    society = page.locator("#q-unit option", has_text="（学会）").first.get_attribute("value")
    assert society
    page.get_by_label("填报单位", exact=True).select_option(society)
    page.get_by_label("报告期", exact=True).select_option(period)
    page.get_by_label("统计表", exact=True).select_option("2")
    page.get_by_role("button", name="查看").click()
    expect(page.locator("#report-rows")).to_contain_text("签订技术开发合同")


def _enter_shortcoming_by_keyboard(page: Page) -> None:
    first_row = page.locator("#report-rows tbody tr").first
    first_row.locator("summary").focus()
    page.keyboard.press("Enter")  # opens the form
    page.keyboard.press("Tab")
    expect(first_row.locator("textarea")).to_be_focused()
    page.keyboard.type("专家驻点时间偏短")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("已保存存在不足")
    expect(page.locator("#report-rows")).to_contain_text("专家驻点时间偏短")


def _download(page: Page, link: str, target: Path) -> Path:
    with page.expect_download() as download_info:
        page.get_by_role("link", name=link).click()
    download_info.value.save_as(target)
    return target


def test_campaign_dashboard_station_and_the_latest_quarterly_report_as_word(
    chromium: Browser, service: LiveService, tmp_path: Path
) -> None:
    page = new_tab(chromium, service.base_url, "1280")
    sign_in(page)
    dashboard = _open_dashboard(page, service)
    station = _open_station(page, service)

    latest = latest_period(china_today())  # the demo logs its activities in the quarter before this one
    _choose_report(page, latest.code)
    _enter_shortcoming_by_keyboard(page)
    page.once("dialog", lambda dialog: dialog.accept())  # the filing button asks first
    page.get_by_role("button", name="报送").click()
    expect(page.locator("#filing-status")).to_have_text("已报送")
    shoot(page, "quarterly-report-1280", service.database_url)

    word = Document(str(_download(page, "下载 Word", tmp_path / "附件2.docx")))
    assert word.paragraphs[0].text == "附件2"
    assert any(paragraph.text.startswith("填报单位：") for paragraph in word.paragraphs)
    cells = [[cell.text for cell in row.cells] for row in word.tables[0].rows]
    assert cells[0] == ["序号", "活动名称", "活动内容", "主要成效（含宣传工作情况）", "存在不足"]
    assert any(row[1] == "签订技术开发合同" and "涉及金额80万元" in row[3] for row in cells)
    assert "专家驻点时间偏短" in [row[4] for row in cells]
    assert cells[-1][0] == "合计"
    sheet = openpyxl.load_workbook(_download(page, "下载 Excel", tmp_path / "附件2.xlsx")).active
    assert sheet is not None
    assert sheet["A1"].value == "附件2"
    report = page.url
    page.context.close()

    _at_phone_width(chromium, service, [dashboard, station, report])


def _at_phone_width(chromium: Browser, service: LiveService, urls: list[str]) -> None:
    page = new_tab(chromium, service.base_url, "390")
    try:
        sign_in(page)
        names = ["campaign-dashboard-phone", "standing-unit-phone", "quarterly-report-phone"]
        lists = [("/campaigns", "campaigns-phone"), ("/standing-units", "standing-units-phone")]
        for url, name in [*lists, *zip(urls, names, strict=True)]:
            page.goto(url)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{url} is {overflow}px wider than the phone screen"
            shoot(page, name, service.database_url)
    finally:
        page.context.close()
