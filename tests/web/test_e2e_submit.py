"""End to end in headless Chromium on the demo data: an enterprise fills the 附件1 form at /submit on a
390 px phone (a refused first try keeps everything typed), keeps its receipt and reads /receipt; once
staff accept a pairing on their page, the receipt shows whom to contact."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from api.db import make_engine, make_session_factory
from api.matching.models import MatchRound, Pairing, PairingStatus, RoundStatus
from api.programmes.demo import DEMO_CAMPAIGN
from api.providers.models import ProviderLevel, Society
from tests.conftest import fresh_database
from tests.web.chromium import PHONE, new_tab, sign_in
from tests.web.live import LiveService, live_service, prepare_database

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.slow]

DESCRIPTION = (
    "我司生产的铝合金压铸件在热处理后变形超差，平面度要求0.05毫米，现在合格率只有82%。"
    "希望找到热处理工艺和夹具方面的专家，把合格率提高到95%以上。"
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    """The service with the demo data on each backend (no worker: the pairing is set up directly)."""
    workdir = tmp_path_factory.mktemp(f"live-submit-{request.param}")
    with fresh_database(request.param, workdir) as url:
        prepare_database(url, workdir)
        with live_service(url, workdir, worker=False) as live:
            yield live


def _fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a {PHONE['width']} px screen"


def _fill_the_form(page: Page) -> None:
    page.get_by_label("单位名称").fill("龙岩闽西精密压铸有限公司")
    page.get_by_label("主营业务").fill("铝合金压铸件、汽车零部件")
    page.get_by_label("联系人").fill("张工")
    page.get_by_label("手机").fill("1385970123")  # one digit short: refused, everything else kept
    page.get_by_label("联系地址").fill("福建省龙岩市新罗区龙腾南路18号")
    page.get_by_label("技术需求名称").fill("铝合金压铸件热处理变形控制")
    page.get_by_label("具体的技术需求说明").fill(DESCRIPTION)
    page.get_by_label("关键词").fill("压铸、热处理、变形")
    page.get_by_label("合作方式").select_option("技术服务")


def _receipt(page: Page, demand_id: str, token: str) -> None:
    page.goto("/receipt")
    page.get_by_label("需求编号").fill(demand_id)
    page.get_by_label("回执凭证").fill(token)
    page.get_by_role("button", name="查询").click()


def _accept_a_pairing(chromium: Browser, service: LiveService, demand_id: int) -> str:
    """Staff accept a proposed pairing of the demand on the pairings page; the society's name."""
    engine = make_engine(service.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            society = (
                session.scalars(
                    select(Society).where(Society.contact_phone.is_not(None)).order_by(Society.id)
                ).first()
                or session.scalars(select(Society).order_by(Society.id)).first()
            )
            assert society is not None
            matching_round = MatchRound(status=RoundStatus.SUCCEEDED)
            session.add(matching_round)
            session.flush()
            session.add(
                Pairing(
                    round_id=matching_round.id,
                    demand_id=demand_id,
                    provider_level=ProviderLevel.SOCIETY,
                    provider_id=society.id,
                    provider_name=society.name,
                    score=0.5,
                    rank=1,
                    status=PairingStatus.PROPOSED,
                )
            )
            round_id, name = matching_round.id, society.name
    finally:
        engine.dispose()
    staff = new_tab(chromium, service.base_url, "1280")
    sign_in(staff)
    staff.goto(f"/rounds/{round_id}/pairings")
    staff.locator("tbody tr").first.get_by_role("button", name="接受").click()
    expect(staff.get_by_role("status").first).to_contain_text("已接受")
    expect(staff.get_by_role("status").first).to_be_in_viewport()
    staff.context.close()
    return name


def test_an_enterprise_fills_the_form_on_a_phone_and_reads_its_receipt(
    chromium: Browser, service: LiveService
) -> None:
    page = new_tab(chromium, service.base_url, "390")
    page.goto(f"/submit?campaign={DEMO_CAMPAIGN}")
    expect(page.get_by_role("heading", name="企事业单位技术需求征集表")).to_be_visible()
    expect(page.locator(".campaign-banner")).to_contain_text("截止日期")
    _fits_the_screen(page)
    assert page.get_by_label("手机").get_attribute("type") == "tel"

    _fill_the_form(page)
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#e-mobile")).to_contain_text("11位")
    expect(page.get_by_role("alert")).to_contain_text("需要修改")
    # Nothing typed is lost on a refused submit.
    expect(page.get_by_label("具体的技术需求说明")).to_have_value(DESCRIPTION)
    expect(page.get_by_label("关键词")).to_have_value("压铸、热处理、变形")
    expect(page.get_by_label("合作方式")).to_have_value("技术服务")
    expect(page.get_by_label("手机")).to_have_attribute("aria-invalid", "true")
    _fits_the_screen(page)

    page.get_by_label("手机").fill("13859701234")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
    demand_id = page.locator("#receipt-demand").inner_text()
    token = page.locator("#receipt-token").inner_text()
    assert re.fullmatch(r"\d+", demand_id)
    assert token.startswith("hqr_")
    _fits_the_screen(page)

    page.get_by_role("button", name="查看办理进度").click()
    expect(page.locator("#demand-status")).to_have_text("已提交")
    expect(page.locator("#pairings")).to_contain_text("科协确认对接方后")
    _fits_the_screen(page)

    # A mistyped token is refused without saying whether the demand exists.
    _receipt(page, demand_id, token[:-2])
    expect(page.locator("#e-token")).to_contain_text("对不上")

    # Staff accept a pairing; the enterprise now reads the society's contacts on its phone.
    society = _accept_a_pairing(chromium, service, int(demand_id))
    _receipt(page, demand_id, token)
    expect(page.locator("#pairings")).to_contain_text(society)
    expect(page.locator("#pairings .status")).to_have_text("已接受")
    _fits_the_screen(page)
    page.context.close()
