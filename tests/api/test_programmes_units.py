"""Standing units: from an accepted pairing or directly, the provider lock, and the activity log."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.matching.models import ConstraintKind, PairConstraint
from tests.api.programme_setup import COUNTY_CODE, ENTERPRISE, SOCIETY_NAME, Setting, build_setting

pytestmark = pytest.mark.db


@pytest.fixture
def setting(client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]) -> Setting:
    """The providers, demand, pairings and reporting units of the tests."""
    return build_setting(client, staff_headers, db)


def _station(setting: Setting, **overrides: Any) -> dict[str, Any]:
    body = {
        "pairing_id": setting.pairing_id,
        "kind": "society_station",
        "level": "provincial",
        "established_on": "2026-07-08",
        "programme": "cxqdzl",
        "lock_provider": True,
    }
    return body | overrides


def test_standing_unit_from_an_accepted_pairing_locks_the_enterprise_and_logs_its_founding(
    client: TestClient, staff_headers: dict[str, str], setting: Setting, db: sessionmaker[Session]
) -> None:
    created = client.post(
        "/api/v1/standing-units/from-pairing", json=_station(setting), headers=staff_headers
    )
    assert created.status_code == 201, created.text
    unit = created.json()
    assert unit["provider_level"] == "society"
    assert unit["provider_id"] == setting.society_id
    assert unit["provider_name"] == SOCIETY_NAME
    assert unit["enterprise_name"] == ENTERPRISE
    assert unit["demand_id"] == setting.demand_id
    assert unit["pairing_id"] == setting.pairing_id
    assert unit["region_code"] == COUNTY_CODE + "000000"
    assert unit["name"] == f"{SOCIETY_NAME}{ENTERPRISE}学会服务站"
    assert unit["programme"]["name"] == "创新驱动助力工程"
    # The society reports its own station's work.
    assert unit["reporting_unit"]["id"] == setting.society_unit

    with db() as session:
        locks = session.scalars(select(PairConstraint)).all()
    assert [(c.demand_id, c.provider_id, c.kind) for c in locks] == [
        (setting.demand_id, setting.society_id, ConstraintKind.LOCK)
    ]

    log = client.get(f"/api/v1/standing-units/{unit['id']}/activities", headers=staff_headers).json()
    assert [(item["kind"], item["report_table"], item["occurred_on"]) for item in log] == [
        ("platform", 2, "2026-07-08")
    ]
    again = client.post("/api/v1/standing-units/from-pairing", json=_station(setting), headers=staff_headers)
    assert again.status_code == 409


def test_a_proposed_pairing_cannot_found_a_unit(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    body = _station(setting, pairing_id=setting.proposed_pairing_id)
    answer = client.post("/api/v1/standing-units/from-pairing", json=body, headers=staff_headers)
    assert answer.status_code == 409
    missing = client.post(
        "/api/v1/standing-units/from-pairing", json=_station(setting, pairing_id=999), headers=staff_headers
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["code"] == "pairing_not_found"


def test_activities_of_a_standing_unit_in_its_log_newest_first(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    unit = client.post(
        "/api/v1/standing-units/from-pairing", json=_station(setting), headers=staff_headers
    ).json()
    path = f"/api/v1/standing-units/{unit['id']}/activities"
    visit = {
        "kind": "visit",
        "title": "专家走访",
        "content": "走访车间",
        "occurred_on": "2026-07-20",
        "experts": 3,
    }
    agreement = {
        "kind": "agreement",
        "title": "签订技术开发合同",
        "content": "铸件缺陷检测",
        "occurred_on": "2026-08-20",
        "amount_wan": "50.00",
        "enterprises": 1,
    }
    for body in (visit, agreement):
        answer = client.post(path, json=body, headers=staff_headers)
        assert answer.status_code == 201, answer.text
    log = client.get(path, headers=staff_headers).json()
    assert [(item["kind"], item["report_table"]) for item in log] == [
        ("agreement", 2),
        ("visit", 3),
        ("platform", 2),
    ]
    assert log[0]["amount_wan"] == "50.00"
    assert {item["reporting_unit_id"] for item in log} == {setting.society_unit}
    assert log[0]["programme_id"] == unit["programme"]["id"]
    bad = client.post(path, json=visit | {"participants": -1, "report_table": 4}, headers=staff_headers)
    assert bad.status_code == 422
    assert {error["field"] for error in bad.json()["errors"]} == {"participants", "report_table"}


def test_expert_workstation_registered_directly_reports_through_the_county(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    body = {
        "kind": "expert_workstation",
        "level": "municipal",
        "established_on": "2026-05-10",
        "provider_level": "expert",
        "provider_id": setting.expert_id,
        "enterprise_name": "上杭县紫金精密铸造有限公司",
        "region_code": "350823",
    }
    created = client.post("/api/v1/standing-units", json=body, headers=staff_headers)
    assert created.status_code == 201, created.text
    unit = created.json()
    assert unit["name"] == "林志远院士专家工作站（上杭县紫金精密铸造有限公司）"
    assert unit["reporting_unit"]["name"] == "上杭县科协"
    assert unit["lock_provider"] is False
    patched = client.patch(
        f"/api/v1/standing-units/{unit['id']}", json={"status": "suspended"}, headers=staff_headers
    )
    assert patched.json()["status"] == "suspended"
    unknown = client.post("/api/v1/standing-units", json=body | {"provider_id": 999}, headers=staff_headers)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "provider_id"


def test_an_activity_with_a_blank_title_is_told_about_its_own_title(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    body = {"kind": "visit", "title": " ", "content": "走访", "occurred_on": "2026-07-01"}
    body["reporting_unit_id"] = setting.society_unit
    response = client.post("/api/v1/activities", json=body, headers=staff_headers)
    assert response.status_code == 422, response.text
    errors = {item["field"]: item["message"] for item in response.json()["errors"]}
    assert "活动名称" in errors["title"]
    assert "技术需求名称" not in errors["title"]
