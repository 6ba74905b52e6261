"""Match lists, rounds run by the worker, coverage diagnosis, review with versions, stability."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import matcher
from api.db.models import Demand, DemandStatus
from api.errors import ERROR_TABLE
from api.matching.models import Job, JobStatus, Pairing
from api.providers.models import DemandPreference, PreferenceKind, ProviderLevel
from api.worker import work_once
from tests.api.matching_helpers import add_demands, add_societies

pytestmark = pytest.mark.db

Factory = sessionmaker[Session]


def _round(client: TestClient, headers: dict[str, str], db: Factory, body: Any = None) -> dict[str, Any]:
    response = client.post("/api/v1/rounds", json=body if body is not None else {}, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    assert work_once(db, "test-worker") is not None
    return dict(client.get(f"/api/v1/rounds/{response.json()['id']}", headers=headers).json())


def _pairings(client: TestClient, headers: dict[str, str], round_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/rounds/{round_id}/pairings", headers=headers)
    assert response.status_code == 200
    return list(response.json()["items"])


def _move(client: TestClient, headers: dict[str, str], pairing: dict[str, Any], **body: Any) -> Any:
    version = body.pop("if_match", pairing["version"])
    return client.post(
        f"/api/v1/pairings/{pairing['id']}/transitions",
        json=body,
        headers={**headers, "If-Match": f'"{version}"'} if version is not None else headers,
    )


def test_a_submitted_demand_gets_ranked_societies_with_chinese_reasons(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    ids = add_societies(db)
    [demand_id, *_] = add_demands(db)
    response = client.get(f"/api/v1/demands/{demand_id}/matches?limit=3", headers=staff_headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items[0]["provider_id"] == ids["中国材料研究学会"]
    assert [item["rank"] for item in items] == list(range(1, len(items) + 1))
    assert items[0]["score"] > items[-1]["score"]
    terms = {reason["term"]: reason["field"] for reason in items[0]["reasons"]}
    assert terms["聚氨酯"] == "技术需求名称"
    assert "聚氨酯" in items[0]["explanation"]
    assert items[0]["remaining_capacity"] == items[0]["capacity"] == 5
    assert items[0]["excluded"] is False


def test_every_listed_pair_marks_a_demand_phrase_and_a_round_names_the_same_terms(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    [demand_id, *_] = add_demands(db)
    items = client.get(f"/api/v1/demands/{demand_id}/matches", headers=staff_headers).json()["items"]
    with db() as session:
        demand = session.get(Demand, demand_id)
        assert demand is not None
        text = f"{demand.title}：{demand.description}"
    # Every pair shown has a reason; a phrase is the demand's own words, holding a named term.
    assert all(item["reasons"] or item["demand_sentence"] for item in items)
    top = items[0]
    assert top["demand_sentence"] in text
    assert any(reason["term"] in top["demand_sentence"] for reason in top["reasons"])
    assert top["demand_sentence"] in top["explanation"]
    round_ = _round(client, staff_headers, db, {"demand_ids": [demand_id]})
    pairing = next(
        p
        for p in _pairings(client, staff_headers, round_["id"])
        if (p["demand_id"], p["provider_id"]) == (demand_id, top["provider_id"])
    )
    assert pairing["reasons"] == top["reasons"]


def test_an_enterprise_refusal_marks_the_provider_excluded(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    ids = add_societies(db)
    [demand_id, *_] = add_demands(db)
    with db.begin() as session:
        session.add(
            DemandPreference(
                demand_id=demand_id,
                provider_level=ProviderLevel.SOCIETY,
                provider_id=ids["中国材料研究学会"],
                kind=PreferenceKind.REFUSE,
                reason="已有合作",
            )
        )
    items = client.get(f"/api/v1/demands/{demand_id}/matches", headers=staff_headers).json()["items"]
    refused = next(item for item in items if item["provider_id"] == ids["中国材料研究学会"])
    assert refused["excluded"] is True
    assert refused["constraints"] == ["企业拒绝：已有合作"]
    round_ = _round(client, staff_headers, db)
    assert all(
        p["provider_id"] != refused["provider_id"] or p["demand_id"] != demand_id
        for p in _pairings(client, staff_headers, round_["id"])
    )


def test_matches_need_staff_and_an_existing_demand(client: TestClient, staff_headers: dict[str, str]) -> None:
    assert client.get("/api/v1/demands/1/matches").status_code == 401
    response = client.get("/api/v1/demands/999/matches", headers=staff_headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert client.get("/api/v1/demands/1/matches?level=city", headers=staff_headers).status_code == 422


def test_an_empty_body_matches_every_published_demand_against_active_societies(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    ids = add_societies(db)
    demand_ids = add_demands(db)
    add_demands(db, [("未审核的需求", "聚氨酯")], status=DemandStatus.SUBMITTED)
    round_ = _round(client, staff_headers, db)
    assert round_["status"] == "succeeded", round_["error"]
    assert (round_["stage"], round_["percent"]) == ("save", 100)
    assert round_["counts"]["demands"] == 3
    assert set(round_["timings"]) >= {"tokenize", "vectorize", "candidates", "solve", "save", "total"}
    pairings = _pairings(client, staff_headers, round_["id"])
    assert {(p["demand_id"], p["provider_id"]) for p in pairings} == set(
        zip(
            demand_ids, [ids["中国材料研究学会"], ids["中国农学会"], ids["中国生物医学工程学会"]], strict=True
        )
    )
    assert all(p["status"] == "proposed" and p["rank"] == 1 and p["reasons"] for p in pairings)


def test_coverage_diagnosis_names_capacity_and_the_relaxation_that_serves_the_most(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    ids = add_societies(db, capacity=1)
    texts = [("聚氨酯弹性体耐水解", "聚氨酯弹性体"), ("聚氨酯工程塑料改性", "聚氨酯"), ("量子引力", "弦论")]
    demand_ids = add_demands(db, texts)
    only_materials = {"provider_ids": [ids["中国材料研究学会"]]}
    round_ = _round(client, staff_headers, db, only_materials)
    assert round_["counts"]["served"] == 1
    diagnosis = client.get(f"/api/v1/rounds/{round_['id']}/diagnosis", headers=staff_headers).json()
    reasons = {u["demand_id"]: u["reason"] for u in diagnosis["unserved"]}
    served = next(p["demand_id"] for p in _pairings(client, staff_headers, round_["id"]))
    waiting = ({demand_ids[0], demand_ids[1]} - {served}).pop()
    assert reasons == {waiting: "capacity", demand_ids[2]: "no_candidate"}
    [relaxation] = diagnosis["relaxations"]
    assert relaxation["provider_id"] == ids["中国材料研究学会"]
    assert relaxation["serves"][0]["demand_id"] == waiting
    assert relaxation["gain"] > 0
    assert relaxation["capacity_price"] >= 0


def test_review_lifecycle_records_who_and_when_and_refuses_stale_versions(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    add_demands(db)
    pairing = _pairings(client, staff_headers, _round(client, staff_headers, db)["id"])[0]
    assert _move(client, staff_headers, pairing, action="accept", if_match=None).status_code == 428
    accepted = _move(client, staff_headers, pairing, action="accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["ETag"] == f'"{pairing["version"] + 1}"'
    stale = _move(client, staff_headers, pairing, action="reject", reason="另有安排")
    assert stale.status_code == 409
    assert stale.json()["code"] == "version_conflict"
    current = accepted.json()
    contact = {"action": "contact", "contact_date": "2026-12-01", "contact_notes": "双方线上会谈"}
    assert _move(client, staff_headers, current, action="agreement").status_code == 409
    current = _move(client, staff_headers, current, **contact).json()
    missing = _move(client, staff_headers, current, action="agreement", agreement_type="技术开发")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "agreement_amount_wan"
    body = {"action": "agreement", "agreement_type": "技术开发", "agreement_amount_wan": "80.50"}
    current = _move(client, staff_headers, current, **body).json()
    current = _move(client, staff_headers, current, action="close").json()
    assert (current["status"], current["agreement_amount_wan"]) == ("closed", "80.50")
    steps = [(e["action"], e["from_status"], e["to_status"], e["staff_name"]) for e in current["events"]]
    assert steps == [
        ("accept", "proposed", "accepted", "审核员甲"),
        ("contact", "accepted", "contacted", "审核员甲"),
        ("agreement", "contacted", "agreement", "审核员甲"),
        ("close", "agreement", "closed", "审核员甲"),
    ]


def test_if_match_star_applies_to_the_current_version(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    add_demands(db)
    pairing = _pairings(client, staff_headers, _round(client, staff_headers, db)["id"])[0]
    url = f"/api/v1/pairings/{pairing['id']}/transitions"
    accepted = client.post(url, json={"action": "accept"}, headers={**staff_headers, "If-Match": "*"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["ETag"] == f'"{pairing["version"] + 1}"'
    # A quoted "*" is an entity tag like any other, not the wildcard.
    quoted = client.post(url, json={"action": "close"}, headers={**staff_headers, "If-Match": '"*"'})
    assert quoted.status_code == 422
    assert quoted.json()["errors"][0]["code"] == "if_match_invalid"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_contact_date_outside_the_calendar_range_is_refused(
    client: TestClient, staff_headers: dict[str, str], db: Factory, day: str
) -> None:
    add_societies(db)
    add_demands(db)
    pairing = _pairings(client, staff_headers, _round(client, staff_headers, db)["id"])[0]
    accepted = _move(client, staff_headers, pairing, action="accept").json()
    response = _move(client, staff_headers, accepted, action="contact", contact_date=day)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "contact_date"
    assert "对接日期" in response.json()["errors"][0]["message"]


def test_rejecting_needs_a_reason(client: TestClient, staff_headers: dict[str, str], db: Factory) -> None:
    add_societies(db)
    add_demands(db)
    pairing = _pairings(client, staff_headers, _round(client, staff_headers, db)["id"])[0]
    response = _move(client, staff_headers, pairing, action="reject", reason="  ")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["code"] == "pairing_reason_required"
    assert "拒绝配对" in error["message"]
    assert "需求" not in error["message"]
    accepted = _move(client, staff_headers, pairing, action="accept")
    assert accepted.status_code == 200
    again = _move(client, staff_headers, accepted.json(), action="agreement", agreement_type="技术咨询")
    assert again.status_code == 409
    assert "配对当前状态为“已接受”" in again.json()["detail"]


def test_the_next_round_keeps_accepted_pairs_drops_rejected_ones_and_changes_nothing_else(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    add_demands(db)
    first = _round(client, staff_headers, db, {"wanted": 2, "min_score": 0.0})
    pairings = _pairings(client, staff_headers, first["id"])
    top = {p["demand_id"]: p for p in pairings if p["rank"] == 1}
    second_choice = {p["demand_id"]: p for p in pairings if p["rank"] == 2}
    accepted, rejected = next(iter(top.values())), next(iter(second_choice.values()))
    assert _move(client, staff_headers, accepted, action="accept").status_code == 200
    assert _move(client, staff_headers, rejected, action="reject", reason="领域不符").status_code == 200
    second = _round(client, staff_headers, db, {"wanted": 2, "min_score": 0.0})
    assert second["counts"]["kept"] == 1
    again = {(p["demand_id"], p["provider_id"]) for p in _pairings(client, staff_headers, second["id"])}
    assert (accepted["demand_id"], accepted["provider_id"]) not in again  # kept in its own round
    assert (rejected["demand_id"], rejected["provider_id"]) not in again
    unchanged = {(p["demand_id"], p["provider_id"]) for p in pairings} - {
        (accepted["demand_id"], accepted["provider_id"]),
        (rejected["demand_id"], rejected["provider_id"]),
    }
    assert unchanged <= again


def test_a_staff_forbid_holds_in_later_rounds(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    add_demands(db)
    pairing = _pairings(client, staff_headers, _round(client, staff_headers, db)["id"])[0]
    forbidden = _move(client, staff_headers, pairing, action="forbid", reason="利益冲突")
    assert forbidden.json()["status"] == "rejected"
    items = client.get(f"/api/v1/demands/{pairing['demand_id']}/matches", headers=staff_headers).json()[
        "items"
    ]
    flagged = next(i for i in items if i["provider_id"] == pairing["provider_id"])
    assert flagged["excluded"] is True
    assert "工作人员禁止：利益冲突" in flagged["constraints"]
    later = _pairings(client, staff_headers, _round(client, staff_headers, db)["id"])
    assert (pairing["demand_id"], pairing["provider_id"]) not in {
        (p["demand_id"], p["provider_id"]) for p in later
    }


def test_a_queued_round_can_be_cancelled_and_is_never_run(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    add_demands(db)
    round_id = client.post("/api/v1/rounds", json={}, headers=staff_headers).json()["id"]
    cancelled = client.post(f"/api/v1/rounds/{round_id}/cancel", headers=staff_headers)
    assert cancelled.json()["status"] == "cancelled"
    assert work_once(db, "test-worker") is None
    assert client.post(f"/api/v1/rounds/{round_id}/cancel", headers=staff_headers).status_code == 409
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Pairing)) == 0
        assert session.scalar(select(Job.status)) == JobStatus.DONE


def test_a_bad_scope_is_422_with_the_field(client: TestClient, staff_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/rounds", json={"wanted": 0, "level": "city"}, headers=staff_headers)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"wanted", "level"}


def test_a_contradictory_round_fails_with_the_reason(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    ids = add_societies(db)
    [demand_id, *_] = add_demands(db)
    pair = {"demand_id": demand_id, "provider_id": ids["中国农学会"]}
    round_ = _round(client, staff_headers, db, {"locked": [pair], "forbidden": [pair]})
    assert round_["status"] == "failed"
    # a sentence staff can act on, never a Python exception
    assert round_["error"] == "匹配失败：锁定的配对与禁止配对、容量或对接数相互矛盾"
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Pairing)) == 0


def test_every_matcher_error_has_an_http_status() -> None:
    def subclasses(kind: type[Exception]) -> set[type[Exception]]:
        found = set(kind.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found)) if found else set()

    errors = {matcher.MatcherError} | subclasses(matcher.MatcherError)
    assert errors <= set(ERROR_TABLE)
    assert all(ERROR_TABLE[error].status_code in {409, 422, 500} for error in errors)


def test_a_round_over_chosen_demands_with_capacities_of_its_own(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    ids = add_societies(db, capacity=5)
    texts = [("聚氨酯弹性体耐水解", "聚氨酯弹性体"), ("聚氨酯工程塑料改性", "聚氨酯"), ("水稻育种", "水稻")]
    first, second, rice = add_demands(db, texts)
    materials = ids["中国材料研究学会"]
    scope = {"demand_ids": [first, second], "capacities": {str(materials): 1}}
    round_ = _round(client, staff_headers, db, scope)
    assert round_["counts"]["demands"] == 2
    pairings = _pairings(client, staff_headers, round_["id"])
    assert {p["demand_id"] for p in pairings} <= {first, second}
    assert sum(p["provider_id"] == materials for p in pairings) == 1  # this round's capacity, not 5
    diagnosis = client.get(f"/api/v1/rounds/{round_['id']}/diagnosis", headers=staff_headers).json()
    waiting = [u for u in diagnosis["unserved"] if u["reason"] == "capacity"]
    assert [r["capacity"] for r in diagnosis["relaxations"] if r["provider_id"] == materials] == [1] * len(
        waiting
    )
    assert rice not in {u["demand_id"] for u in diagnosis["unserved"]}
    matches = client.get(f"/api/v1/demands/{first}/matches", headers=staff_headers).json()
    item = next(i for i in matches["items"] if i["provider_id"] == materials)
    assert (matches["current_round_id"], item["capacity"], item["remaining_capacity"]) == (round_["id"], 1, 0)


def test_a_scope_naming_unknown_demands_or_providers_of_another_level_is_422(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    ids = add_societies(db)
    [demand_id, *_] = add_demands(db)
    society = ids["中国农学会"]
    body = {
        "demand_ids": [demand_id, 99_999],
        "level": "expert",
        "capacities": {str(society): 2},
        "forbidden": [{"demand_id": demand_id, "provider_id": society}],
    }
    response = client.post("/api/v1/rounds", json=body, headers=staff_headers)
    assert response.status_code == 422, response.text
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert set(errors) == {"demand_ids[1]", f"capacities.{society}", "forbidden[0].provider_id"}
    assert errors["demand_ids[1]"]["code"] == "round_demand_unknown"
    assert errors[f"capacities.{society}"]["message"].startswith(f"专家 {society} 不存在")
    assert (
        client.post(
            "/api/v1/rounds",
            json={**body, "level": "society", "demand_ids": [demand_id]},
            headers=staff_headers,
        ).status_code
        == 202
    )
