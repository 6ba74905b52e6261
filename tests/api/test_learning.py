"""Learning from staff decisions in the service: the switch, its effect on match lists and rounds
(one ranking), and the audit of what changed."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.encoding import service as encoding
from api.learning import service as learning
from api.matching import service
from api.matching.models import Pairing
from api.matching.schemas import RoundScope
from api.security.models import AuditEntry
from api.worker import work_once
from tests.api.matching_helpers import add_demands, add_societies

pytestmark = pytest.mark.db
Factory = sessionmaker[Session]

# Two demands on each subject: staff decide on the first of a pair, the second is ranked.
TEXTS = [
    ("耐水解聚氨酯弹性体配方开发", "聚酯型聚氨酯弹性体湿热老化后强度下降，需要耐水解配方。"),
    ("聚氨酯弹性体耐湿热老化改性", "聚氨酯密封件在湿热环境中老化开裂，寻求耐水解改性方案。"),
    ("水稻病虫害绿色防控", "水稻种植基地需要病虫害绿色防控与土壤肥料改良技术。"),
    ("稻田病虫害生物防治", "稻田稻飞虱与纹枯病频发，需要绿色防控与生物防治技术。"),
]
MATERIALS, AGRICULTURE = "中国材料研究学会", "中国农学会"


def _round(db: Factory, client: TestClient, headers: dict[str, str], demand_ids: list[int]) -> int:
    with db.begin() as session:
        round_id = service.create_round(
            session, scope=RoundScope(demand_ids=demand_ids, wanted=3, min_score=0.0), staff=None
        ).id
    assert work_once(db, "test-worker") is not None
    assert client.get(f"/api/v1/rounds/{round_id}", headers=headers).json()["status"] == "succeeded"
    return round_id


def _pairing(db: Factory, round_id: int, demand_id: int, provider_id: int) -> Pairing:
    with db() as session:
        found = session.scalar(
            select(Pairing).where(
                Pairing.round_id == round_id,
                Pairing.demand_id == demand_id,
                Pairing.provider_id == provider_id,
            )
        )
        assert found is not None
        return found


def _decide(client: TestClient, headers: dict[str, str], pairing: Pairing, action: str) -> None:
    body: dict[str, Any] = {"action": action, "version": pairing.version}
    if action == "reject":
        body["reason"] = "方向不符"
    response = client.post(f"/api/v1/pairings/{pairing.id}/transitions", json=body, headers=headers)
    assert response.status_code == 200, response.text


def _scores(client: TestClient, headers: dict[str, str], demand_id: int) -> dict[int, float]:
    response = client.get(f"/api/v1/demands/{demand_id}/matches?limit=10", headers=headers)
    assert response.status_code == 200, response.text
    return {item["provider_id"]: item["score"] for item in response.json()["items"]}


def _switch(client: TestClient, headers: dict[str, str], enabled: bool) -> dict[str, Any]:
    response = client.put("/api/v1/learning", json={"enabled": enabled}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_decisions_move_similar_demands_only_while_learning_is_on(
    client: TestClient, db: Factory, staff_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    learning.clear_cache()
    societies = add_societies(db)
    demands = add_demands(db, TEXTS)
    encoding.encode_pending(db, encoding.encoder())
    round_id = _round(db, client, staff_headers, demands)
    materials, agriculture = societies[MATERIALS], societies[AGRICULTURE]
    # Staff decide against the text: the rice demand goes to the materials society, not to agriculture.
    _decide(client, staff_headers, _pairing(db, round_id, demands[2], materials), "accept")
    _decide(client, staff_headers, _pairing(db, round_id, demands[2], agriculture), "reject")

    state = client.get("/api/v1/learning", headers=staff_headers).json()
    assert state["enabled"] is False  # off until an admin turns it on
    assert state["accepted"]["society"] == 1
    assert state["rejected"]["society"] == 1
    before = _scores(client, staff_headers, demands[3])
    own_before = _scores(client, staff_headers, demands[2])
    assert _switch(client, admin_headers, True)["enabled"] is True
    during = _scores(client, staff_headers, demands[3])
    # The similar rice demand: materials up, agriculture down.
    assert during[materials] > before[materials]
    assert during[agriculture] < before[agriculture]
    # The decided demand's own list does not learn from its own decisions (no other demand decided).
    assert _scores(client, staff_headers, demands[2]) == own_before

    # A round ranks as the match list does (the same learned ranking).
    second = _round(db, client, staff_headers, [demands[3]])
    for provider_id, score in during.items():
        assert _pairing(db, second, demands[3], provider_id).score == pytest.approx(score, abs=1e-6)

    # Off: the ranking is exactly what it was.
    assert _switch(client, admin_headers, False)["enabled"] is False
    assert _scores(client, staff_headers, demands[3]) == before


def test_the_audit_names_the_decision_the_provider_who_when_and_the_effect(
    client: TestClient, db: Factory, staff_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    learning.clear_cache()
    societies = add_societies(db)
    demands = add_demands(db, TEXTS)
    encoding.encode_pending(db, encoding.encoder())
    round_id = _round(db, client, staff_headers, demands)
    materials = societies[MATERIALS]
    pairing = _pairing(db, round_id, demands[0], materials)
    _decide(client, staff_headers, pairing, "accept")
    _switch(client, admin_headers, True)
    _switch(client, admin_headers, True)  # a repeat changes nothing and is not an event

    events = client.get("/api/v1/learning/events", headers=staff_headers).json()
    assert events["total"] == 2
    switch, accepted = events["items"]
    assert (switch["kind"], switch["enabled"], switch["staff_name"]) == ("switch", True, "管理员甲")
    assert accepted["kind"] == "decision"
    assert accepted["enabled"] is False  # decided while learning was off; it counts once on
    assert (accepted["pairing_id"], accepted["demand_id"], accepted["provider_id"]) == (
        pairing.id,
        demands[0],
        materials,
    )
    assert (accepted["action"], accepted["status"], accepted["staff_name"]) == (
        "accept",
        "accepted",
        "审核员甲",
    )
    assert (accepted["before"], accepted["after"]) == (0.0, 1.0)
    assert accepted["change"] == "加强该单位对相似需求的排名"
    # Its effect now: the similar demand (and the others above the threshold) see the society move.
    assert accepted["demands_moved"] >= 1
    assert accepted["amount"] == pytest.approx(learning.FEEDBACK.weight / learning.FEEDBACK.neighbours)
    assert "个相似需求" in accepted["effect"]

    # Contact keeps the decision counting (no event); a reject after accepting flips it.
    pairing = _pairing(db, round_id, demands[0], materials)
    _decide(client, staff_headers, pairing, "reject")
    events = client.get(
        f"/api/v1/learning/events?level=society&provider_id={materials}", headers=staff_headers
    ).json()
    flipped, first = events["items"][0], events["items"][1]
    assert (flipped["before"], flipped["after"]) == (1.0, -learning.FEEDBACK.reject_weight)
    assert flipped["change"] == "减弱该单位对相似需求的排名"
    assert first["effect"] == "已被此后的决定取代"
    # The switch is in the audit log too (who, before, after).
    with db() as session:
        logged = session.scalars(select(AuditEntry).where(AuditEntry.target_kind == "setting")).all()
    assert [(e.staff_name, (e.after or {}).get("value")) for e in logged] == [("管理员甲", True)]


def test_only_admins_turn_the_switch_and_bad_input_is_a_chinese_422(
    client: TestClient, staff_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    assert client.put("/api/v1/learning", json={"enabled": True}, headers=staff_headers).status_code == 403
    response = client.put("/api/v1/learning", json={"enabled": "是"}, headers=admin_headers)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "enabled"
    assert "是否开启" in error["message"]
    response = client.get("/api/v1/learning/events?level=province", headers=staff_headers)
    assert response.status_code == 422
    assert client.get("/api/v1/learning", headers=staff_headers).json()["enabled"] is False


def test_the_page_shows_the_switch_to_staff_and_lets_only_admins_turn_it(
    client: TestClient, db: Factory
) -> None:
    from api.auth.passwords import set_password
    from api.db import StaffRole, StaffUser
    from tests.web.conftest import PASSWORD, csrf_of, sign_in

    with db.begin() as session:
        for name, role in (("审核员丁", StaffRole.REVIEWER), ("管理员丁", StaffRole.ADMIN)):
            staff = StaffUser(name=name, role=role)
            set_password(staff, PASSWORD)
            session.add(staff)
    sign_in(client, "审核员丁")
    page = client.get("/learning")
    assert page.status_code == 200
    assert "当前：" in page.text
    assert "已关闭" in page.text
    assert "仅管理员可以开启或关闭" in page.text
    refused = client.post("/learning", data={"enabled": "on", "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403
    assert "仅管理员" in refused.text
    client.cookies.clear()
    sign_in(client, "管理员丁")
    page = client.get("/learning")
    turned = client.post(
        "/learning", data={"enabled": "on", "csrf_token": csrf_of(page.text)}, follow_redirects=True
    )
    assert turned.status_code == 200
    assert "已开启" in turned.text
    assert "开启学习" in turned.text  # the audit's first row
    assert "管理员丁" in turned.text
    with db() as session:
        assert learning.learning_enabled(session)
