"""The demand pages: list with filters and paging, one demand, edits and status changes."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.db import DemandStatus
from api.demands.schemas import DemandCreate
from api.demands.service import get_demand, submit
from tests.api.factories import demand_payload
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


def _add_demands(db: sessionmaker[Session], count: int, **overrides: object) -> list[int]:
    ids = []
    with db.begin() as session:
        for number in range(count):
            payload = DemandCreate.model_validate(
                demand_payload(**{"title": f"需求{number:02d}", **overrides})
            )
            ids.append(submit(session, payload=payload, secret=b"k", idempotency_key=None).demand.id)
    return ids


def test_the_list_pages_through_demands_newest_first(browser: TestClient, db: sessionmaker[Session]) -> None:
    _add_demands(db, 25)
    first = browser.get("/demands")
    assert "共 25 条" in first.text
    assert "需求24" in first.text
    assert "需求04" not in first.text
    assert "第 1 / 2 页" in first.text
    second = browser.get("/demands?page=2")
    assert "需求04" in second.text
    assert "需求24" not in second.text


def test_the_list_filters_by_text_status_region_and_industry(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    _add_demands(db, 2)
    _add_demands(
        db,
        1,
        title="盐碱地水稻种植",
        industry_code="A0111",
        address="四川省成都市武侯区一环路",
        region_code=None,
    )
    assert "共 1 条" in browser.get("/demands", params={"q": "盐碱地"}).text
    assert "共 1 条" in browser.get("/demands", params={"industry": "A"}).text
    assert "共 1 条" in browser.get("/demands", params={"region": "51"}).text
    assert "共 3 条" in browser.get("/demands", params={"status": "submitted"}).text
    assert "共 0 条" in browser.get("/demands", params={"status": "published"}).text


def test_a_region_is_filtered_by_name_and_a_bad_one_is_explained_beside_its_field(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    _add_demands(db, 2)
    _add_demands(db, 1, title="盐碱地水稻种植", address="四川省成都市武侯区一环路", region_code=None)
    assert "共 2 条" in browser.get("/demands", params={"region": "福建"}).text
    assert "共 1 条" in browser.get("/demands", params={"region": "成都市"}).text
    assert "共 1 条" in browser.get("/demands", params={"region": "51"}).text
    page = browser.get("/demands", params={"region": "火星"})
    assert page.status_code == 200
    assert 'id="region-error"' in page.text
    assert "区划代码" in page.text


def test_a_demand_page_shows_its_fields_and_history(browser: TestClient, db: sessionmaker[Session]) -> None:
    (demand_id,) = _add_demands(db, 1)
    page = browser.get(f"/demands/{demand_id}")
    assert "<h1>需求00</h1>" in page.text
    assert "现有聚酯型聚氨酯弹性体在85℃" in page.text
    assert "福建省闽光新材料科技有限公司" in page.text
    assert "企业提交" in page.text
    assert browser.get("/demands/999999").status_code == 404


def test_returning_a_demand_without_a_reason_shows_the_error_at_the_reason_field(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    (demand_id,) = _add_demands(db, 1)
    url = f"/demands/{demand_id}/status"
    token = csrf_of(browser.get(f"/demands/{demand_id}").text)
    assert browser.post(url, data={"csrf_token": token, "to": "in_review"}).status_code == 200
    refused = browser.post(url, data={"csrf_token": token, "to": "returned"})
    assert refused.status_code == 422
    assert 'id="reason-error"' in refused.text
    assert "退回原因" in refused.text
    returned = browser.post(url, data={"csrf_token": token, "to": "returned", "reason": "请补充技术指标"})
    assert "已改为“已退回”" in returned.text
    assert "请补充技术指标" in returned.text
    with db() as session:
        assert get_demand(session, demand_id=demand_id).status == DemandStatus.RETURNED


def test_a_transition_the_workflow_forbids_is_explained(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    (demand_id,) = _add_demands(db, 1)
    token = csrf_of(browser.get(f"/demands/{demand_id}").text)
    response = browser.post(f"/demands/{demand_id}/status", data={"csrf_token": token, "to": "published"})
    assert response.status_code == 422
    assert "不能改为“已发布”" in response.text


def test_an_edit_with_bad_fields_marks_each_field_and_saves_nothing(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    (demand_id,) = _add_demands(db, 1)
    form = browser.get(f"/demands/{demand_id}/edit").text
    data = _form_values(form) | {"mobile": "1380591234", "title": "", "postcode": "35"}
    response = browser.post(f"/demands/{demand_id}/edit", data=data)
    assert response.status_code == 422
    for field in ("mobile", "title", "postcode"):
        assert f'id="e-{field}"' in response.text
    assert "手机号码应为以1开头的11位数字" in response.text
    with db() as session:
        assert get_demand(session, demand_id=demand_id).mobile == "13805912345"


def test_a_valid_edit_is_saved_and_recorded_in_the_history(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    (demand_id,) = _add_demands(db, 1)
    form = browser.get(f"/demands/{demand_id}/edit").text
    data = _form_values(form) | {"title": "耐水解聚氨酯配方", "keywords": "聚氨酯，耐水解、配方"}
    response = browser.post(f"/demands/{demand_id}/edit", data=data)
    assert response.url.path == f"/demands/{demand_id}"
    assert "修改已保存" in response.text
    assert "修改了 技术需求名称、关键词" in response.text
    with db() as session:
        assert get_demand(session, demand_id=demand_id).keywords == ["聚氨酯", "耐水解", "配方"]


def _form_values(html: str) -> dict[str, str]:
    # The inputs as the browser would send them back unchanged.
    import re

    values = dict(re.findall(r'<input id="f-\w+" name="(\w+)" value="([^"]*)"', html))
    values |= dict(re.findall(r'<textarea id="f-\w+" name="(\w+)"[^>]*>([^<]*)</textarea>', html))
    values["csrf_token"] = csrf_of(html)
    return values
