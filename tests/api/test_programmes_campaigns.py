"""Programmes and collection campaigns: launch, submissions, dashboard, close, late refusal, override."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand
from api.programmes.campaigns import SEED_PROGRAMMES, seed_programmes
from api.programmes.periods import china_today
from api.providers.models import Society, SocietyLevel
from tests.api.factories import demand_payload

pytestmark = pytest.mark.db


@pytest.fixture
def society_id(db: sessionmaker[Session]) -> int:
    """A society that forwards demands (汇总填报)."""
    with db.begin() as session:
        seed_programmes(session)
        society = Society(name="福建省机械工程学会", level=SocietyLevel.PROVINCIAL)
        session.add(society)
        session.flush()
        return society.id


def _campaign(**overrides: Any) -> dict[str, Any]:
    today = china_today()
    body: dict[str, Any] = {
        "code": "2026-cxzx-ly",
        "name": "2026年龙岩市企事业单位技术需求征集",
        "programme": "cxzx",
        "organiser": "龙岩市科学技术协会",
        "regions": ["350800"],
        "opens_on": (today - timedelta(days=10)).isoformat(),
        "closes_on": (today + timedelta(days=5)).isoformat(),
    }
    return body | overrides


def _submit(client: TestClient, campaign_id: int, **overrides: Any) -> Any:
    return client.post("/api/v1/demands", json=demand_payload(campaign_id=campaign_id, **overrides))


def test_programmes_are_seeded_once_and_listed(
    client: TestClient, staff_headers: dict[str, str], society_id: int, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        assert seed_programmes(session) == 0
    listed = client.get("/api/v1/programmes", headers=staff_headers).json()
    assert [item["code"] for item in listed] == [code for code, _, _ in SEED_PROGRAMMES]
    assert listed[0]["name"] == "创新争先行动"


def test_campaign_from_launch_to_close_with_dashboard_and_late_override(
    client: TestClient, staff_headers: dict[str, str], society_id: int, db: sessionmaker[Session]
) -> None:
    launched = client.post("/api/v1/campaigns", json=_campaign(), headers=staff_headers)
    assert launched.status_code == 201, launched.text
    campaign = launched.json()
    assert campaign["programme"]["name"] == "创新争先行动"
    assert campaign["form"] == "附件1"
    assert campaign["regions"] == ["350800000000"]

    # Two demands from 上杭县, one from 新罗区 forwarded by a society, one with no region.
    for name, region, society in (
        ("上杭甲公司", "350823", None),
        ("上杭乙公司", "350823", None),
        ("新罗丙公司", "350802", society_id),
    ):
        fields = {"org_name": name, "region_code": region, "collected_by_society_id": society}
        answer = _submit(client, campaign["id"], **fields)
        assert answer.status_code == 201, answer.text
    no_region = _submit(client, campaign["id"], org_name="无地区公司", address=None, region_code=None)
    assert no_region.status_code == 201

    closed = client.post(f"/api/v1/campaigns/{campaign['code']}/close", headers=staff_headers)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    again = client.post(f"/api/v1/campaigns/{campaign['id']}/close", headers=staff_headers)
    assert again.status_code == 409

    refused = _submit(client, campaign["id"], org_name="迟到丁公司", region_code="350823")
    assert refused.status_code == 409
    assert refused.json()["code"] == "campaign_closed"
    # Closed early: the refusal names the day staff closed it, not the planned closing date.
    assert f"已于{china_today():%Y年%m月%d日}截止" in refused.json()["detail"]

    granted = client.post(
        f"/api/v1/campaigns/{campaign['id']}/overrides",
        json={"org_name": "迟到丁公司", "reason": "县科协汇总时遗漏，6月14日已纸质报送"},
        headers=staff_headers,
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["staff_name"] == "审核员甲"
    # The override is for that enterprise only, and for one submission.
    other = _submit(client, campaign["id"], org_name="其他戊公司", region_code="350823")
    assert other.status_code == 409
    late = _submit(client, campaign["id"], org_name="迟到丁公司", region_code="350823")
    assert late.status_code == 201, late.text
    twice = _submit(client, campaign["id"], org_name="迟到丁公司", region_code="350823", title="第二项需求")
    assert twice.status_code == 409

    history = client.get(f"/api/v1/demands/{late.json()['id']}", headers=staff_headers).json()
    assert history["campaign_id"] == campaign["id"]
    assert [event["kind"] for event in history["events"]] == ["submitted", "late_admitted"]
    assert "县科协汇总时遗漏" in history["events"][1]["reason"]
    assert history["events"][1]["staff_name"] == "审核员甲"

    dashboard = client.get(f"/api/v1/campaigns/{campaign['id']}/dashboard", headers=staff_headers).json()
    assert dashboard["total"] == 5
    assert dashboard["accepting"] is False
    assert dashboard["days_left"] == 0
    counties = {row["name"]: row["count"] for row in dashboard["by_county"]}
    assert counties == {"上杭县": 3, "新罗区": 1, "未填地区": 1}
    assert dashboard["by_county"][0] == {"key": "350823", "name": "上杭县", "count": 3}
    assert dashboard["by_society"] == [{"key": str(society_id), "name": "福建省机械工程学会", "count": 1}]
    assert dashboard["by_day"] == [{"day": china_today().isoformat(), "count": 5}]
    assert [row["org_name"] for row in dashboard["late"]] == ["迟到丁公司"]
    assert dashboard["late"][0]["granted_by"] == "审核员甲"
    assert dashboard["overrides_unused"] == []


def test_submission_after_the_closing_date_is_refused_even_while_open(
    client: TestClient, staff_headers: dict[str, str], society_id: int
) -> None:
    yesterday = china_today() - timedelta(days=1)
    body = _campaign(opens_on=(yesterday - timedelta(days=30)).isoformat(), closes_on=yesterday.isoformat())
    campaign = client.post("/api/v1/campaigns", json=body, headers=staff_headers).json()
    answer = _submit(client, campaign["id"])
    assert answer.status_code == 409
    assert f"{yesterday:%Y年%m月%d日}截止" in answer.json()["detail"]
    dashboard = client.get(f"/api/v1/campaigns/{campaign['code']}/dashboard", headers=staff_headers).json()
    assert dashboard["total"] == 0
    assert dashboard["days_left"] == 0


def test_campaign_not_yet_open_and_unknown_campaign(
    client: TestClient, staff_headers: dict[str, str], society_id: int, db: sessionmaker[Session]
) -> None:
    tomorrow = china_today() + timedelta(days=1)
    body = _campaign(opens_on=tomorrow.isoformat(), closes_on=(tomorrow + timedelta(days=9)).isoformat())
    campaign = client.post("/api/v1/campaigns", json=body, headers=staff_headers).json()
    early = _submit(client, campaign["id"])
    assert early.status_code == 409
    assert early.json()["code"] == "campaign_not_open"
    unknown = _submit(client, 9999)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "campaign_id"
    bad_society = _submit(client, campaign["id"], collected_by_society_id=9999)
    assert bad_society.json()["errors"][0]["field"] == "collected_by_society_id"
    with db() as session:
        assert session.scalars(select(Demand)).all() == []


def test_campaign_validation_errors_name_the_fields(
    client: TestClient, staff_headers: dict[str, str], society_id: int
) -> None:
    today = china_today()
    bad_region = client.post("/api/v1/campaigns", json=_campaign(regions=["999999"]), headers=staff_headers)
    assert bad_region.status_code == 422
    assert [error["field"] for error in bad_region.json()["errors"]] == ["regions[0]"]
    backwards = _campaign(closes_on=(today - timedelta(days=30)).isoformat())
    answer = client.post("/api/v1/campaigns", json=backwards, headers=staff_headers)
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "closes_on", "code": "dates_out_of_order", "message": "截止日期不能早于开始日期"}
    ]
    nope = _campaign(programme="nope")
    unknown_programme = client.post("/api/v1/campaigns", json=nope, headers=staff_headers)
    assert unknown_programme.status_code == 422
    assert unknown_programme.json()["errors"][0]["code"] == "programme_not_found"
    assert client.post("/api/v1/campaigns", json=_campaign(), headers=staff_headers).status_code == 201
    assert client.post("/api/v1/campaigns", json=_campaign(), headers=staff_headers).status_code == 409
    assert client.get("/api/v1/campaigns").status_code == 401
