"""Signing in and out of the staff pages."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from api.auth.passwords import authenticate
from api.auth.tokens import secrets_equal
from api.deps import SessionDep
from api.web.deps import FormDep
from api.web.routing import WebRoute
from api.web.sessions import SESSION_COOKIE, SESSION_LIFETIME, end_session, start_session
from api.web.templating import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# Before signing in there is no session: the sign-in form is protected by a double-submit cookie.
LOGIN_CSRF_COOKIE = "huiqi_login_csrf"


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (another site) goes to the front page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(
    request: Request, *, next_url: str, name: str = "", error: str = "", status: int = 200
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    context = {"login_csrf": token, "next_url": next_url, "name": name, "error": error}
    response = render(request, "login.html", context, status_code=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check name and password; on success open a session and go on."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    next_url = safe_next(next)
    if not cookie or not secrets_equal(cookie, csrf_token):
        error = "登录表单已过期，请重新输入后再登录。"
        return _login_page(request, next_url=next_url, name=name, error=error, status=403)
    staff = authenticate(session, name=name.strip(), password=password) if name.strip() and password else None
    if staff is None:
        error = "账号或密码不正确。" if name.strip() and password else "请填写账号和密码。"
        return _login_page(request, next_url=next_url, name=name, error=error, status=401)
    token = start_session(session, staff=staff)
    response = redirect(next_url)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, _form: FormDep) -> Response:
    """Sign out: the session is forgotten on the server, the cookie removed."""
    end_session(session, token=request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/login", "已退出登录。")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
