"""Every route x every role gets the answer of the access table; nothing leaks in lists or exports.

The matrix actually observed is written to ``artifacts/access-matrix.md``.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.auth.passwords import set_password
from api.db import StaffUser
from api.security.public import PUBLIC_DEMAND_FIELDS
from tests.api.factories import demand_payload
from tests.security.access_table import PAGE_POLICIES, PAGES, POLICIES, ROLES, ROUTES, Expected
from tests.security.world import DEMAND_B_SECRETS, EXPERT_CONTACT, SOCIETY_CONTACT, World, build_world
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db

ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "access-matrix.md"
PASSWORD = "access-test-9"


@pytest.fixture
def world(client: TestClient, db: sessionmaker[Session]) -> World:
    """The world of ``world.py``."""
    return build_world(client, db)


def _schema_routes(app: FastAPI) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return [(method.upper(), path) for path, item in paths.items() for method in item]


def _page_routes(app: FastAPI) -> set[str]:
    pages = {
        route.path for route in app.routes if isinstance(route, APIRoute) and not route.include_in_schema
    }
    return {re.sub(r":int}", "}", path) for path in pages if "{name}" not in path} | {
        "/static/style.css",
        "/static/app.js",
    }


def _fill(path: str, world: World) -> str:
    ids = {
        "demand_id": world.demand_a,
        "society_id": world.society,
        "branch_id": world.branch,
        "expert_id": world.expert,
        "round_id": world.round,
        "pairing_id": world.pairing_a,
        "preference_id": world.preference,
        "staff_id": world.victim_staff,
        "unit_id": 999_999,
        "key": "no-such-key",
    }
    return re.sub(r"{(\w+)}", lambda match: str(ids[match.group(1)]), path)


def _body(method: str, path: str, world: World) -> Any:
    if (method, path) == ("POST", "/api/v1/demands"):
        return demand_payload(title="矩阵测试需求")
    if (method, path) == ("PATCH", "/api/v1/demands/{demand_id}"):
        return {"title": "经审核修改的标题"}
    if path.endswith("/preferences"):
        return {"provider_level": "expert", "provider_id": world.expert, "kind": "refuse"}
    return {}


def _meets(expected: Expected, status: int) -> bool:
    if expected == "ok":
        return 200 <= status < 300
    if expected == "allow":
        return status not in (401, 403) and status < 500
    return status == expected


def _order(routes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # Deletions last: they remove what later routes' ids point at.
    return sorted(routes, key=lambda route: route[0] == "DELETE")


def _api_matrix(
    client: TestClient, world: World, routes: list[tuple[str, str]]
) -> dict[tuple[str, str], list[int]]:
    seen: dict[tuple[str, str], list[int]] = {}
    for method, path in _order(routes):
        statuses = []
        for role in ROLES:
            body = _body(method, path, world) if method in ("POST", "PATCH", "PUT") else None
            response = client.request(method, _fill(path, world), json=body, headers=world.headers(role))
            statuses.append(response.status_code)
        seen[(method, path)] = statuses
    return seen


def _signed_in(app: FastAPI, db: sessionmaker[Session], name: str) -> TestClient:
    with db.begin() as session:
        staff = session.query(StaffUser).filter_by(name=name).one()
        set_password(staff, PASSWORD)
    browser = TestClient(app, follow_redirects=False)
    token = csrf_of(browser.get("/login").text)
    answer = browser.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return browser


def _page_matrix(app: FastAPI, db: sessionmaker[Session], world: World) -> dict[str, list[int]]:
    stranger = TestClient(app, follow_redirects=False)
    browsers = {"reviewer": _signed_in(app, db, "审核员"), "admin": _signed_in(app, db, "管理员")}
    seen: dict[str, list[int]] = {}
    for path in PAGES:
        statuses = []
        for role in ROLES:
            browser = browsers.get(role, stranger)
            statuses.append(browser.get(_fill(path, world), headers=world.headers(role)).status_code)
        seen[path] = statuses
    return seen


def _write_artifact(api: dict[tuple[str, str], list[int]], pages: dict[str, list[int]], backend: str) -> None:
    head = "| route | policy | " + " | ".join(ROLES) + " |"
    rule = "|" + "---|" * (len(ROLES) + 2)
    lines = [
        f"# Access matrix ({backend})",
        "",
        "HTTP status per role; policy from tests/security/access_table.py.",
        "",
        head,
        rule,
    ]
    lines += [
        f"| {m} {p} | {ROUTES[(m, p)]} | " + " | ".join(map(str, s)) + " |" for (m, p), s in api.items()
    ]
    lines += ["", "## Staff pages", "", head, rule]
    lines += [f"| GET {p} | {PAGES[p]} | " + " | ".join(map(str, s)) + " |" for p, s in pages.items()]
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_table_covers_every_route_and_page(app: FastAPI) -> None:
    assert sorted(set(_schema_routes(app)) - set(ROUTES)) == []
    assert sorted(_page_routes(app) - set(PAGES)) == []


def test_every_route_answers_every_role_as_the_table_says(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], world: World, database_url: str
) -> None:
    routes = [route for route in _schema_routes(app) if route in ROUTES]
    pages = _page_matrix(app, db, world)  # first: the API matrix deletes providers at its end
    api = _api_matrix(client, world, routes)
    _write_artifact(api, pages, database_url.split(":", 1)[0])
    wrong = [
        (method, path, role, expected, status)
        for (method, path), statuses in api.items()
        for role, expected, status in zip(ROLES, POLICIES[ROUTES[(method, path)]], statuses, strict=True)
        if not _meets(expected, status)
    ]
    wrong += [
        ("GET", path, role, expected, status)
        for path, statuses in pages.items()
        for role, expected, status in zip(ROLES, PAGE_POLICIES[PAGES[path]], statuses, strict=True)
        if not _meets(expected, status)
    ]
    assert wrong == []


def _texts(responses: Iterator[str]) -> str:
    return "\n".join(responses)


def test_published_listings_show_only_public_fields(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    for step in ("in_review", "published"):
        moved = client.post(f"/api/v1/demands/{world.demand_b}/transitions", json={"to": step}, headers=admin)
        assert moved.status_code == 200, moved.text
    listing = client.get("/api/v1/public/demands")
    one = client.get(f"/api/v1/public/demands/{world.demand_b}")
    assert [item["id"] for item in listing.json()["items"]] == [world.demand_b]
    assert set(listing.json()["items"][0]) == set(PUBLIC_DEMAND_FIELDS) == set(one.json())
    for secret in (*DEMAND_B_SECRETS.values(), "0591-87654321", "350001", "员工210人"):
        assert secret not in listing.text + one.text


def test_an_enterprise_sees_contacts_of_its_accepted_pairing_only(client: TestClient, world: World) -> None:
    mine = client.get(
        f"/api/v1/enterprise/demands/{world.demand_a}/pairings", headers=world.headers("enterprise_a")
    )
    theirs = client.get(
        f"/api/v1/enterprise/demands/{world.demand_b}/pairings", headers=world.headers("enterprise_b")
    )
    assert [pairing["provider_name"] for pairing in mine.json()] == ["中国测试学会"]
    assert mine.json()[0]["contact"]["phone"] == SOCIETY_CONTACT["contact_phone"]
    assert theirs.json() == []  # B's pairing with the expert is only proposed: no name, no contact
    everything = _texts(
        client.get(url, headers=world.headers(role)).text
        for role in ("enterprise_a", "enterprise_b")
        for url in (
            f"/api/v1/demands/{world.demand_a}",
            f"/api/v1/demands/{world.demand_b}",
            f"/api/v1/demands/{world.demand_a}/preferences",
            f"/api/v1/demands/{world.demand_b}/preferences",
            f"/api/v1/enterprise/demands/{world.demand_a}/pairings",
            f"/api/v1/enterprise/demands/{world.demand_b}/pairings",
            "/api/v1/demands",
            "/api/v1/demands/export.csv",
            "/api/v1/experts",
            f"/api/v1/rounds/{world.round}/pairings",
        )
    )
    for secret in EXPERT_CONTACT.values():
        assert secret not in everything
    a_text = _texts(
        client.get(f"/api/v1/demands/{world.demand_b}", headers=world.headers("enterprise_a")).text
        for _ in "x"
    )
    for secret in DEMAND_B_SECRETS.values():
        assert secret not in a_text


def test_staff_lists_and_exports_need_a_staff_token(client: TestClient, world: World) -> None:
    for url in (
        "/api/v1/demands",
        "/api/v1/demands/export.xlsx",
        "/api/v1/audit/export.csv",
        "/api/v1/experts",
    ):
        for role in ("anonymous", "enterprise_a"):
            answer = client.get(url, headers=world.headers(role))
            assert answer.status_code == 401
            assert DEMAND_B_SECRETS["mobile"] not in answer.text
