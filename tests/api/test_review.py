"""Staff review: listing with filters, edits under the same rules, and the status workflow."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.factories import demand_payload

pytestmark = pytest.mark.db

URL = "/api/v1/demands"


def _submit(client: TestClient, **overrides: Any) -> int:
    response = client.post(URL, json=demand_payload(**overrides))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _move(
    client: TestClient, headers: dict[str, str], demand_id: int, to: str, reason: str | None = None
) -> Any:
    return client.post(f"{URL}/{demand_id}/transitions", json={"to": to, "reason": reason}, headers=headers)


def test_the_workflow_records_who_when_from_to_and_why(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    demand_id = _submit(client)
    assert _move(client, staff_headers, demand_id, "in_review").status_code == 200
    response = _move(client, staff_headers, demand_id, "returned", "请补充现有配方的测试数据")
    assert response.status_code == 200
    assert _move(client, staff_headers, demand_id, "closed").json()["status"] == "closed"
    events = client.get(f"{URL}/{demand_id}", headers=staff_headers).json()["events"]
    steps = [(event["from_status"], event["to_status"], event["staff_name"]) for event in events]
    assert steps == [
        (None, "submitted", None),
        ("submitted", "in_review", "审核员甲"),
        ("in_review", "returned", "审核员甲"),
        ("returned", "closed", "审核员甲"),
    ]
    assert events[2]["reason"] == "请补充现有配方的测试数据"
    assert all(event["created_at"].endswith("Z") for event in events)


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], "published"),
        ([], "closed"),
        (["in_review", "published"], "in_review"),
        (["in_review"], "submitted"),
    ],
)
def test_an_illegal_transition_is_409_with_the_reason(
    client: TestClient, staff_headers: dict[str, str], path: list[str], to: str
) -> None:
    demand_id = _submit(client)
    for step in path:
        assert _move(client, staff_headers, demand_id, step).status_code == 200
    response = _move(client, staff_headers, demand_id, to)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert "不能改为" in body["detail"]
    assert "可改为" in body["detail"]
    assert (
        client.get(f"{URL}/{demand_id}", headers=staff_headers).json()["status"]
        == (path or ["submitted"])[-1]
    )


def test_returning_needs_a_reason(client: TestClient, staff_headers: dict[str, str]) -> None:
    demand_id = _submit(client)
    _move(client, staff_headers, demand_id, "in_review")
    response = _move(client, staff_headers, demand_id, "returned", "   ")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reason"
    assert response.json()["errors"][0]["code"] == "reason_required"


def test_an_unknown_status_is_a_422(client: TestClient, staff_headers: dict[str, str]) -> None:
    demand_id = _submit(client)
    response = _move(client, staff_headers, demand_id, "approved")
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "choice_invalid"


def test_missing_demands_are_404(client: TestClient, staff_headers: dict[str, str]) -> None:
    assert client.get(f"{URL}/999999", headers=staff_headers).status_code == 404
    assert _move(client, staff_headers, 999999, "in_review").json()["code"] == "not_found"


def test_an_edit_is_recorded_with_its_changes(client: TestClient, staff_headers: dict[str, str]) -> None:
    demand_id = _submit(client)
    response = client.patch(
        f"{URL}/{demand_id}", json={"title": "  新的需求名称 ", "postcode": "350002"}, headers=staff_headers
    )
    assert response.status_code == 200
    demand = response.json()
    assert (demand["title"], demand["postcode"]) == ("新的需求名称", "350002")
    changes = demand["events"][-1]["changes"]
    assert changes["title"] == {"from": "耐水解聚氨酯弹性体配方开发", "to": "新的需求名称"}
    assert demand["events"][-1]["staff_name"] == "审核员甲"


@pytest.mark.parametrize(
    ("patch", "errors"),
    [
        ({"mobile": "123"}, {"mobile": "mobile_invalid"}),
        ({"org_name": None}, {"org_name": "required"}),
        ({"title": ""}, {"title": "blank"}),
        ({"mobile": None, "office_phone": None}, {"mobile": "contact_phone_required"}),
        ({"industry_code": "X1"}, {"industry_code": "industry_code_unknown"}),
        ({"status": "published"}, {"status": "unknown_field"}),
    ],
)
def test_an_edit_follows_the_submission_rules_and_changes_nothing_when_refused(
    client: TestClient, staff_headers: dict[str, str], patch: dict[str, Any], errors: dict[str, str]
) -> None:
    demand_id = _submit(client)
    before = client.get(f"{URL}/{demand_id}", headers=staff_headers).json()
    response = client.patch(f"{URL}/{demand_id}", json=patch, headers=staff_headers)
    assert response.status_code == 422
    assert {item["field"]: item["code"] for item in response.json()["errors"]} == errors
    assert client.get(f"{URL}/{demand_id}", headers=staff_headers).json() == before


def test_a_new_address_moves_a_suggested_region(client: TestClient, staff_headers: dict[str, str]) -> None:
    demand_id = _submit(client)
    response = client.patch(
        f"{URL}/{demand_id}", json={"address": "厦门市思明区湖滨南路1号"}, headers=staff_headers
    )
    assert response.json()["region_code"] == "350203000000"


def _titles(client: TestClient, headers: dict[str, str], **params: Any) -> tuple[list[str], int]:
    response = client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return [item["title"] for item in body["items"]], body["total"]


def test_the_list_filters_by_status_text_region_and_industry(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    first = _submit(client, title="鞋底发泡配方", region_code="350582", industry_code="C1952")
    _submit(
        client,
        title="电池黑粉浸出",
        region_code="350981",
        industry_code="C4210",
        description="锂优先提取工艺",
    )
    _submit(client, title="火锅底料杀菌", region_code="500112", industry_code="C1469")
    _move(client, staff_headers, first, "in_review")
    assert _titles(client, staff_headers, status="in_review") == (["鞋底发泡配方"], 1)
    assert _titles(client, staff_headers, q="锂优先") == (["电池黑粉浸出"], 1)
    assert _titles(client, staff_headers, region="35")[1] == 2
    assert _titles(client, staff_headers, region="350500000000") == (["鞋底发泡配方"], 1)
    assert _titles(client, staff_headers, industry="C14") == (["火锅底料杀菌"], 1)
    assert _titles(client, staff_headers, industry="14") == (["火锅底料杀菌"], 1)
    assert _titles(client, staff_headers, q="100%_") == ([], 0)


def test_the_list_pages_newest_first_with_the_total(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    for number in range(5):
        _submit(client, title=f"需求{number}")
    assert _titles(client, staff_headers, page=1, page_size=2) == (["需求4", "需求3"], 5)
    assert _titles(client, staff_headers, page=3, page_size=2) == (["需求0"], 5)
    response = client.get(URL, params={"page_size": 101}, headers=staff_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "page_size"
