"""Encoding in the worker: vectors stored once with the model's identity, re-encoded only on change."""

from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand, DemandStatus
from api.encoding import service
from api.encoding.models import OwnerKind, TextVector
from api.providers.models import Society
from features.encoder import E5Encoder, NullEncoder
from matcher.dense import vector_from_bytes
from tests.api.matching_helpers import DEMANDS as DEMANDS_TEXT
from tests.api.matching_helpers import add_demands, add_societies

pytestmark = pytest.mark.db

Factory = sessionmaker[Session]


@pytest.fixture(scope="module")
def e5() -> E5Encoder:
    return E5Encoder()


def _rows(db: Factory, kind: OwnerKind) -> list[TextVector]:
    with db() as session:
        query = select(TextVector).where(TextVector.owner_kind == kind)
        return list(session.scalars(query.order_by(TextVector.owner_id, TextVector.position)))


def test_pending_texts_are_encoded_once_with_the_model_identity(db: Factory, e5: E5Encoder) -> None:
    societies = add_societies(db)
    demands = add_demands(db)
    with db() as session:
        before = service.status(session, e5)
    assert before.pending == {"demand": 3, "society": 3, "branch": 0, "expert": 0}
    assert before.notice == service.PENDING_NOTICE
    seen: list[tuple[int, int]] = []
    assert service.encode_pending(db, e5, progress=lambda done, left: seen.append((done, left))) == 6
    assert seen[-1] == (6, 0)
    with db() as session:
        after = service.status(session, e5)
    assert after.total_pending == 0
    assert after.notice is None
    rows = _rows(db, OwnerKind.DEMAND)
    assert [r.owner_id for r in rows] == demands
    for row in rows + _rows(db, OwnerKind.SOCIETY):
        assert (row.model, row.checksum, row.dim) == (e5.identity.name, e5.identity.checksum, 384)
        assert np.linalg.norm(vector_from_bytes(row.vector, row.dim)) == pytest.approx(1.0, abs=1e-4)
    society_rows = _rows(db, OwnerKind.SOCIETY)
    assert {r.owner_id for r in society_rows} == set(societies.values())
    assert all(r.text.startswith("中国") for r in society_rows)
    # The stored demand vector is the one the encoder gives for the same text.
    np.testing.assert_allclose(
        vector_from_bytes(rows[0].vector, 384), e5.queries([rows[0].text])[0], atol=2e-4
    )
    # Nothing left: a second pass encodes nothing.
    assert service.encode_pending(db, e5) == 0


def test_a_changed_text_is_encoded_again_and_a_status_change_is_not(db: Factory, e5: E5Encoder) -> None:
    (demand_id,) = add_demands(db, [("锂电池回收", "退役动力电池梯次利用与材料回收")])
    service.encode_pending(db, e5)
    (first,) = _rows(db, OwnerKind.DEMAND)
    with db.begin() as session:
        demand = session.get_one(Demand, demand_id)
        demand.status = DemandStatus.CLOSED
    with db() as session:
        assert service.status(session, e5).pending["demand"] == 1
    service.encode_pending(db, e5)
    (same,) = _rows(db, OwnerKind.DEMAND)
    assert same.vector == first.vector
    assert same.id == first.id
    with db.begin() as session:
        demand = session.get_one(Demand, demand_id)
        demand.title = "钠离子电池正极材料"
    service.encode_pending(db, e5)
    (changed,) = _rows(db, OwnerKind.DEMAND)
    assert changed.vector != first.vector
    assert changed.source_hash != first.source_hash
    assert changed.text.startswith("钠离子电池")


def test_vectors_of_another_model_are_never_read(db: Factory, e5: E5Encoder) -> None:
    ids = add_societies(db)
    service.encode_pending(db, e5)
    with db.begin() as session:
        session.execute(update(TextVector).values(checksum="0" * 64))
    with db() as session:
        assert service.load_chunks(session, OwnerKind.SOCIETY, list(ids.values()), e5) == {}
        assert service.status(session, e5).pending["society"] == 3


def test_deleted_owners_lose_their_vectors(db: Factory, e5: E5Encoder) -> None:
    ids = add_societies(db)
    service.encode_pending(db, e5)
    with db.begin() as session:
        session.delete(session.get_one(Society, ids["中国农学会"]))
    service.encode_pending(db, e5)
    with db() as session:
        owners = set(session.scalars(select(TextVector.owner_id).where(TextVector.owner_kind == "society")))
        chunks = service.load_chunks(session, OwnerKind.SOCIETY, list(ids.values()), e5)
    assert owners == {ids["中国材料研究学会"], ids["中国生物医学工程学会"]}
    assert set(chunks) == owners
    assert all(chunks[o] for o in owners)


def test_without_an_encoder_nothing_is_encoded_and_staff_are_told(db: Factory) -> None:
    add_demands(db)
    null = NullEncoder("模型文件缺失")
    assert service.encode_pending(db, null) == 0
    with db() as session:
        current = service.status(session, null)
        assert session.scalar(select(func.count()).select_from(TextVector)) == 0
    assert not current.available
    assert current.notice == service.ENCODER_OFF_NOTICE


def test_the_status_route_counts_pending_texts(
    client: TestClient, db: Factory, staff_headers: dict[str, str]
) -> None:
    add_demands(db)
    answer = client.get("/api/v1/encoding", headers=staff_headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["pending"]["demand"] == 3
    assert body["total_pending"] == 3
    assert body["notice"] == service.PENDING_NOTICE
    assert client.get("/api/v1/encoding").status_code == 401


def test_a_stale_timestamp_alone_does_not_re_encode(db: Factory, e5: E5Encoder) -> None:
    add_demands(db)
    service.encode_pending(db, e5)
    with db.begin() as session:
        for row in session.scalars(select(TextVector)):
            row.encoded_at = row.encoded_at - timedelta(days=1)
    before = {r.id: r.vector for r in _rows(db, OwnerKind.DEMAND)}
    assert service.encode_pending(db, e5) == 3
    assert {r.id: r.vector for r in _rows(db, OwnerKind.DEMAND)} == before


def test_match_lists_use_the_stored_vectors_and_say_when_they_cannot(
    db: Factory, e5: E5Encoder, client: TestClient, staff_headers: dict[str, str]
) -> None:
    from api.matching.index import clear_cache

    add_societies(db)
    encoded, pending = add_demands(db, [DEMANDS_TEXT[0], DEMANDS_TEXT[1]])
    clear_cache()
    before = client.get(f"/api/v1/demands/{encoded}/matches", headers=staff_headers).json()
    assert before["notice"] == service.PROVIDERS_PENDING_NOTICE
    assert all(item["closest_sentence"] is None for item in before["items"])
    service.encode_pending(db, e5)
    with db.begin() as session:
        session.execute(
            delete(TextVector).where(TextVector.owner_kind == "demand", TextVector.owner_id == pending)
        )
        session.execute(update(Demand).where(Demand.id == pending).values(title="农业病虫害绿色防控技术"))
    clear_cache()
    after = client.get(f"/api/v1/demands/{encoded}/matches", headers=staff_headers).json()
    assert after["notice"] is None
    top = after["items"][0]
    assert top["provider_name"] == "中国材料研究学会"
    assert top["closest_sentence"].startswith("中国材料研究学会：")
    assert "最接近的表述" in top["explanation"]
    assert 0 <= top["match_degree"] <= 100
    assert top["match_degree"] == round(100 * top["score"])
    waiting = client.get(f"/api/v1/demands/{pending}/matches", headers=staff_headers).json()
    assert waiting["notice"] == service.DEMAND_PENDING_NOTICE
    assert all(item["closest_sentence"] is None for item in waiting["items"])


def test_a_partly_encoded_level_ranks_by_keywords_until_every_provider_is_encoded(
    db: Factory, e5: E5Encoder, client: TestClient, staff_headers: dict[str, str]
) -> None:
    from api.matching.index import clear_cache

    add_societies(db)
    [demand] = add_demands(db, [DEMANDS_TEXT[0]])
    service.encode_pending(db, e5)
    with db.begin() as session:
        # One society waits for the worker: the others' vectors alone would favour them.
        first = session.scalars(select(Society.id).order_by(Society.id)).first()
        session.execute(
            delete(TextVector).where(TextVector.owner_kind == "society", TextVector.owner_id == first)
        )
    clear_cache()
    partly = client.get(f"/api/v1/demands/{demand}/matches", headers=staff_headers).json()
    assert partly["notice"] == service.PROVIDERS_PENDING_NOTICE
    assert all(item["closest_sentence"] is None for item in partly["items"])
    service.encode_pending(db, e5)
    clear_cache()
    whole = client.get(f"/api/v1/demands/{demand}/matches", headers=staff_headers).json()
    assert whole["notice"] is None
    assert whole["items"][0]["closest_sentence"] is not None


def _import_page(client: TestClient, db: Factory) -> str:
    """The import page's progress sentence, for a signed-in reviewer."""
    from api.auth.passwords import set_password
    from api.db import StaffRole, StaffUser
    from tests.web.conftest import PASSWORD, sign_in

    with db.begin() as session:
        if session.scalar(select(StaffUser).where(StaffUser.name == "审核员丙")) is None:
            staff = StaffUser(name="审核员丙", role=StaffRole.REVIEWER)
            set_password(staff, PASSWORD)
            session.add(staff)
    sign_in(client, "审核员丙")
    page = client.get("/demands/import")
    assert page.status_code == 200
    start = page.text.index('id="encoding-progress"')
    return page.text[start : page.text.index("</section>", start)]


def test_an_import_says_how_many_texts_are_still_being_encoded(
    client: TestClient, db: Factory, staff_headers: dict[str, str], e5: E5Encoder
) -> None:
    from tests.api.demand_files import FORM_HEADERS, form_row, xlsx_bytes

    workbook = xlsx_bytes(FORM_HEADERS, [form_row(i) for i in range(3)])
    files = [("files", ("汇总表.xlsx", workbook, "application/octet-stream"))]
    response = client.post("/api/v1/demands/import", files=files, headers=staff_headers)
    assert response.status_code == 200, response.text
    progress = response.json()["encoding"]
    assert (progress["pending_demands"], progress["pending_texts"]) == (3, 3)
    assert progress["message"].startswith("尚有 3 条需求的文本在后台计算语义向量")
    # The import page says the same, and says when everything is encoded.
    assert "尚有 3 条需求" in _import_page(client, db)
    service.encode_pending(db, e5)
    assert "全部文本的语义向量均已计算完毕" in _import_page(client, db)
