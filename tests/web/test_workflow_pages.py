"""A working day's pages: the 工作台, bulk actions that keep the worklist's filter, the 退回 form that
keeps what was chosen, pairing worklists with names, and rounds that say why they wait or failed."""

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db import DemandStatus
from api.db.base import utcnow
from api.demands.schemas import DemandCreate
from api.demands.service import get_demand, submit
from api.matching.models import Job, MatchRound, Pairing, PairingStatus, RoundStatus
from api.matching.pipeline import run_round
from api.web.matching_pages import ROUND_FAILED, failure_text
from api.web.templating import plain_number
from tests.api.factories import demand_payload
from tests.api.matching_helpers import add_demands, add_societies
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


def _submitted(db: sessionmaker[Session], count: int) -> list[int]:
    ids = []
    with db.begin() as session:
        for number in range(count):
            payload = DemandCreate.model_validate(demand_payload(title=f"批量需求{number:02d}"))
            ids.append(submit(session, payload=payload, secret=b"k", idempotency_key=None).demand.id)
    return ids


def _statuses(db: sessionmaker[Session], ids: list[int]) -> list[DemandStatus]:
    with db() as session:
        return [get_demand(session, demand_id=demand_id).status for demand_id in ids]


def _tile(page: str, label: str) -> int:
    found = re.search(
        rf'data-tile="{label}">\s*<span class="tile-label">{label}</span>\s*<strong[^>]*>(\d+)<', page
    )
    assert found, f"no tile {label}"
    return int(found.group(1))


def test_signing_in_lands_on_the_workbench_whose_counts_link_to_worklists(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    _submitted(db, 3)
    page = browser.get("/").text
    assert "<h1>工作台</h1>" in page
    assert _tile(page, "待审核") == 3
    assert _tile(page, "待发布") == 0
    assert 'href="/demands?status=submitted"' in page
    assert "共 3 条" in browser.get("/demands?status=submitted").text
    assert "还没有运行过匹配轮次" in page


def test_bulk_publish_takes_checked_demands_through_review_and_keeps_the_filter(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    ids = _submitted(db, 4)
    listing = browser.get("/demands?status=submitted")
    token = csrf_of(listing.text)
    data = {"csrf_token": token, "action": "publish", "ids": [str(i) for i in ids[:3]]}
    done = browser.post("/demands/bulk?status=submitted", data=data)
    assert done.url.path == "/demands"
    assert str(done.url).endswith("/demands?status=submitted")
    assert "批量发布：成功 3 条。" in unquote(done.text)
    assert "共 1 条" in done.text  # the filtered list, not the whole list
    assert _statuses(db, ids) == [DemandStatus.PUBLISHED] * 3 + [DemandStatus.SUBMITTED]
    with db() as session:
        kinds = [(e.from_status, e.to_status) for e in get_demand(session, demand_id=ids[0]).events[1:]]
    assert kinds == [
        (DemandStatus.SUBMITTED, DemandStatus.IN_REVIEW),
        (DemandStatus.IN_REVIEW, DemandStatus.PUBLISHED),
    ]
    # Publishing them again changes nothing and says why, row by row.
    again = browser.post("/demands/bulk", data=data | {"ids": [str(ids[0]), str(ids[3])]})
    assert "成功 1 条，未改 1 条" in again.text
    assert f"编号 {ids[0]}：已是“已发布”，无需再改" in again.text


def test_bulk_return_without_a_reason_changes_nothing_and_keeps_the_choice(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    ids = _submitted(db, 2)
    token = csrf_of(browser.get("/demands").text)
    refused = browser.post(
        "/demands/bulk?status=submitted",
        data={"csrf_token": token, "action": "return", "ids": [str(ids[0])]},
    )
    assert refused.status_code == 422
    assert 'id="bulk-reason-error"' in refused.text
    assert f'value="{ids[0]}" form="bulk-form" aria-label="选择需求 {ids[0]}" checked' in refused.text
    assert f'value="{ids[1]}" form="bulk-form" aria-label="选择需求 {ids[1]}">' in refused.text
    assert _statuses(db, ids) == [DemandStatus.SUBMITTED] * 2
    returned = browser.post(
        "/demands/bulk",
        data={"csrf_token": token, "action": "return", "ids": [str(ids[0])], "reason": "请补充技术指标"},
    )
    assert "批量退回：成功 1 条。" in unquote(returned.text)
    assert _statuses(db, ids) == [DemandStatus.RETURNED, DemandStatus.SUBMITTED]
    nothing = browser.post("/demands/bulk", data={"csrf_token": token, "action": "publish"})
    assert nothing.status_code == 422
    assert "请先勾选要处理的行" in nothing.text


def test_a_refused_return_keeps_the_reason_and_never_publishes(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    (demand_id,) = _submitted(db, 1)
    url = f"/demands/{demand_id}/status"
    token = csrf_of(browser.get(f"/demands/{demand_id}").text)
    browser.post(url, data={"csrf_token": token, "to": "in_review"})
    refused = browser.post(url, data={"csrf_token": token, "to": "returned", "reason": " "})
    assert refused.status_code == 422
    assert 'id="reason-error"' in refused.text
    # The page offers each action as its own button: nothing is preselected that could publish.
    assert re.search(r'name="to" value="returned"[^>]*aria-pressed="true"', refused.text)
    assert '<select id="to"' not in refused.text
    assert _statuses(db, [demand_id]) == [DemandStatus.IN_REVIEW]
    typed = browser.post(url, data={"csrf_token": token, "to": "returned", "reason": "请补充技术指标"})
    assert "已改为“已退回”" in typed.text
    assert _statuses(db, [demand_id]) == [DemandStatus.RETURNED]


def _round_with_pairings(browser: TestClient, db: sessionmaker[Session]) -> int:
    add_societies(db)
    add_demands(db)
    token = csrf_of(browser.get("/rounds").text)
    path = browser.post("/rounds", data={"csrf_token": token, "level": "society"}).url.path
    round_id = int(path.rsplit("/", 1)[1])
    assert run_round(db, round_id) == RoundStatus.SUCCEEDED
    return round_id


def test_pairing_rows_name_the_demand_and_enterprise_and_bulk_accept_keeps_the_filter(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    round_id = _round_with_pairings(browser, db)
    listing = browser.get(f"/rounds/{round_id}/pairings?status=proposed&sort=score").text
    assert "测试企业有限公司" in listing
    assert "需求 1<" not in listing
    with db() as session:
        pairings = session.scalars(select(Pairing).where(Pairing.round_id == round_id)).all()
        title = get_demand(session, demand_id=pairings[0].demand_id).title
        checked = [f"{p.id}:{p.version}" for p in pairings[:2]]
    assert title in listing
    searched = browser.get(f"/rounds/{round_id}/pairings", params={"q": title}).text
    assert title in searched
    assert "测试企业有限公司" in searched
    back = f"/rounds/{round_id}/pairings?status=proposed&sort=score"
    done = browser.post(
        "/pairings/bulk",
        data={"csrf_token": csrf_of(listing), "action": "accept", "ids": checked, "back": back},
    )
    assert done.url.path == f"/rounds/{round_id}/pairings"
    assert "status=proposed" in str(done.url)
    assert "批量接受：成功 2 条。" in unquote(done.text)
    with db() as session:
        statuses = [session.get(Pairing, int(value.split(":")[0])).status for value in checked]  # type: ignore[union-attr]
    assert statuses == [PairingStatus.ACCEPTED] * 2
    # The same (now stale) versions again: nothing changes, each row says why.
    stale = browser.post(
        "/pairings/bulk",
        data={"csrf_token": csrf_of(listing), "action": "accept", "ids": checked, "back": back},
    )
    assert "未改 2 条" in unquote(stale.text)
    refused = browser.post(
        "/pairings/bulk",
        data={"csrf_token": csrf_of(listing), "action": "reject", "ids": checked, "back": back},
    )
    assert refused.status_code == 422
    assert 'id="bulk-reason-error"' in refused.text
    accepted = browser.get("/pairings?status=accepted").text
    assert "共 2 个" in accepted
    assert _tile(browser.get("/").text, "待对接") == 2


def test_a_round_nobody_takes_says_so_and_its_results_are_in_words(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    add_societies(db)
    add_demands(db)
    token = csrf_of(browser.get("/rounds").text)
    path = browser.post("/rounds", data={"csrf_token": token, "level": "society"}).url.path
    round_id = int(path.rsplit("/", 1)[1])
    assert browser.get(f"/rounds/{round_id}/progress").json()["waiting"] == ""
    with db.begin() as session:
        session.execute(
            update(MatchRound)
            .where(MatchRound.id == round_id)
            .values(created_at=utcnow() - timedelta(seconds=30))
        )
        session.execute(
            update(Job).where(Job.round_id == round_id).values(created_at=utcnow() - timedelta(seconds=30))
        )
    waiting = browser.get(f"/rounds/{round_id}/progress").json()["waiting"]
    assert "仍没有后台匹配进程领取" in waiting
    assert waiting in browser.get(f"/rounds/{round_id}").text
    assert "后台匹配进程可能没有运行" in browser.get("/").text
    assert run_round(db, round_id) == RoundStatus.SUCCEEDED
    page = browser.get(f"/rounds/{round_id}").text
    assert re.search(r"匹配成功 \d+ 项、未匹配 \d+ 项", page)
    details = page.split("<summary>详情</summary>", 1)
    assert len(details) == 2
    assert "目标值" not in details[0]
    assert "目标值" in details[1]
    assert not re.search(r"\d\.\d{3,}", page)  # two decimals at most
    assert "队列为空" in browser.get("/").text


def test_a_failed_round_shows_a_sentence_not_an_exception() -> None:
    assert failure_text("KeyError: 'capacity'") == ROUND_FAILED
    assert failure_text("ValueError: bad value_wan") == ROUND_FAILED
    assert (
        failure_text("MatcherError: 容量表有 3 项，但服务方有 4 个")
        == "本轮匹配未能完成：容量表有 3 项，但服务方有 4 个"
    )
    assert plain_number(648.748443) == "648.75"
    assert plain_number(12) == "12"


def test_a_preference_is_chosen_by_name_and_an_unknown_name_is_kept_and_explained(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    add_societies(db)
    demand_id = add_demands(db)[0]
    page = browser.get(f"/demands/{demand_id}").text
    assert '<option value="中国农学会">学会</option>' in page
    url = f"/demands/{demand_id}/preferences"
    data = {"csrf_token": csrf_of(page), "provider_level": "society", "kind": "prefer"}
    unknown = browser.post(url, data=data | {"provider": "中国农业学会"})
    assert unknown.status_code == 422
    assert "没有找到“中国农业学会”" in unknown.text
    assert 'value="中国农业学会"' in unknown.text  # what was typed stays in the box
    added = browser.post(url, data=data | {"provider": "中国农学会", "reason": "曾经合作"})
    assert "已记录企业的对接意向" in added.text
    assert "学会 中国农学会：曾经合作" in added.text


def test_a_round_takes_its_region_and_capacities_by_name_and_shows_them_by_name(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    societies = add_societies(db)
    add_demands(db)
    form = browser.get("/rounds").text
    assert "data-region-cascade" in form
    data = {"csrf_token": csrf_of(form), "level": "society", "region": "福建", "capacities": "中国农学会=2"}
    unknown = browser.post("/rounds", data=data | {"capacities": "中国农业学会=2"})
    assert unknown.status_code == 422
    assert "没有找到学会“中国农业学会”" in unknown.text
    queued = browser.post("/rounds", data=data)
    round_id = int(queued.url.path.rsplit("/", 1)[1])
    with db() as session:
        scope = session.get(MatchRound, round_id).scope  # type: ignore[union-attr]
    assert scope["region"] == "35"
    assert scope["capacities"] == {str(societies["中国农学会"]): 2}
    assert "中国农学会：2" in queued.text
    assert "<dt>地区</dt><dd>福建省</dd>" in queued.text


def test_region_cascade_lists_cities_of_a_province(browser: TestClient) -> None:
    provinces = browser.get("/regions/children").json()
    assert {"code": "35", "name": "福建省"} in provinces
    cities = browser.get("/regions/children", params={"parent": "35"}).json()
    assert {"code": "3501", "name": "福州市"} in cities
    assert all(city["code"].startswith("35") and len(city["code"]) == 4 for city in cities)
