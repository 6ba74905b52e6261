"""The character SVM in the service: match lists and rounds score a pair alike, from the demand's text."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.matching.index import provider_index
from api.worker import work_once
from matcher.index import CharacterComponent
from tests.api.matching_helpers import add_demands, add_societies

pytestmark = pytest.mark.db
Factory = sessionmaker[Session]


def _matches(client: TestClient, headers: dict[str, str], demand_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/demands/{demand_id}/matches?limit=3", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_the_society_index_fuses_the_character_svm(db: Factory) -> None:
    add_societies(db)
    with db() as session:
        index = provider_index(session, "society")
    assert index.fused
    [component] = index.components
    assert isinstance(component, CharacterComponent)
    assert component.coef_t.shape == (len(component.vectorizer.vocabulary_), index.ids.size)


def test_a_pair_scores_the_same_in_its_match_list_and_in_a_round(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    demand_ids = add_demands(db)
    listed = {
        (demand_id, item["provider_id"]): item["score"]
        for demand_id in demand_ids
        for item in _matches(client, staff_headers, demand_id)
    }
    response = client.post("/api/v1/rounds", json={}, headers=staff_headers)
    assert response.status_code == 202, response.text
    assert work_once(db, "test-worker") is not None
    pairings = client.get(f"/api/v1/rounds/{response.json()['id']}/pairings", headers=staff_headers).json()
    assert len(pairings["items"]) == len(demand_ids)
    for pairing in pairings["items"]:
        assert pairing["reasons"]
        assert pairing["score"] == pytest.approx(
            listed[(pairing["demand_id"], pairing["provider_id"])], abs=1e-5
        )
