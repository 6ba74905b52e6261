"""Rounds that end early or not at all: an empty scope, a cancel honoured inside a stage, the round's
time limit; and huiqi evaluate ranking exactly as the service does."""

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.matching import pipeline, service
from api.matching.models import Job, JobStatus, MatchRound, Pairing, RoundStage, RoundStatus
from api.matching.schemas import RoundScope
from api.providers.profiles import load_provider_profiles
from api.worker import work_once
from matcher.ranking import LabelledDemand, ProviderDocument, rank
from tests.api.matching_helpers import DEMANDS, add_demands, add_societies

pytestmark = pytest.mark.db
Factory = sessionmaker[Session]


def _queue(db: Factory, **scope: Any) -> int:
    with db.begin() as session:
        return service.create_round(session, scope=RoundScope(**scope), staff=None).id


def _state(db: Factory, round_id: int) -> tuple[MatchRound, int, JobStatus | None]:
    with db() as session:
        found = session.get(MatchRound, round_id)
        assert found is not None
        pairings = session.scalar(
            select(func.count()).select_from(Pairing).where(Pairing.round_id == round_id)
        )
        job = session.scalar(select(Job.status).where(Job.round_id == round_id))
        return found, int(pairings or 0), job


def test_a_round_whose_scope_has_no_demands_finishes_at_once_and_says_so(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    add_demands(db)
    response = client.post("/api/v1/rounds", json={"region": "99"}, headers=staff_headers)
    assert response.status_code == 202, response.text
    assert work_once(db, "test-worker") == RoundStatus.SUCCEEDED
    found, pairings, job = _state(db, response.json()["id"])
    assert (found.status, pairings, job) == (RoundStatus.SUCCEEDED, 0, JobStatus.DONE)
    assert found.counts["demands"] == 0
    assert found.diagnosis is not None
    assert found.diagnosis["message"] == "本轮范围内没有需求，未生成配对"
    assert found.error is None


def test_a_cancel_is_honoured_inside_the_candidate_stage(
    db: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_societies(db)
    add_demands(db)
    round_id = _queue(db)
    monkeypatch.setattr(pipeline, "CANCEL_POLL", 0.0)  # read the flag at every look, not every 0.5 s

    def cancel_when(stage: RoundStage, _percent: int) -> None:
        if stage == RoundStage.CANDIDATES:  # staff press 取消 while the candidates are computed
            with db.begin() as session:
                service.cancel_round(session, round_id=round_id)

    assert pipeline.run_round(db, round_id, listener=cancel_when) == RoundStatus.CANCELLED
    found, pairings, job = _state(db, round_id)
    assert (found.status, found.error, pairings, job) == (RoundStatus.CANCELLED, "已取消", 0, JobStatus.DONE)
    assert found.stage == RoundStage.CANDIDATES  # it stopped there, never reached the save


def test_a_round_past_its_time_limit_stops_with_a_chinese_reason(
    db: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_societies(db)
    add_demands(db)
    round_id = _queue(db, time_limit=10)
    offset = [0.0]
    real = pipeline.CLOCK
    monkeypatch.setattr(pipeline, "CLOCK", lambda: real() + offset[0])

    def slow_index(stage: RoundStage, _percent: int) -> None:
        if stage == RoundStage.VECTORIZE:
            offset[0] += 11.0  # as if fitting the provider index took 11 s

    assert pipeline.run_round(db, round_id, listener=slow_index) == RoundStatus.FAILED
    found, pairings, job = _state(db, round_id)
    assert found.error == "超过本轮时间限制（10 秒），已停止；可缩小需求范围或提高时间限制后重试"
    assert (pairings, job) == (0, JobStatus.FAILED)


def test_the_time_limit_is_a_field_of_the_round_request(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/rounds", json={"time_limit": 5}, headers=staff_headers)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "time_limit"
    assert "时间限制" in error["message"]


def test_huiqi_evaluate_ranks_exactly_as_the_match_lists(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    demand_ids = add_demands(db)
    with db() as session:
        profiles = load_provider_profiles(session, "society", active_only=True)
    documents = [ProviderDocument(str(p.id), p.name, text) for p in profiles for text in p.documents]
    labelled = [LabelledDemand(str(i), title, description) for i, (title, description) in enumerate(DEMANDS)]
    scores, ids = rank(documents, labelled)
    for row, demand_id in enumerate(demand_ids):
        response = client.get(f"/api/v1/demands/{demand_id}/matches?limit=10", headers=staff_headers)
        assert response.status_code == 200, response.text
        listed = [(str(item["provider_id"]), item["score"]) for item in response.json()["items"]]
        dense = scores.toarray()[row]
        ranked = [
            (ids[c], float(dense[c])) for c in np.lexsort((np.arange(dense.size), -dense)) if dense[c] > 0
        ]
        assert [pid for pid, _ in listed] == [pid for pid, _ in ranked]
        # liblinear shuffles its examples: two fits of the SVM agree to float rounding
        np.testing.assert_allclose([s for _, s in listed], [s for _, s in ranked], atol=1e-5)
