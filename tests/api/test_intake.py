"""Submitting demands: validation, the 422 shape, receipts, and idempotent retries."""

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import Demand, DemandEvent
from api.demands.schemas import DemandCreate
from api.demands.service import submit
from features.tokenize import Tokenizer
from tests.api.factories import demand_payload

pytestmark = pytest.mark.db

URL = "/api/v1/demands"


def _count(db: sessionmaker[Session], model: type[Demand] | type[DemandEvent] = Demand) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _errors(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}
    assert all(set(item) == {"field", "code", "message"} for item in body["errors"])
    return {item["field"]: item["code"] for item in body["errors"]}


def test_submission_answers_201_with_id_status_and_receipt(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    response = client.post(URL, json=demand_payload())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "status", "receipt_token"}
    assert body["status"] == "submitted"
    assert body["receipt_token"].startswith("hqr_")
    assert _count(db) == 1
    assert _count(db, DemandEvent) == 1


def test_submission_stores_its_terms_field_by_field(client: TestClient, db: sessionmaker[Session]) -> None:
    payload = demand_payload()
    receipt = client.post(URL, json=payload).json()
    with db() as session:
        demand = session.get(Demand, receipt["id"])
        assert demand is not None
        tokens = demand.tokens
    assert tokens is not None
    assert tokens["title"] == Tokenizer()(payload["title"])
    assert tokens["main_business"] == Tokenizer()(payload["main_business"])


def test_enterprise_reads_its_demand_with_the_receipt(client: TestClient) -> None:
    receipt = client.post(URL, json=demand_payload(mobile="138 0591 2345")).json()
    response = client.get(f"{URL}/{receipt['id']}", headers={"X-Receipt-Token": receipt["receipt_token"]})
    assert response.status_code == 200
    demand = response.json()
    assert demand["mobile"] == "13805912345"
    assert demand["website"] == "http://www.minguang.example.com"
    assert demand["budget_wan"] == "80.00"
    assert demand["events"][0]["kind"] == "submitted"


def test_region_is_suggested_from_the_address_when_absent(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    receipt = client.post(URL, json=demand_payload(address="福建省泉州市晋江市陈埭镇工业园三路16号")).json()
    demand = client.get(f"{URL}/{receipt['id']}", headers=staff_headers).json()
    assert (demand["region_code"], demand["region_suggested"]) == ("350582000000", True)


def test_a_given_region_code_is_kept_and_normalised(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    receipt = client.post(URL, json=demand_payload(region_code="350100")).json()
    demand = client.get(f"{URL}/{receipt['id']}", headers=staff_headers).json()
    assert (demand["region_code"], demand["region_suggested"]) == ("350100000000", False)


def test_only_the_required_fields_suffice(client: TestClient) -> None:
    minimal = {
        "org_name": "某公司",
        "contact_name": "张三",
        "office_phone": "0591-87654321",
        "title": "需求",
        "description": "说明",
    }
    assert client.post(URL, json=minimal).status_code == 201


BAD_FIELDS = [
    ("mobile", "12345678901", "mobile_invalid"),
    ("mobile", "1380591234", "mobile_invalid"),
    ("office_phone", "call me", "phone_invalid"),
    ("postcode", "35000", "postcode_invalid"),
    ("postcode", "35000a", "postcode_invalid"),
    ("email", "rd@minguang", "email_invalid"),
    ("email", "rd minguang@example.com", "email_invalid"),
    ("website", "ftp://example.com", "url_invalid"),
    ("website", "not a url", "url_invalid"),
    ("org_name", "   ", "blank"),
    ("title", "　\t", "blank"),
    ("title", "长" * 101, "too_long"),
    ("description", "长" * 5001, "too_long"),
    ("main_business", "长" * 501, "too_long"),
    ("industry_code", "Z9999", "industry_code_unknown"),
    ("discipline_code", "99999", "discipline_code_unknown"),
    ("region_code", "999999", "region_code_unknown"),
    ("keywords", ["a", "b", "c", "d", "e", "f"], "too_many"),
    ("keywords[1]", ["a", " "], "blank"),
    ("cooperation_mode", "买断", "choice_invalid"),
    ("budget_wan", -1, "number_too_small"),
    ("budget_wan", "很多", "number_invalid"),
    ("budget_wan", 1.234, "decimal_places"),
    ("deadline", "2027-02-30", "date_invalid"),
    ("org_name", 42, "type_invalid"),
    ("surprise", "x", "unknown_field"),
]


@pytest.mark.parametrize(("field", "value", "code"), BAD_FIELDS)
def test_a_bad_field_is_named_with_its_code_and_writes_nothing(
    client: TestClient, db: sessionmaker[Session], field: str, value: object, code: str
) -> None:
    response = client.post(URL, json=demand_payload(**{field.split("[")[0]: value}))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert _errors(response) == {field: code}
    assert all(item["message"] and "{" not in item["message"] for item in response.json()["errors"])
    assert _count(db) == 0


def test_every_bad_field_is_listed_at_once(client: TestClient, db: sessionmaker[Session]) -> None:
    payload = demand_payload(mobile=None, office_phone=None, postcode="1", email="x@", title=" ")
    del payload["org_name"]
    response = client.post(URL, json=payload)
    assert response.status_code == 422
    assert _errors(response) == {
        "org_name": "required",
        "postcode": "postcode_invalid",
        "email": "email_invalid",
        "title": "blank",
        "mobile": "contact_phone_required",
    }
    assert _count(db) == 0


def test_one_phone_number_is_required(client: TestClient) -> None:
    response = client.post(URL, json=demand_payload(mobile="", office_phone="  "))
    assert _errors(response) == {"mobile": "contact_phone_required"}
    message = response.json()["errors"][0]["message"]
    assert "手机" in message
    assert "办公电话" in message


def test_messages_are_chinese_and_actionable(client: TestClient) -> None:
    response = client.post(URL, json=demand_payload(mobile="12345"))
    assert response.json() == {
        "detail": "请求内容有误",
        "code": "validation_error",
        "errors": [
            {
                "field": "mobile",
                "code": "mobile_invalid",
                "message": "手机号码应为以1开头的11位数字（第二位为3-9），如 13812345678",
            }
        ],
    }


def test_malformed_json_gets_the_same_shape(client: TestClient, db: sessionmaker[Session]) -> None:
    response = client.post(URL, content=b'{"org_name": "x",', headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert _errors(response) == {"body": "json_invalid"}
    assert _count(db) == 0


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"null"])
def test_a_body_that_is_not_an_object_gets_the_same_shape(client: TestClient, body: bytes) -> None:
    response = client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert set(_errors(response).values()) <= {"body_not_object", "required"}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_wrong_content_type_gets_the_same_shape(
    client: TestClient, db: sessionmaker[Session], content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(URL, content=b'{"org_name": "x"}', headers=headers)
    assert response.status_code == 415
    assert response.json()["detail"] == "请求内容有误"
    assert _errors(response) == {"Content-Type": "content_type_invalid"}
    assert _count(db) == 0


def test_a_retry_with_the_same_key_returns_the_same_demand(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    headers = {"Idempotency-Key": "order-7f3a"}
    first = client.post(URL, json=demand_payload(), headers=headers)
    again = client.post(URL, json=demand_payload(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(db) == 1


def test_the_same_key_with_another_payload_is_refused(client: TestClient, db: sessionmaker[Session]) -> None:
    headers = {"Idempotency-Key": "order-7f3a"}
    client.post(URL, json=demand_payload(), headers=headers)
    response = client.post(URL, json=demand_payload(title="另一个需求"), headers=headers)
    assert response.status_code == 422
    assert _errors(response) == {"Idempotency-Key": "idempotency_key_reused"}
    assert _count(db) == 1


def test_without_a_key_two_posts_are_two_demands(client: TestClient, db: sessionmaker[Session]) -> None:
    client.post(URL, json=demand_payload())
    client.post(URL, json=demand_payload())
    assert _count(db) == 2


def test_concurrent_retries_create_one_demand(db: sessionmaker[Session]) -> None:
    payload = DemandCreate.model_validate(demand_payload())
    start, results, failures = threading.Barrier(6), [], []

    def retry() -> None:
        start.wait()
        try:
            with db.begin() as session:
                outcome = submit(session, payload=payload, secret=b"k", idempotency_key="same-key")
                results.append((outcome.demand.id, outcome.receipt_token))
        except Exception as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(set(results)) == 1
    assert _count(db) == 1


def test_identical_submissions_racing_without_a_key_are_all_accepted(db: sessionmaker[Session]) -> None:
    payload = DemandCreate.model_validate(demand_payload())
    ids: list[int] = []

    def again() -> None:
        with db.begin() as session:
            ids.append(submit(session, payload=payload, secret=b"k", idempotency_key=None).demand.id)

    with db.begin() as first_session:
        ids.append(submit(first_session, payload=payload, secret=b"k", idempotency_key=None).demand.id)
        racer = threading.Thread(target=again)
        racer.start()
        racer.join(timeout=0.5)  # on PostgreSQL the second insert waits on the first's dedup key
    racer.join(timeout=10)
    assert len(set(ids)) == 2
    with db() as session:
        keys = session.scalars(select(Demand.dedup_key).order_by(Demand.id)).all()
    assert keys[0] is not None
    assert keys[1] is None


def test_a_retry_racing_an_uncommitted_first_attempt_gets_its_demand(db: sessionmaker[Session]) -> None:
    payload = DemandCreate.model_validate(demand_payload())
    results: list[int] = []

    def retry() -> None:
        with db.begin() as session:
            results.append(submit(session, payload=payload, secret=b"k", idempotency_key="race").demand.id)

    with db.begin() as first_session:
        first = submit(first_session, payload=payload, secret=b"k", idempotency_key="race").demand.id
        racer = threading.Thread(target=retry)
        racer.start()
        racer.join(timeout=0.5)  # the retry now waits on the first attempt's lock
        assert racer.is_alive()
    racer.join(timeout=10)
    assert results == [first]
    assert _count(db) == 1
