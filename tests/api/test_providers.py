"""Societies, branches and experts over HTTP: CRUD, validation with the 422 shape, stored tokens."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.providers.models import Society

pytestmark = pytest.mark.db


def society_payload(**overrides: Any) -> dict[str, Any]:
    """A valid society."""
    payload: dict[str, Any] = {
        "name": "福建省机械工程学会",
        "level": "provincial",
        "cast_group": "工",
        "region_code": "350000",
        "scope": "组织机械工程领域学术交流，开展铸造、焊接、热处理技术咨询与培训。",
        "discipline_codes": ["4602510", "46025"],
        "nsfc_codes": ["e0508"],
        "industry_codes": ["C34"],
        "contact_phone": "0591-87654321",
        "default_capacity": 4,
    }
    payload.update(overrides)
    return payload


def _errors(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}
    return {item["field"]: item["code"] for item in body["errors"]}


def _create_society(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/societies", json=society_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_staff_create_read_list_a_society(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = _create_society(client, admin_headers)
    assert created["region_code"] == "350000000000"
    assert created["nsfc_codes"] == ["E0508"]
    read = client.get(f"/api/v1/societies/{created['id']}", headers=admin_headers).json()
    assert read["scope"].startswith("组织机械工程")
    page = client.get("/api/v1/societies", params={"q": "机械"}, headers=admin_headers).json()
    assert page["total"] == 1
    assert page["items"][0]["id"] == created["id"]


def test_society_tokens_are_stored_on_write_and_follow_edits(
    client: TestClient, admin_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    created = _create_society(client, admin_headers)
    with db() as session:
        tokens = session.scalars(select(Society.tokens)).one()
    assert tokens is not None
    assert "焊接" in tokens[0]
    assert "铸造工艺与设备" in tokens[1]
    patch = {"scope": "开展轴承钢冶炼技术交流"}
    assert (
        client.patch(f"/api/v1/societies/{created['id']}", json=patch, headers=admin_headers).status_code
        == 200
    )
    with db() as session:
        edited = session.scalars(select(Society.tokens)).one()
    assert edited is not None
    assert "轴承钢" in edited[0]
    assert "焊接" not in edited[0]


def test_staff_token_is_required(client: TestClient) -> None:
    assert client.get("/api/v1/societies").status_code == 401
    assert client.post("/api/v1/societies", json=society_payload()).status_code == 401
    assert client.get("/api/v1/experts").status_code == 401


def test_invalid_society_lists_every_bad_field_in_chinese(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    bad = society_payload(
        name="",
        level="county",
        discipline_codes=["99999"],
        nsfc_codes=["Z9"],
        industry_codes=["C99"],
        default_capacity=-1,
        contact_phone="12",
        unknown="x",
    )
    response = client.post("/api/v1/societies", json=bad, headers=admin_headers)
    assert response.status_code == 422
    errors = _errors(response)
    assert errors == {
        "name": "blank",
        "level": "choice_invalid",
        "discipline_codes[0]": "discipline_code_unknown",
        "nsfc_codes[0]": "nsfc_code_unknown",
        "industry_codes[0]": "industry_code_unknown",
        "default_capacity": "number_too_small",
        "contact_phone": "phone_invalid",
        "unknown": "unknown_field",
    }
    messages = {item["field"]: item["message"] for item in response.json()["errors"]}
    assert messages["default_capacity"] == "每轮容量不能小于0"
    assert "Z9" in messages["nsfc_codes[0]"]


def test_duplicate_name_or_code_is_a_conflict(client: TestClient, admin_headers: dict[str, str]) -> None:
    _create_society(client, admin_headers, code="P-01")
    same_name = client.post("/api/v1/societies", json=society_payload(), headers=admin_headers)
    same_code = client.post(
        "/api/v1/societies", json=society_payload(name="另一学会", code="P-01"), headers=admin_headers
    )
    assert (same_name.status_code, same_name.json()["code"]) == (409, "duplicate")
    assert (same_code.status_code, same_code.json()["code"]) == (409, "duplicate")


def test_patch_must_leave_a_valid_society(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = _create_society(client, admin_headers)
    url = f"/api/v1/societies/{created['id']}"
    response = client.patch(url, json={"default_capacity": -3}, headers=admin_headers)
    assert _errors(response) == {"default_capacity": "number_too_small"}
    assert client.patch(url, json={"active": False}, headers=admin_headers).json()["active"] is False
    assert client.get(url, headers=admin_headers).json()["default_capacity"] == 4


def test_missing_society_is_404_in_chinese(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/societies/999", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["detail"] == "学会 999 不存在"


def test_branches_belong_to_their_society(client: TestClient, admin_headers: dict[str, str]) -> None:
    society = _create_society(client, admin_headers)
    branch = {"name": "焊接分会", "scope": "熔焊、压焊与钎焊工艺", "keywords": ["激光焊", "焊接残余应力"]}
    url = f"/api/v1/societies/{society['id']}/branches"
    created = client.post(url, json=branch, headers=admin_headers)
    assert created.status_code == 201
    assert client.post(url, json=branch, headers=admin_headers).status_code == 409
    assert [b["name"] for b in client.get(url, headers=admin_headers).json()] == ["焊接分会"]
    branch_id = created.json()["id"]
    patched = client.patch(
        f"/api/v1/branches/{branch_id}", json={"default_capacity": 1}, headers=admin_headers
    )
    assert patched.json()["default_capacity"] == 1
    assert (
        client.post("/api/v1/societies/999/branches", json=branch, headers=admin_headers).status_code == 404
    )


def test_expert_posts_are_checked(client: TestClient, admin_headers: dict[str, str]) -> None:
    first = _create_society(client, admin_headers)
    second = _create_society(client, admin_headers, name="福建省化工学会")
    branch_url = f"/api/v1/societies/{first['id']}/branches"
    branch = client.post(branch_url, json={"name": "焊接分会"}, headers=admin_headers).json()
    expert = {
        "name": "〔演示〕林工",
        "research_fields": "激光-电弧复合焊接与焊接接头疲劳评定",
        "mobile": "13805912345",
        "posts": [
            {"society_id": 999},
            {"society_id": second["id"], "branch_id": branch["id"]},
            {"society_id": first["id"], "branch_id": branch["id"], "role": "委员"},
            {"society_id": first["id"], "branch_id": branch["id"]},
        ],
    }
    response = client.post("/api/v1/experts", json=expert, headers=admin_headers)
    assert _errors(response) == {
        "posts[0].society_id": "society_not_found",
        "posts[1].branch_id": "branch_not_in_society",
        "posts[3]": "post_repeated",
    }
    expert["posts"] = expert["posts"][2:3]
    created = client.post("/api/v1/experts", json=expert, headers=admin_headers)
    assert created.status_code == 201
    assert created.json()["posts"] == [{"society_id": first["id"], "branch_id": branch["id"], "role": "委员"}]
    listed = client.get("/api/v1/experts", params={"branch_id": branch["id"]}, headers=admin_headers).json()
    assert listed["total"] == 1


def test_deleting_a_society_removes_its_branches_and_posts(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    society = _create_society(client, admin_headers)
    branch = client.post(
        f"/api/v1/societies/{society['id']}/branches", json={"name": "铸造分会"}, headers=admin_headers
    ).json()
    expert = {
        "name": "〔演示〕王工",
        "research_fields": "球墨铸铁熔炼",
        "posts": [{"society_id": society["id"], "branch_id": branch["id"]}],
    }
    expert_id = client.post("/api/v1/experts", json=expert, headers=admin_headers).json()["id"]
    assert client.delete(f"/api/v1/societies/{society['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"/api/v1/branches/{branch['id']}", headers=admin_headers).status_code == 404
    assert client.get(f"/api/v1/experts/{expert_id}", headers=admin_headers).json()["posts"] == []
