"""Signing in and out, sessions and CSRF protection of the staff pages."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.auth.passwords import PasswordTooShortError, authenticate, set_password
from api.cli import app as cli_app
from api.db import StaffRole, StaffUser
from api.settings import Settings, get_settings
from api.web.models import StaffSession
from api.web.sessions import SESSION_COOKIE
from tests.web.conftest import PASSWORD, csrf_of, sign_in

pytestmark = pytest.mark.db


def test_pages_send_a_signed_out_browser_to_the_sign_in_page_and_back(
    client: TestClient, staff_member: str
) -> None:
    response = client.get("/demands?status=submitted", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdemands%3Fstatus%3Dsubmitted"
    form = client.get(response.headers["location"])
    assert "工作人员登录" in form.text
    data = {
        "name": staff_member,
        "password": PASSWORD,
        "csrf_token": csrf_of(form.text),
        "next": "/demands?status=submitted",
    }
    signed_in = client.post("/login", data=data)
    assert signed_in.url.path == "/demands"
    assert signed_in.url.query == b"status=submitted"
    assert staff_member in signed_in.text


def test_a_wrong_password_is_refused_with_a_message_and_no_session(
    client: TestClient, staff_member: str, db: sessionmaker[Session]
) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"name": staff_member, "password": "wrong-password", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "账号或密码不正确" in response.text
    assert SESSION_COOKIE not in client.cookies
    with db() as session:
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 0


def test_sign_in_without_the_form_token_is_refused(client: TestClient, staff_member: str) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"name": staff_member, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_after_sign_in_only_local_pages_are_followed(
    client: TestClient, staff_member: str, target: str
) -> None:
    token = csrf_of(client.get("/login").text)
    data = {"name": staff_member, "password": PASSWORD, "csrf_token": token, "next": target}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_the_session_cookie_is_http_only_and_stored_hashed(
    client: TestClient, staff_member: str, db: sessionmaker[Session]
) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"name": staff_member, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    value = client.cookies[SESSION_COOKIE]
    with db() as session:
        stored = session.scalars(select(StaffSession.token_hash)).all()
    assert len(stored) == 1
    assert value not in stored[0]


def test_sign_out_ends_the_session_on_the_server(browser: TestClient, db: sessionmaker[Session]) -> None:
    cookie = browser.cookies[SESSION_COOKIE]
    token = csrf_of(browser.get("/demands").text)
    response = browser.post("/logout", data={"csrf_token": token})
    assert response.url.path == "/login"
    assert "已退出登录" in response.text
    browser.cookies.set(SESSION_COOKIE, cookie)  # a copied cookie no longer opens anything
    assert browser.get("/demands", follow_redirects=False).status_code == 303
    with db() as session:
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 0


def test_a_post_without_the_session_csrf_token_changes_nothing(browser: TestClient) -> None:
    response = browser.post("/logout", data={"csrf_token": "not-the-token"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert browser.get("/demands", follow_redirects=False).status_code == 200


def test_passwords_are_stored_as_argon2_hashes(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        staff = StaffUser(name="管理员丙", role=StaffRole.ADMIN)
        set_password(staff, "long-enough-1")
        session.add(staff)
        assert staff.password_hash is not None
        assert staff.password_hash.startswith("$argon2id$")
        with pytest.raises(PasswordTooShortError):
            set_password(staff, "short")
    with db.begin() as session:
        assert authenticate(session, name="管理员丙", password="long-enough-1") is not None
        assert authenticate(session, name="管理员丙", password="long-enough-2") is None
        assert authenticate(session, name="无此人", password="long-enough-1") is None


def test_an_account_without_a_password_cannot_sign_in(client: TestClient, db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        session.add(StaffUser(name="令牌用户", role=StaffRole.REVIEWER))
    sign_in_page = client.get("/login").text
    data = {"name": "令牌用户", "password": "anything-at-all", "csrf_token": csrf_of(sign_in_page)}
    assert client.post("/login", data=data).status_code == 401


def test_set_password_command_lets_a_staff_member_sign_in(
    client: TestClient, staff_member: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUIQI_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli_app, ["staff", "set-password", staff_member, "--password", "new-password-7"]
        )
        missing = CliRunner().invoke(
            cli_app, ["staff", "set-password", "无此人", "--password", "new-password-7"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert missing.exit_code != 0
    sign_in(client, staff_member, "new-password-7")
