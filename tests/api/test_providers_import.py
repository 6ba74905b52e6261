"""Bulk import of providers (strict / keep_valid, per-row report) and demand preferences."""

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.providers.models import Society
from api.providers.service import preferences_for
from api.security.models import AuditEntry
from tests.api.factories import demand_payload

pytestmark = pytest.mark.db

IMPORT = "/api/v1/providers/import"
SOCIETIES_CSV = (
    "name,code,level,cast_group,scope,discipline_codes,industry_codes,default_capacity,active\n"
    "福建省机械工程学会,FJ-01,provincial,工,铸造与焊接技术服务,4602510;46025,C34,4,是\n"
    "福建省化工学会,FJ-02,provincial,工,精细化工,99999,C26,-1,是\n"
    "福建省农学会,FJ-03,provincial,农,水稻栽培与植保,,A01,3,否\n"
)


def _societies(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Society)) or 0


def _upload(client: TestClient, headers: dict[str, str], name: str, data: bytes, **params: str) -> Any:
    files = {"file": (name, data)}
    return client.post(IMPORT, params={"level": "society", **params}, files=files, headers=headers)


def test_strict_import_keeps_nothing_when_a_row_is_bad(
    client: TestClient, admin_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    response = _upload(client, admin_headers, "societies.csv", SOCIETIES_CSV.encode())
    report = response.json()
    assert response.status_code == 200
    assert (report["total"], report["imported"], report["rejected"]) == (3, 0, 1)
    assert [row["status"] for row in report["rows"]] == ["valid", "rejected", "valid"]
    bad = {error["field"]: error["code"] for error in report["rows"][1]["errors"]}
    assert bad == {"discipline_codes[0]": "discipline_code_unknown", "default_capacity": "number_too_small"}
    assert report["rows"][1]["line"] == 3
    assert _societies(db) == 0


def test_keep_valid_import_keeps_the_good_rows(
    client: TestClient, admin_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    response = _upload(client, admin_headers, "societies.csv", SOCIETIES_CSV.encode(), mode="keep_valid")
    report = response.json()
    assert (report["imported"], report["rejected"]) == (2, 1)
    assert _societies(db) == 2
    with db() as session:
        farming = session.scalars(select(Society).where(Society.code == "FJ-03")).one()
    assert farming.active is False
    assert farming.tokens is not None


def _audited(db: sessionmaker[Session]) -> list[tuple[str, str, str | None, str]]:
    with db() as session:
        query = select(AuditEntry).where(AuditEntry.target_kind == "society").order_by(AuditEntry.id)
        entries = session.scalars(query)
        return [(e.action, e.staff_name, e.target_id, (e.after or {}).get("code", "")) for e in entries]


def test_provider_imports_are_audited_row_by_row_and_only_when_kept(
    client: TestClient, admin_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    # Providers are imported through the ORM, one savepoint per row (at most 5,000 rows), so the
    # audit flush hook logs each new society; a refused strict import rolls its entries back.
    _upload(client, admin_headers, "societies.csv", SOCIETIES_CSV.encode())
    assert _audited(db) == []
    report = _upload(client, admin_headers, "societies.csv", SOCIETIES_CSV.encode(), mode="keep_valid").json()
    first, _, third = (str(row["id"]) for row in report["rows"])
    assert _audited(db) == [
        ("society.create", "管理员甲", first, "FJ-01"),
        ("society.create", "管理员甲", third, "FJ-03"),
    ]


def test_xlsx_branches_name_their_society_by_code(
    client: TestClient, admin_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    _upload(client, admin_headers, "societies.csv", SOCIETIES_CSV.encode(), mode="keep_valid")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["society_code", "name", "scope", "keywords"])
    sheet.append(["FJ-01", "焊接分会", "熔焊与钎焊", "激光焊；钎焊"])
    sheet.append(["XX-99", "铸造分会", "砂型铸造", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    response = _upload(
        client, admin_headers, "branches.xlsx", buffer.getvalue(), level="branch", mode="keep_valid"
    )
    report = response.json()
    assert [row["status"] for row in report["rows"]] == ["imported", "rejected"]
    assert report["rows"][1]["errors"][0]["code"] == "society_not_found"
    branch = client.get(f"/api/v1/branches/{report['rows'][0]['id']}", headers=admin_headers).json()
    assert branch["keywords"] == ["激光焊", "钎焊"]


def test_unknown_file_type_is_refused(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = _upload(client, admin_headers, "societies.txt", b"name\n")
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "file_type_invalid"


def _society(client: TestClient, headers: dict[str, str], name: str) -> int:
    body = {"name": name, "level": "provincial"}
    society_id: int = client.post("/api/v1/societies", json=body, headers=headers).json()["id"]
    return society_id


def test_enterprise_states_preferences_on_its_own_demand(
    client: TestClient, admin_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    wanted, refused = _society(client, admin_headers, "甲学会"), _society(client, admin_headers, "乙学会")
    receipt = client.post("/api/v1/demands", json=demand_payload()).json()
    other = client.post("/api/v1/demands", json=demand_payload(title="另一需求")).json()
    url = f"/api/v1/demands/{receipt['id']}/preferences"
    own = {"X-Receipt-Token": receipt["receipt_token"]}
    prefer = {"provider_level": "society", "provider_id": wanted, "kind": "prefer"}
    refuse = {"provider_level": "society", "provider_id": refused, "kind": "refuse", "reason": "曾有合作纠纷"}
    assert client.post(url, json=prefer, headers=own).status_code == 201
    assert client.post(url, json=refuse, headers=admin_headers).status_code == 201
    assert client.post(url, json=prefer, headers=own).status_code == 409
    foreign = {"X-Receipt-Token": other["receipt_token"]}
    assert client.get(url, headers=foreign).status_code == 403
    assert client.get(url).status_code == 401
    missing = client.post(url, json={**prefer, "provider_id": 999}, headers=own)
    assert missing.json()["errors"][0] == {
        "field": "provider_id",
        "code": "provider_not_found",
        "message": "学会 999 不存在",
    }
    kinds = {p["provider_id"]: p["kind"] for p in client.get(url, headers=own).json()}
    assert kinds == {wanted: "prefer", refused: "refuse"}
    with db() as session:
        stored = preferences_for(session, demand_ids=[receipt["id"], other["id"]])
    assert {(p.provider_id, p.kind.value) for p in stored} == {(wanted, "prefer"), (refused, "refuse")}


def test_preferences_go_with_their_provider_and_can_be_withdrawn(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    first, second = _society(client, admin_headers, "甲学会"), _society(client, admin_headers, "乙学会")
    receipt = client.post("/api/v1/demands", json=demand_payload()).json()
    url = f"/api/v1/demands/{receipt['id']}/preferences"
    own = {"X-Receipt-Token": receipt["receipt_token"]}
    for society_id in (first, second):
        body = {"provider_level": "society", "provider_id": society_id, "kind": "refuse"}
        client.post(url, json=body, headers=own)
    client.delete(f"/api/v1/societies/{first}", headers=admin_headers)
    (remaining,) = client.get(url, headers=own).json()
    assert remaining["provider_id"] == second
    assert client.delete(f"{url}/{remaining['id']}", headers=own).status_code == 204
    assert client.get(url, headers=own).json() == []
    assert client.delete(f"{url}/{remaining['id']}", headers=own).status_code == 404
