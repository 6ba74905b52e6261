"""Staff bearer tokens and enterprises' receipt tokens."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.db import StaffToken, StaffUser
from api.settings import Settings
from tests.api.factories import demand_payload

pytestmark = pytest.mark.db

URL = "/api/v1/demands"
# Routes an enterprise may call without a staff token: submitting, and reading with a receipt.
PUBLIC_ROUTES = {
    ("POST", "/api/v1/demands"),
    ("GET", "/api/v1/demands/{demand_id}"),
    ("GET", "/api/v1/public/demands"),  # published listings, public fields only (api.security.public)
    ("GET", "/api/v1/public/demands/{demand_id}"),
}


def _staff_routes(app: FastAPI) -> list[tuple[str, str]]:
    # The OpenAPI description lists every route the service exposes, however routers are nested.
    paths = app.openapi()["paths"]
    pairs = [
        (method.upper(), path) for path, item in paths.items() for method in item if path.startswith("/api/")
    ]
    return [pair for pair in pairs if pair not in PUBLIC_ROUTES]


def test_every_staff_route_answers_401_without_a_valid_token(app: FastAPI, client: TestClient) -> None:
    routes = _staff_routes(app)
    assert len(routes) >= 3
    for method, path in routes:
        url = path.replace("{demand_id}", "1")
        for headers in ({}, {"Authorization": "Bearer hqs_not-a-token"}, {"Authorization": "Basic eDp5"}):
            response = client.request(method, url, json={}, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"] == "Bearer"


def test_reading_a_demand_needs_a_receipt_or_a_token(client: TestClient) -> None:
    demand_id = client.post(URL, json=demand_payload()).json()["id"]
    response = client.get(f"{URL}/{demand_id}")
    assert response.status_code == 401
    assert "X-Receipt-Token" in response.json()["detail"]


def test_a_receipt_opens_its_own_demand_and_nothing_else(client: TestClient) -> None:
    mine = client.post(URL, json=demand_payload()).json()
    other = client.post(URL, json=demand_payload(title="别家的需求")).json()
    receipt = {"X-Receipt-Token": mine["receipt_token"]}
    assert client.get(f"{URL}/{mine['id']}", headers=receipt).status_code == 200
    assert client.get(f"{URL}/{other['id']}", headers=receipt).status_code == 403
    assert client.get(URL, headers=receipt).status_code == 401
    assert client.patch(f"{URL}/{mine['id']}", json={"title": "改"}, headers=receipt).status_code == 401
    as_bearer = {"Authorization": f"Bearer {mine['receipt_token']}"}
    assert client.get(f"{URL}/{mine['id']}", headers=as_bearer).status_code == 401


def test_staff_read_any_demand_and_the_list(client: TestClient, staff_headers: dict[str, str]) -> None:
    demand_id = client.post(URL, json=demand_payload()).json()["id"]
    assert client.get(f"{URL}/{demand_id}", headers=staff_headers).status_code == 200
    assert client.get(URL, headers=staff_headers).json()["total"] == 1


def test_a_revoked_token_is_refused(
    client: TestClient, db: sessionmaker[Session], staff_headers: dict[str, str]
) -> None:
    with db.begin() as session:
        for token in session.scalars(select(StaffToken)):
            token.revoked_at = token.created_at
    assert client.get(URL, headers=staff_headers).status_code == 401


def test_cli_prints_a_token_once_and_stores_only_its_hash(
    settings: Settings, client: TestClient, db: sessionmaker[Session], tmp_path: Path
) -> None:
    exe = Path(sys.executable).with_name("huiqi")
    env = {
        "HUIQI_DATABASE_URL": settings.database_url,
        "HUIQI_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [str(exe), "staff", "create", "管理员乙", "--role", "admin"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    token = done.stdout.strip()
    assert token.startswith("hqs_")
    assert len(token) > 40
    with db() as session:
        staff = session.scalars(select(StaffUser).where(StaffUser.name == "管理员乙")).one()
        stored = [row.token_hash for row in staff.tokens]
    assert staff.role == "admin"
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert client.get(URL, headers={"Authorization": f"Bearer {token}"}).status_code == 200
