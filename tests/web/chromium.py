"""Debian's Chromium, headless, driven by Playwright: where it is, how it starts, a fresh tab, sign-in."""

import os
import re
import shutil

from playwright.sync_api import Browser, Page, expect

from tests.web.live import ACCOUNT, PASSWORD

CHROMIUM = os.environ.get("HUIQI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDTHS = {"1280": DESKTOP, "390": PHONE}


def new_tab(chromium: Browser, base_url: str, width: str = "1280", *, timeout_ms: int = 20_000) -> Page:
    """A tab with no cookies at ``width`` (``"390"`` is a phone: mobile viewport and touch)."""
    phone = width == "390"
    context = chromium.new_context(
        viewport=WIDTHS[width],
        locale="zh-CN",
        accept_downloads=True,
        base_url=base_url,
        is_mobile=phone,
        has_touch=phone,
    )
    context.set_default_timeout(timeout_ms)
    return context.new_page()


def sign_in(page: Page) -> None:
    """Sign in through the form, starting from a page that needs it."""
    page.goto("/demands")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("账号").fill(ACCOUNT)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name=re.compile("技术需求"))).to_be_visible()
