"""End to end in a real headless Chromium against a real server, worker and database with the demo data:
sign in, import a file with a bad row, open a demand and its reasons, run a round and watch it finish,
accept a pairing, export, sign out. Screenshots of the main pages go to artifacts/screenshots/."""

import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import fresh_database
from tests.web.chromium import new_tab, sign_in
from tests.web.live import LiveService, live_service, prepare_database

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ROUND_TIMEOUT_MS = 120_000
BAD_CAMPAIGN = (
    "单位名称,联系人,手机,技术需求名称,具体的技术需求说明\n"
    "福州闽江精工机械有限公司,王工,13805910001,数控机床主轴热变形补偿,"
    "主轴连续运行4小时后热伸长达30微米，需要建立温度-位移补偿模型，把加工误差控制在5微米以内。\n"
    "厦门鹭岛食品有限公司,李工,1380591000,荔枝冷链保鲜技术,"
    "荔枝采后48小时褐变严重，希望把常温货架期延长到7天。\n"
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    """The service with the demo data on each backend, with its own worker."""
    workdir = tmp_path_factory.mktemp(f"live-{request.param}")
    with fresh_database(request.param, workdir) as url:
        prepare_database(url, workdir)
        with live_service(url, workdir) as live:
            yield live


@pytest.fixture
def page(chromium: Browser, service: LiveService) -> Iterator[Page]:
    """A fresh browser tab (no cookies) at desktop width."""
    tab = new_tab(chromium, service.base_url)
    yield tab
    tab.context.close()


def shoot(page: Page, name: str, backend_url: str) -> None:
    """Save a full-page screenshot (of the SQLite run; the PostgreSQL run shows the same pages)."""
    if backend_url.startswith("sqlite"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_staff_member_works_through_a_campaign(page: Page, service: LiveService, tmp_path: Path) -> None:
    sign_in(page)
    shoot(page, "demands-1280", service.database_url)

    # Import a campaign with a bad row: strict mode refuses it and says which row and why.
    campaign = tmp_path / "汇总表.csv"
    campaign.write_text(BAD_CAMPAIGN, encoding="utf-8")
    page.get_by_role("link", name="批量导入").click()
    page.get_by_label("文件").set_input_files(str(campaign))
    page.get_by_role("button", name="导入").click()
    report = page.locator("#import-errors")
    expect(report).to_contain_text("手机号码应为以1开头的11位数字")
    expect(report).to_contain_text("3")  # the spreadsheet row of the bad mobile number
    expect(page.get_by_role("alert")).to_contain_text("全部未写入")
    shoot(page, "import-report-1280", service.database_url)

    # A demand and the reasons of its matches: shared terms are marked.
    page.goto("/demands/1")
    expect(page.get_by_role("heading", name=re.compile("推荐对接学会"))).to_be_visible()
    assert page.locator("#matches tbody tr").count() >= 5
    assert page.locator("#matches .reasons mark").count() >= 1
    assert page.locator("#matches p.long mark").count() >= 1
    shoot(page, "demand-1280", service.database_url)

    # Run a round over the submitted demands and watch the progress bar finish (the page polls).
    page.goto("/rounds")
    page.get_by_label("已提交").check()
    page.get_by_role("button", name="开始匹配").click()
    expect(page).to_have_url(re.compile(r"/rounds/\d+$"))
    shoot(page, "round-progress-1280", service.database_url)
    expect(page.locator("#round-status")).to_have_text("已完成", timeout=ROUND_TIMEOUT_MS)
    expect(page.locator("progress")).to_have_attribute("value", "100")
    shoot(page, "round-1280", service.database_url)

    # Accept the first proposed pairing.
    page.get_by_role("link", name="审核配对").click()
    first = page.locator("tbody tr").first
    first.get_by_role("button", name="接受").click()
    expect(page.get_by_role("status").first).to_contain_text("已接受")
    expect(page.locator("tbody tr").first.locator(".status")).to_have_text("已接受")
    shoot(page, "pairings-1280", service.database_url)

    # The report of that round: the funnel and its charts load; the round's pairings download per society.
    page.get_by_role("link", name="报告", exact=True).click()
    expect(page.locator("#funnel tr[data-step='accepted'] td").first).not_to_have_text("0")
    charts = page.locator("img[data-chart]")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 4  # funnel, load, stages, gaps (and programmes when demands carry one)
    assert page.evaluate(
        "[...document.querySelectorAll('img[data-chart]')].every(i => i.complete && i.naturalWidth > 0)"
    )
    shoot(page, "report-1280", service.database_url)
    with page.expect_download() as pairings_download:
        page.get_by_role("link", name="导出本轮配对 Excel").click()
    pairings_file = tmp_path / "pairings.xlsx"
    pairings_download.value.save_as(pairings_file)
    assert openpyxl.load_workbook(pairings_file, read_only=True).sheetnames[0] == "汇总"

    # Export the demand list as a spreadsheet with Chinese headers.
    page.goto("/demands")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="导出 Excel").click()
    saved = tmp_path / "export.xlsx"
    download_info.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved, read_only=True).active
    headers = next(sheet.iter_rows(max_row=1, values_only=True))
    assert "技术需求名称" in headers
    assert sum(1 for _ in sheet.iter_rows(values_only=True)) >= 300

    # Providers with load against capacity.
    page.goto("/societies")
    expect(page.locator("tbody tr")).to_have_count(30)
    shoot(page, "societies-1280", service.database_url)

    # Sign out: the pages ask for a sign-in again.
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    page.goto("/demands")
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_bad_edit_is_explained_next_to_each_field(page: Page, service: LiveService) -> None:
    sign_in(page)
    page.goto("/demands/2/edit")
    page.get_by_label("手机").fill("1380591000")
    page.get_by_label("技术需求名称").fill("")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#e-mobile")).to_contain_text("11位数字")
    expect(page.locator("#e-title")).to_contain_text("请填写")
    expect(page.get_by_label("手机")).to_have_attribute("aria-invalid", "true")


def test_the_pages_are_keyboard_reachable(page: Page, service: LiveService) -> None:
    sign_in(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到正文")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_the_pages_fit_a_phone_screen(chromium: Browser, service: LiveService) -> None:
    page = new_tab(chromium, service.base_url, "390")
    try:
        page.goto("/login")
        shoot(page, "login-phone", service.database_url)
        sign_in(page)
        for path, name in [
            ("/demands", "demands-phone"),
            ("/demands/1", "demand-phone"),
            ("/rounds", "rounds-phone"),
            ("/societies", "societies-phone"),
            ("/reports", "reports-phone"),
        ]:
            page.goto(path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} is {overflow}px wider than the phone screen"
            shoot(page, name, service.database_url)
    finally:
        page.context.close()
