"""Fixtures of the staff page tests: a staff member with a password, a signed-in browser client, and
the real Chromium the end-to-end tests share."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from api.auth.passwords import set_password
from api.db import StaffRole, StaffUser
from tests.web.chromium import CHROMIUM, CHROMIUM_ARGS

PASSWORD = "correct-horse-9"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture
def staff_member(db: sessionmaker[Session]) -> str:
    """A reviewer who can sign in with :data:`PASSWORD`; returns the account name."""
    with db.begin() as session:
        staff = StaffUser(name="审核员乙", role=StaffRole.REVIEWER)
        set_password(staff, PASSWORD)
        session.add(staff)
    return "审核员乙"


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> None:
    """Sign ``client`` in through the sign-in form."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert response.status_code == 200, response.text
    assert response.url.path == "/"


@pytest.fixture
def browser(client: TestClient, staff_member: str) -> TestClient:
    """A client signed in as :func:`staff_member`, following redirects like a browser."""
    sign_in(client, staff_member)
    return client


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright; one per module (Playwright's sync API keeps
    its event loop as the running one while it is open)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: set HUIQI_CHROMIUM or run `bash .ci/setup --system`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
