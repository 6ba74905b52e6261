"""The smaller findings of the second hardening pass, each reproduced on SQLite and PostgreSQL."""

import io
import json

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import Demand, DemandStatus
from api.errors import MAX_FIELD_ERRORS
from api.security.public import MASK, mask_contacts
from tests.api.demand_files import FORM_HEADERS, form_row
from tests.api.factories import demand_payload

pytestmark = pytest.mark.db


def _count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Demand)) or 0


def test_a_round_with_many_unknown_demands_gets_a_short_answer(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    """Reproduction: a round with 1,000,000 demand ids got a 96.7 MB 422 (one entry per id)."""
    ids = list(range(1, 200_001))  # 1.3 MB of JSON, within the body limit
    answer = client.post("/api/v1/rounds", json={"demand_ids": ids}, headers=staff_headers)
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert len(errors) == MAX_FIELD_ERRORS + 1
    assert errors[-1]["code"] == "more_errors"
    assert f"另有 {200_000 - MAX_FIELD_ERRORS} 处错误未列出" in errors[-1]["message"]
    assert len(answer.content) < 20_000


@pytest.mark.parametrize("title", ["\u200b\u200e", "\u202e\u2066\u2069", " \ufeff\u200d "])
def test_a_title_of_only_invisible_characters_is_blank(
    client: TestClient, db: sessionmaker[Session], title: str
) -> None:
    """Reproduction: titles made only of zero-width or direction characters were accepted."""
    answer = client.post("/api/v1/demands", json=demand_payload(title=title))
    assert answer.status_code == 422
    assert {item["field"]: item["code"] for item in answer.json()["errors"]} == {"title": "blank"}
    assert _count(db) == 0


def test_invisible_characters_inside_a_text_stay(client: TestClient, staff_headers: dict[str, str]) -> None:
    title = "焊接机器人\u200d研发"
    created = client.post("/api/v1/demands", json=demand_payload(title=title)).json()
    stored = client.get(f"/api/v1/demands/{created['id']}", headers=staff_headers).json()
    assert stored["title"] == title


def test_a_repeated_json_key_is_refused(client: TestClient, db: sessionmaker[Session]) -> None:
    """Reproduction: a duplicate JSON key silently kept the last value."""
    body = json.dumps(demand_payload())[:-1] + ', "title": "另一个标题"}'
    answer = client.post("/api/v1/demands", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {
            "field": "body",
            "code": "duplicate_key",
            "message": "JSON 中的字段“title”出现了不止一次，请只保留一个",
        }
    ]
    assert _count(db) == 0


def test_the_visible_sheet_is_imported_not_a_hidden_first_one(
    client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    """Reproduction: an XLSX whose first sheet is hidden imported the hidden sheet."""
    workbook = Workbook()
    hidden = workbook.active
    assert hidden is not None
    hidden.title, hidden.sheet_state = "旧版", "hidden"
    hidden.append(FORM_HEADERS)
    hidden.append(form_row(1, title="隐藏表的需求"))
    visible = workbook.create_sheet("汇总表")
    visible.append(FORM_HEADERS)
    visible.append(form_row(2, title="可见表的需求"))
    workbook.active = 1
    stream = io.BytesIO()
    workbook.save(stream)
    files = {"files": ("demands.xlsx", stream.getvalue(), "application/octet-stream")}
    answer = client.post(
        "/api/v1/demands/import", files=files, data={"mode": "keep_valid"}, headers=staff_headers
    )
    assert answer.status_code == 200, answer.text
    with db() as session:
        titles = set(session.scalars(select(Demand.title)))
    assert titles == {"可见表的需求"}


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=zz"])
def test_a_broken_multipart_body_is_explained_in_chinese(
    client: TestClient, staff_headers: dict[str, str], content_type: str
) -> None:
    """Reproduction: "Missing boundary in multipart." in English."""
    answer = client.post(
        "/api/v1/demands/import", content=b"abc", headers=staff_headers | {"Content-Type": content_type}
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "multipart_invalid"
    assert "multipart/form-data" in answer.json()["errors"][0]["message"]


def test_a_long_search_text_is_counted_in_characters(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    """Reproduction: "q最多100项" for a string's length."""
    answer = client.get("/api/v1/demands", params={"q": "焊" * 101}, headers=staff_headers)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["message"] == "查找内容最多100个字，请删减后再提交"


def test_a_receipt_token_on_a_missing_demand_answers_like_on_another_demand(client: TestClient) -> None:
    """Reproduction: a missing id answered 404 where an existing one answered 403."""
    mine = client.post("/api/v1/demands", json=demand_payload()).json()
    other = client.post("/api/v1/demands", json=demand_payload(title="别家的需求")).json()
    headers = {"X-Receipt-Token": mine["receipt_token"]}
    existing = client.get(f"/api/v1/demands/{other['id']}", headers=headers)
    missing = client.get("/api/v1/demands/999999", headers=headers)
    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json()
    pairings = client.get("/api/v1/enterprise/demands/999999/pairings", headers=headers)
    assert pairings.status_code == 403


def test_the_public_listing_masks_contacts_typed_into_the_texts(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    """Reproduction: the public listing showed phones and e-mails typed inside the description."""
    description = "需要焊接工艺改进。联系张工 13812345678，或 0591-87654321，邮箱 zhang@example.com.cn。"
    created = client.post("/api/v1/demands", json=demand_payload(description=description)).json()
    with db.begin() as session:
        demand = session.get(Demand, created["id"])
        assert demand is not None
        demand.status = DemandStatus.PUBLISHED
    listed = client.get("/api/v1/public/demands").json()["items"][0]
    one = client.get(f"/api/v1/public/demands/{created['id']}").json()
    for shown in (listed, one):
        assert "13812345678" not in shown["description"]
        assert "87654321" not in shown["description"]
        assert "zhang@example.com.cn" not in shown["description"]
        assert shown["description"].count(MASK) == 3
        assert shown["description"].startswith("需要焊接工艺改进。")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("手机 138 1234 5678", True),
        ("+86-13912345678", True),
        ("（010）66661111", True),
        ("１３８１２３４５６７８", True),
        ("预算300万元，2026年12月前完成，年产10000台", False),
        ("专利号 ZL201610123456.7", False),
    ],
)
def test_contact_masking_keeps_other_numbers(text: str, masked: bool) -> None:
    assert (MASK in mask_contacts(text)) is masked
