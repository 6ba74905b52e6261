"""Account status and token lifetime: a disabled account neither signs in nor uses a token."""

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.auth.passwords import set_password
from api.auth.service import create_staff
from api.db import StaffRole, StaffStatus, StaffToken, StaffUser
from api.db.base import utcnow
from tests.web.conftest import PASSWORD, csrf_of

pytestmark = pytest.mark.db


def _member(db: sessionmaker[Session], name: str = "将离职的审核员") -> tuple[int, dict[str, str]]:
    """A reviewer with a password and a token: (id, bearer headers)."""
    with db.begin() as session:
        staff, token = create_staff(session, name=name, role=StaffRole.REVIEWER)
        set_password(staff, PASSWORD)
        return staff.id, {"Authorization": f"Bearer {token}"}


def _sign_in(client: TestClient, name: str) -> int:
    token = csrf_of(client.get("/login").text)
    data = {"name": name, "password": PASSWORD, "csrf_token": token}
    return client.post("/login", data=data, follow_redirects=False).status_code


def test_a_revoked_staff_member_can_no_longer_sign_in(
    client: TestClient, db: sessionmaker[Session], admin_headers: dict[str, str]
) -> None:
    """Reproduction: revoke answered 204, then POST /login with the same password signed in again."""
    staff_id, headers = _member(db)
    assert _sign_in(client, "将离职的审核员") == 303
    assert client.get("/demands", follow_redirects=False).status_code == 200
    assert client.post(f"/api/v1/staff/{staff_id}/revoke", headers=admin_headers).status_code == 204
    assert client.get("/demands", follow_redirects=False).status_code in {302, 303}  # session ended
    assert _sign_in(client, "将离职的审核员") == 401
    assert client.get("/api/v1/demands", headers=headers).status_code == 401
    listed = {item["id"]: item for item in client.get("/api/v1/staff", headers=admin_headers).json()}
    assert listed[staff_id]["status"] == "disabled"


def test_an_account_is_disabled_and_enabled_through_the_api(
    client: TestClient, db: sessionmaker[Session], admin_headers: dict[str, str]
) -> None:
    staff_id, old = _member(db)
    url = f"/api/v1/staff/{staff_id}"
    disabled = client.patch(url, json={"status": "disabled"}, headers=admin_headers)
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "disabled"
    assert _sign_in(client, "将离职的审核员") == 401
    refused = client.post(f"{url}/tokens", headers=admin_headers)
    assert refused.status_code == 409
    assert "已停用" in refused.json()["detail"]
    assert client.patch(url, json={"status": "active"}, headers=admin_headers).json()["status"] == "active"
    assert _sign_in(client, "将离职的审核员") == 303
    assert client.get("/api/v1/demands", headers=old).status_code == 401  # disabling revoked them for good
    fresh = client.post(f"{url}/tokens", headers=admin_headers).json()["token"]
    assert client.get("/api/v1/demands", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_the_status_is_checked_at_every_token_use(client: TestClient, db: sessionmaker[Session]) -> None:
    """A token that was never revoked stops working the moment its account is disabled."""
    staff_id, headers = _member(db)
    assert client.get("/api/v1/demands", headers=headers).status_code == 200
    with db.begin() as session:
        session.execute(update(StaffUser).where(StaffUser.id == staff_id).values(status=StaffStatus.DISABLED))
    answer = client.get("/api/v1/demands", headers=headers)
    assert answer.status_code == 401
    assert "停用" in answer.json()["detail"]


def test_the_status_is_checked_for_a_signed_in_browser(client: TestClient, db: sessionmaker[Session]) -> None:
    staff_id, _ = _member(db)
    assert _sign_in(client, "将离职的审核员") == 303
    with db.begin() as session:
        session.execute(update(StaffUser).where(StaffUser.id == staff_id).values(status=StaffStatus.DISABLED))
    assert client.get("/demands", follow_redirects=False).status_code in {302, 303}


def test_the_last_active_admin_cannot_be_disabled(
    client: TestClient, db: sessionmaker[Session], admin_headers: dict[str, str]
) -> None:
    own = next(item for item in client.get("/api/v1/staff", headers=admin_headers).json())
    for route in (
        client.patch(f"/api/v1/staff/{own['id']}", json={"status": "disabled"}, headers=admin_headers),
        client.post(f"/api/v1/staff/{own['id']}/revoke", headers=admin_headers),
    ):
        assert route.status_code == 409
        assert "管理员" in route.json()["detail"]


def test_an_empty_change_is_refused_in_chinese(
    client: TestClient, db: sessionmaker[Session], admin_headers: dict[str, str]
) -> None:
    staff_id, _ = _member(db)
    answer = client.patch(f"/api/v1/staff/{staff_id}", json={}, headers=admin_headers)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["message"] == "请至少填写角色或账号状态中的一项"


@pytest.mark.parametrize(("days", "age_days", "status"), [(30, 31, 401), (30, 29, 200), (0, 3000, 200)])
def test_staff_tokens_expire_after_the_configured_days(
    app: FastAPI, db: sessionmaker[Session], days: int, age_days: int, status: int
) -> None:
    """Reproduction: staff tokens never expired. ``HUIQI_STAFF_TOKEN_DAYS`` (0: never)."""
    app.state.settings = app.state.settings.model_copy(update={"staff_token_days": days})
    staff_id, headers = _member(db)
    with db.begin() as session:
        issued = utcnow() - timedelta(days=age_days)
        session.execute(update(StaffToken).where(StaffToken.staff_id == staff_id).values(created_at=issued))
    with TestClient(app) as client:
        assert client.get("/api/v1/demands", headers=headers).status_code == status
