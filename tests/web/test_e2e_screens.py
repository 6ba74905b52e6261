"""Every page at 1280 px and on a 390 px phone, in headless Chromium on the demo data with a finished
round: full-page screenshots for people to look at (``var/screenshots/``, or ``HUIQI_SCREENSHOTS``), and
no page wider than the phone's screen."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from api.programmes.demo import DEMO_CAMPAIGN
from tests.conftest import fresh_database
from tests.web.chromium import WIDTHS, new_tab, sign_in
from tests.web.live import LiveService, live_service, prepare_database
from tests.web.test_e2e import ROUND_TIMEOUT_MS

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.slow]

SCREENSHOTS = Path(
    os.environ.get("HUIQI_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The service with the demo data and a worker, on SQLite (the pages are the same on PostgreSQL)."""
    workdir = tmp_path_factory.mktemp("live-screens")
    with fresh_database("sqlite", workdir) as url:
        prepare_database(url, workdir)
        with live_service(url, workdir) as live:
            yield live


def _signed_in(chromium: Browser, service: LiveService, width: str) -> Page:
    page = new_tab(chromium, service.base_url, width)
    sign_in(page)
    return page


def _finished_round(page: Page) -> str:
    """Run a round over the submitted demo demands, accept its first pairing; the round's path."""
    page.goto("/rounds")
    page.get_by_label("已提交").check()
    page.get_by_role("button", name="开始匹配").click()
    expect(page).to_have_url(re.compile(r"/rounds/\d+$"))
    expect(page.locator("#round-status")).to_have_text("已完成", timeout=ROUND_TIMEOUT_MS)
    path = "/" + page.url.split("/", 3)[3]
    page.goto(f"{path}/pairings")
    # A row far down the page: after the action both the row and the notice are in view.
    row = page.locator("tbody tr").nth(12)
    row_id = row.get_attribute("id")
    row.get_by_role("button", name="接受").click()
    expect(page.get_by_role("status").first).to_contain_text("已接受")
    expect(page.get_by_role("status").first).to_be_in_viewport()
    expect(page.locator(f"#{row_id}")).to_be_in_viewport()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "pairing-accepted-viewport-1280.png"))
    return path


def _pages(page: Page, round_path: str) -> list[tuple[str, str]]:
    round_id = round_path.rsplit("/", 1)[1]
    page.goto(f"{round_path}/pairings?status=accepted")
    accepted = page.locator("tbody tr").first
    pairing = accepted.get_attribute("id") or "pairing-0"
    paired_demand = accepted.locator("a[href^='/demands/']").first.get_attribute("href") or "/demands/1"
    page.goto("/campaigns")
    campaign = (
        page.get_by_role("link", name=re.compile("（演示）")).first.get_attribute("href") or "/campaigns"
    )
    page.goto("/standing-units")
    unit = page.locator("tbody tr a").first.get_attribute("href") or "/standing-units"
    return [
        ("demands", "/demands"),
        ("demands-filtered", "/demands?status=submitted&q=%E6%8A%80%E6%9C%AF"),
        ("demand", "/demands/1"),
        ("demand-paired", paired_demand),
        ("demand-edit", "/demands/1/edit"),
        ("demand-new", "/demands/new"),
        ("demand-import", "/demands/import"),
        ("societies", "/societies"),
        ("society", "/societies/1"),
        ("experts", "/experts"),
        ("expert", "/experts/1"),
        ("rounds", "/rounds"),
        ("round", round_path),
        ("pairings", f"{round_path}/pairings"),
        ("campaigns", "/campaigns"),
        ("campaign", campaign),
        ("standing-units", "/standing-units"),
        ("standing-unit", unit),
        ("standing-unit-new", f"/standing-units/new?pairing={pairing.removeprefix('pairing-')}"),
        ("quarterly-reports", "/quarterly-reports"),
        ("reports", "/reports"),
        ("report-round", f"/reports?round={round_id}"),
        ("report-period", "/reports?from=2026-01-01&to=2026-12-31"),
        ("not-found", "/demands/999999"),
        ("submit", f"/submit?campaign={DEMO_CAMPAIGN}"),
        ("receipt", "/receipt"),
    ]


# Table cells squeezed to a character or two per line: narrower than three characters yet holding six.
SQUEEZED_CELLS = """[...document.querySelectorAll('td, th')].filter(cell => {
  const text = cell.innerText.trim();
  return cell.offsetParent !== null && text.length >= 6 && cell.getBoundingClientRect().width < 48;
}).map(cell => cell.innerText.trim().slice(0, 12))"""


def _shoot(page: Page, name: str, width: str) -> int:
    """Save the full page; its width in CSS pixels."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _register_station(page: Page, pages: list[tuple[str, str]]) -> None:
    """Register a station from the accepted pairing: the form names its reporting unit or warns."""
    page.goto(dict(pages)["standing-unit-new"])
    warned = "不会计入季度报告" in page.locator("#reporter-hint").inner_text()
    page.get_by_role("button", name="登记").click()
    expect(page.get_by_role("status").first).to_contain_text("已登记")
    # Without a reporting unit the notice and the unit's page say so; with one, its name shows.
    expect(page.locator("#no-reporter")).to_have_count(1 if warned else 0)
    _shoot(page, "standing-unit-registered", "1280")
    page.context.close()


def test_every_page_at_1280_and_390_px(chromium: Browser, service: LiveService) -> None:
    desktop = _signed_in(chromium, service, "1280")
    round_path = _finished_round(desktop)
    pages = _pages(desktop, round_path)
    too_wide: list[str] = []
    for width in WIDTHS:
        page = desktop if width == "1280" else _signed_in(chromium, service, width)
        for name, url in pages:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            shown = _shoot(page, name, width)
            if shown > WIDTHS[width]["width"]:
                too_wide.append(f"{name} ({url}) is {shown} px wide at {width} px")
            if squeezed := page.evaluate(SQUEEZED_CELLS):
                too_wide.append(f"{name} ({url}) squeezes cells at {width} px: {squeezed[:3]}")
        page.context.close()
    _register_station(_signed_in(chromium, service, "1280"), pages)
    # The enterprise's side: a refused form and a receipt, at both widths.
    for width in WIDTHS:
        page = new_tab(chromium, service.base_url, width)
        page.goto(f"/submit?campaign={DEMO_CAMPAIGN}")
        page.get_by_role("button", name="提交").click()
        expect(page.locator("#e-org_name")).to_be_visible()
        _shoot(page, "submit-refused", width)
        page.get_by_label("单位名称").fill("龙岩闽西精密压铸有限公司")
        page.get_by_label("联系人").fill("张工")
        page.get_by_label("手机").fill("13859701234")
        page.get_by_label("技术需求名称").fill("铝合金压铸件热处理变形控制")
        page.get_by_label("具体的技术需求说明").fill("热处理后平面度超差，希望把合格率从82%提高到95%。")
        page.get_by_role("button", name="提交").click()
        expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
        _shoot(page, "submit-done", width)
        page.get_by_role("button", name="查看办理进度").click()
        expect(page.locator("#demand-status")).to_be_visible()
        if _shoot(page, "receipt-status", width) > WIDTHS[width]["width"]:
            too_wide.append(f"receipt-status is too wide at {width} px")
        page.context.close()
    assert not too_wide, "\n".join(too_wide)
