"""A working day in a real headless Chromium against `huiqi demo serve` (server and worker started by
the command itself, as a staff member would start them), on SQLite and on PostgreSQL:
工作台 → bulk publish 20 demands → a round the worker runs → bulk accept → 对接 → 签约 → the
工作台's counts changed; and the 退回 case, refused without a reason and kept as chosen."""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import fresh_database
from tests.web.chromium import new_tab
from tests.web.live import SECRET, free_port
from tests.web.test_e2e import ROUND_TIMEOUT_MS, SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.slow]

PASSWORD_LINE = re.compile(r"sign in as (\S+) / (\S+)")
WORKER_LINE = re.compile(r"后台匹配进程已启动（进程号 (\d+)）")
START_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class DemoService:
    """Where `huiqi demo serve` answers and the account it printed."""

    base_url: str
    database_url: str
    account: str
    password: str


def _wait_for_start(process: subprocess.Popen[bytes], log: Path, base_url: str) -> tuple[str, str]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if process.poll() is not None:
            raise RuntimeError(f"huiqi demo serve exited early:\n{text[-3000:]}")
        found = PASSWORD_LINE.search(text)
        if found:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    return found.group(1), found.group(2)
            except httpx.TransportError:
                pass
        time.sleep(0.3)
    raise RuntimeError(f"huiqi demo serve did not answer within {START_TIMEOUT_S} s")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoService]:
    """`huiqi demo serve` on an empty database of each backend; stopped (with its worker) afterwards."""
    workdir = tmp_path_factory.mktemp(f"demo-{request.param}")
    with fresh_database(request.param, workdir) as url:
        port = free_port()
        env = os.environ | {
            "HUIQI_DATABASE_URL": url,
            "HUIQI_DATA_DIR": str(workdir),
            "HUIQI_SECRET_KEY": SECRET,
        }
        huiqi = str(Path(sys.executable).parent / "huiqi")
        log = workdir / "demo-serve.log"
        with log.open("wb") as output:
            command = [huiqi, "demo", "serve", "--host", "127.0.0.1", "--port", str(port)]
            process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            account, password = _wait_for_start(process, log, base_url)
            yield DemoService(base_url, url, account, password)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # The worker started by demo serve stops with it: nobody is left polling the queue.
        started = WORKER_LINE.search(log.read_text(errors="replace"))
        assert started, "huiqi demo serve started no worker"
        assert _gone(int(started.group(1))), "the worker outlived huiqi demo serve"


def _gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def page(chromium: Browser, demo: DemoService) -> Iterator[Page]:
    """A fresh tab at desktop width, signed in with the account `demo serve` printed."""
    tab = new_tab(chromium, demo.base_url)
    tab.goto("/")
    expect(tab).to_have_url(re.compile(r"/login"))
    tab.get_by_label("账号").fill(demo.account)
    tab.get_by_label("密码").fill(demo.password)
    tab.get_by_role("button", name="登录").click()
    expect(tab.get_by_role("heading", name="工作台")).to_be_visible()
    yield tab
    tab.context.close()


def shoot(page: Page, name: str, demo: DemoService) -> None:
    """A full-page screenshot of the SQLite run."""
    if demo.database_url.startswith("sqlite"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def tile(page: Page, label: str) -> int:
    """The count of one 工作台 tile."""
    return int(page.locator(f'[data-tile="{label}"] .tile-count').inner_text())


def test_a_working_day_from_the_workbench_to_an_agreement(page: Page, demo: DemoService) -> None:
    to_publish, to_contact, agreed = tile(page, "待发布"), tile(page, "待对接"), tile(page, "已签约")
    assert to_publish >= 20  # the demo data leaves demands waiting for publication ...
    published_before = int(
        re.search(r"共 (\d+) 条", page.goto("/demands?status=published").text()).group(1)  # type: ignore[union-attr]
    )
    assert published_before > 0  # ... and publishes others, so the default round has work
    page.goto("/")
    shoot(page, "day-workbench-before-1280", demo)

    # 待发布 → the filtered worklist; check the 20 rows of its first page and publish them at once.
    page.locator('[data-tile="待发布"]').click()
    expect(page).to_have_url(re.compile(r"/demands\?status=in_review$"))
    page.get_by_label("全选本页").check()
    assert page.locator('input[name="ids"]:checked').count() == 20
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("批量发布：成功 20 条。")
    expect(page).to_have_url(re.compile(r"/demands\?status=in_review$"))  # the worklist kept its filter
    expect(page.get_by_role("heading", name=re.compile("技术需求"))).to_contain_text(
        f"共 {to_publish - 20} 条"
    )
    shoot(page, "day-bulk-publish-1280", demo)

    # A round over the published demands, run by the worker `demo serve` started.
    page.goto("/rounds")
    page.get_by_role("button", name="开始匹配").click()
    expect(page).to_have_url(re.compile(r"/rounds/\d+$"))
    expect(page.locator("#round-status")).to_have_text("已完成", timeout=ROUND_TIMEOUT_MS)
    expect(page.locator("#round-waiting")).to_be_hidden()
    outcome = page.locator("#round-outcome").inner_text()
    served = int(re.search(r"匹配成功 (\d+) 项", outcome).group(1))  # type: ignore[union-attr]
    assert served > 0
    expect(page.get_by_text("目标值")).to_be_hidden()  # technical figures wait in the 详情 fold
    shoot(page, "day-round-1280", demo)

    # Its proposals: names, not numbers; check the page and accept all at once.
    page.get_by_role("link", name="审核配对").click()
    page.get_by_label("状态").select_option("proposed")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"status=proposed"))
    first_title = page.locator("tbody tr").first.locator('td[data-label="需求"] a').inner_text()
    assert not re.fullmatch(r"需求 \d+", first_title)
    page.get_by_label("全选本页").check()
    checked = page.locator('input[name="ids"]:checked').count()
    assert checked > 0
    page.get_by_role("button", name="接受", exact=True).first.click()
    expect(page.get_by_role("status").first).to_contain_text(f"批量接受：成功 {checked} 条。")
    expect(page).to_have_url(re.compile(r"status=proposed"))  # still the proposed worklist
    shoot(page, "day-bulk-accept-1280", demo)

    # 待对接 → the accepted pairings of every round; record 对接, then 签约, on the first.
    page.goto("/")
    assert tile(page, "待对接") == to_contact + checked
    page.locator('[data-tile="待对接"]').click()
    row = page.locator("tbody tr").first
    row.get_by_text("记录对接…").click()
    row.get_by_label("对接日期").fill("2026-12-07")
    row.get_by_label("记录").fill("企业与学会秘书处电话沟通，约定实地考察")
    row.get_by_role("button", name="保存对接").click()
    expect(page.get_by_role("status").first).to_contain_text("已记录对接")
    page.goto("/pairings?status=contacted")
    row = page.locator("tbody tr").first
    row.get_by_text("记录签约…").click()
    row.get_by_label("金额（万元）").fill("35.5")
    row.get_by_role("button", name="保存签约").click()
    expect(page.get_by_role("status").first).to_contain_text("已记录签约")

    page.goto("/")
    assert tile(page, "待发布") == to_publish - 20
    assert tile(page, "待对接") == to_contact + checked - 1
    assert tile(page, "已签约") == agreed + 1
    expect(page.locator("#worker-state")).not_to_contain_text("可能没有运行")
    shoot(page, "day-workbench-after-1280", demo)


def test_returning_without_a_reason_is_refused_and_keeps_what_was_chosen(
    page: Page, demo: DemoService
) -> None:
    page.goto("/demands?status=in_review")
    page.locator("tbody tr").first.locator("td a").first.click()
    expect(page.locator(".page-head .status")).to_have_text("审核中")
    page.get_by_role("button", name="退回").click()
    expect(page.locator("#reason-error")).to_be_visible()
    expect(page.locator(".page-head .status")).to_have_text("审核中")  # neither returned nor published
    expect(page.get_by_role("button", name="退回")).to_have_attribute("aria-pressed", "true")
    shoot(page, "day-return-refused-1280", demo)
    page.locator("#reason").fill("请补充技术指标与预算")
    page.get_by_role("button", name="退回").click()
    expect(page.get_by_role("status").first).to_contain_text("已退回")
    expect(page.locator(".page-head .status")).to_have_text("已退回")
    expect(page.locator(".history")).to_contain_text("请补充技术指标与预算")

    # The same trap on the list: 退回 without a reason keeps the checked rows and changes nothing.
    page.goto("/demands?status=in_review")
    count = page.get_by_role("heading", name=re.compile("技术需求")).inner_text()
    page.locator('input[name="ids"]').nth(1).check()
    page.get_by_role("button", name="退回", exact=True).click()
    expect(page.locator("#bulk-reason-error")).to_be_visible()
    expect(page.locator('input[name="ids"]').nth(1)).to_be_checked()
    expect(page.get_by_role("heading", name=re.compile("技术需求"))).to_have_text(count)
    page.get_by_label("退回原因").fill("联系方式不全")
    page.get_by_role("button", name="退回", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("批量退回：成功 1 条。")


def test_regions_are_chosen_from_a_cascade_and_providers_by_name(page: Page, demo: DemoService) -> None:
    page.goto("/demands")
    province = page.get_by_label("地区：省")
    expect(province.locator("option", has_text="福建省")).to_have_count(1)
    province.select_option(label="福建省")
    expect(page.locator("#region")).to_have_value("35")
    city = page.get_by_label("地区：市")
    expect(city.locator("option", has_text="泉州市")).to_have_count(1)
    city.select_option(label="泉州市")
    expect(page.locator("#region")).to_have_value("3505")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"region=3505"))
    expect(page.get_by_label("地区：市")).to_have_value("3505")  # the cascade shows the filter in force
    shoot(page, "day-region-cascade-1280", demo)

    # A preference by name: the list offers a branch with its society.
    page.locator("tbody tr").first.locator("td a").first.click()
    options = page.locator("#provider-picker option")
    assert options.count() > 100
    branch = page.locator('#provider-picker option:text-is("分支机构")').first.get_attribute("value")
    assert branch
    assert " · " in branch
    page.get_by_text("添加对接意向").click()
    page.get_by_label(re.compile("对象名称")).fill(branch)
    page.locator("#pref-reason").fill("企业点名希望合作")
    page.get_by_role("button", name="添加").click()
    expect(page.get_by_role("status").first).to_contain_text("已记录企业的对接意向")
    expect(page.locator("#preferences")).to_contain_text(branch)
