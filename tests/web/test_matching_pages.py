"""Matching pages: a demand's ranked matches, rounds with progress and cancel, pairing review,
societies with load, preferences, import and export."""

import io
import re
from urllib.parse import unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.matching.models import MatchRound, Pairing, PairingStatus, RoundStatus
from api.matching.pipeline import run_round
from api.web import import_pages
from tests.api.matching_helpers import add_demands, add_societies
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


def _round(browser: TestClient, **fields: str) -> str:
    token = csrf_of(browser.get("/rounds").text)
    return browser.post("/rounds", data={"csrf_token": token, **fields}).url.path


def test_a_demand_page_ranks_matches_and_marks_the_shared_terms(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    societies = add_societies(db)
    demand_id = add_demands(db)[0]
    page = browser.get(f"/demands/{demand_id}").text
    rows = re.findall(r'<a href="/societies/(\d+)">', page)
    assert int(rows[0]) == societies["中国材料研究学会"]
    assert "<mark>聚氨酯</mark>" in page or "<mark>弹性体</mark>" in page
    assert "剩 5 / 5" in page


def test_a_round_started_from_the_form_runs_and_its_pairings_can_be_accepted(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    add_societies(db)
    add_demands(db)
    path = _round(browser, level="society", statuses="published")
    round_id = int(path.rsplit("/", 1)[1])
    assert browser.get(f"/rounds/{round_id}/progress").json()["finished"] is False
    assert run_round(db, round_id) == RoundStatus.SUCCEEDED  # what the worker process does
    assert browser.get(f"/rounds/{round_id}/progress").json() == {
        "percent": 100,
        "label": "已完成",
        "finished": True,
        "status": "succeeded",
        "waiting": "",
    }
    pairings = browser.get(f"/rounds/{round_id}/pairings").text
    pairing_id = int(re.findall(r'id="pairing-(\d+)"', pairings)[0])
    token = csrf_of(pairings)
    refused = browser.post(
        f"/pairings/{pairing_id}", data={"csrf_token": token, "version": "1", "action": "reject"}
    )
    assert refused.status_code == 422
    assert f'id="reason-error-{pairing_id}"' in refused.text
    accepted = browser.post(
        f"/pairings/{pairing_id}", data={"csrf_token": token, "version": "1", "action": "accept"}
    )
    assert "已接受" in accepted.text
    stale = browser.post(
        f"/pairings/{pairing_id}",
        data={"csrf_token": token, "version": "1", "action": "reject", "reason": "x"},
    )
    assert stale.status_code == 409
    assert "已被他人修改" in stale.text
    with db() as session:
        assert session.get(Pairing, pairing_id).status == PairingStatus.ACCEPTED  # type: ignore[union-attr]
    assert "1 / 5" in browser.get("/societies").text  # the accepted pairing counts against capacity


def test_a_bad_round_form_is_explained_at_its_fields_and_queues_nothing(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    response = browser.post(
        "/rounds",
        data={
            "csrf_token": csrf_of(browser.get("/rounds").text),
            "wanted": "0",
            "region": "火星",
            "capacities": "abc",
        },
    )
    assert response.status_code == 422
    assert 'id="e-capacities"' in response.text
    response = browser.post(
        "/rounds", data={"csrf_token": csrf_of(response.text), "wanted": "0", "region": "火星"}
    )
    assert 'id="e-wanted"' in response.text
    assert 'id="e-region"' in response.text
    with db() as session:
        assert session.scalars(select(MatchRound)).all() == []


def test_a_queued_round_can_be_cancelled(browser: TestClient, db: sessionmaker[Session]) -> None:
    path = _round(browser)
    page = browser.get(path).text
    cancelled = browser.post(f"{path}/cancel", data={"csrf_token": csrf_of(page)})
    assert "已取消" in cancelled.text
    assert "data-progress-url" not in cancelled.text


def test_preferences_are_added_with_errors_at_the_field_and_removed(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    society_id = add_societies(db)["中国农学会"]
    demand_id = add_demands(db)[0]
    token = csrf_of(browser.get(f"/demands/{demand_id}").text)
    url = f"/demands/{demand_id}/preferences"
    missing = browser.post(
        url, data={"csrf_token": token, "provider_level": "society", "provider_id": "99999", "kind": "refuse"}
    )
    assert missing.status_code == 422
    assert 'id="pref-id-error"' in missing.text
    added = browser.post(
        url,
        data={
            "csrf_token": token,
            "provider_level": "society",
            "provider_id": str(society_id),
            "kind": "refuse",
            "reason": "竞争对手",
        },
    )
    assert "不希望对接" in added.text
    assert "中国农学会" in added.text
    preference_id = re.search(rf"/demands/{demand_id}/preferences/(\d+)/delete", added.text)
    assert preference_id
    removed = browser.post(f"{url}/{preference_id.group(1)}/delete", data={"csrf_token": token})
    assert "已删除该对接意向" in removed.text


def test_an_import_with_a_bad_row_shows_the_report_and_strict_mode_writes_nothing(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    csv = (
        "单位名称,联系人,手机,技术需求名称,具体的技术需求说明\n"
        "福州某机械有限公司,王工,13805910001,主轴热变形补偿,主轴运行4小时后热伸长30微米，需要补偿模型。\n"
        "厦门某食品有限公司,李工,1380591000,荔枝保鲜,荔枝采后48小时褐变，希望货架期延长到7天。\n"
    ).encode("gb18030")
    token = csrf_of(browser.get("/demands/import").text)
    files = {"files": ("汇总表.csv", csv, "text/csv")}
    strict = browser.post("/demands/import", data={"csrf_token": token, "mode": "strict"}, files=files)
    assert strict.status_code == 422
    assert "手机号码应为以1开头的11位数字" in strict.text
    assert "全部未写入" in strict.text
    assert "共 0 条" in browser.get("/demands").text
    kept = browser.post("/demands/import", data={"csrf_token": token, "mode": "keep_valid"}, files=files)
    assert "新建 1 条" in kept.text
    assert "共 1 条" in browser.get("/demands").text
    nothing = browser.post("/demands/import", data={"csrf_token": token})
    assert 'id="files-error"' in nothing.text


def test_the_export_holds_the_filtered_list_with_chinese_headers(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    add_demands(db)
    response = browser.get("/demands/export.xlsx", params={"q": "水稻"})
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert "技术需求名称" in rows[0]
    assert len(rows) == 2
    assert "水稻病虫害绿色防控" in rows[1]


def _exported_pairs(content: bytes) -> dict[tuple[int, int], str]:
    """(demand id, rank) -> provider name, from the society sheets of a match-list workbook."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    pairs = {}
    for name in book.sheetnames[1:]:
        _, *rows = book[name].iter_rows(values_only=True)
        pairs.update({(int(row[0]), int(row[3])): str(row[7]) for row in rows})
    return pairs


def test_the_list_exports_the_match_lists_of_its_filtered_demands(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    add_societies(db)
    demand_ids = add_demands(db)
    page = browser.get("/demands", params={"q": "水稻", "page": "1"}).text
    assert 'action="/demands/matches.xlsx"' in page
    assert '<input type="hidden" name="q" value="水稻">' in page
    assert 'name="page"' not in page.split('action="/demands/matches.xlsx"')[1].split("</form>")[0]
    response = browser.get("/demands/matches.xlsx", params={"q": "水稻", "level": "society"})
    assert response.status_code == 200
    assert "匹配清单_学会_" in unquote(response.headers["content-disposition"])
    pairs = _exported_pairs(response.content)
    rice = demand_ids[1]
    assert {demand for demand, _ in pairs} == {rice}
    assert pairs[(rice, 1)] == "中国农学会"


def test_the_match_list_export_names_what_it_refuses(
    browser: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_societies(db)
    add_demands(db)
    wrong_level = browser.get("/demands/matches.xlsx", params={"level": "academician"})
    assert wrong_level.status_code == 422
    assert "匹配对象应为学会、分支机构或专家" in wrong_level.text
    monkeypatch.setattr(import_pages, "MAX_MATCH_EXPORT", 2)
    too_many = browser.get("/demands/matches.xlsx")
    assert too_many.status_code == 422
    assert "当前筛选的需求超过 2 条" in too_many.text
    assert browser.get("/demands/matches.xlsx", params={"q": "水稻"}).status_code == 200


def test_every_page_asks_a_signed_out_browser_to_sign_in(client: TestClient) -> None:
    for path in (
        "/demands",
        "/demands/1",
        "/demands/import",
        "/demands/export.xlsx",
        "/demands/matches.xlsx",
        "/societies",
        "/experts",
        "/rounds",
        "/rounds/1",
        "/rounds/1/pairings",
        "/rounds/1/progress",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
