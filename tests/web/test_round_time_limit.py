"""The round form's time limit: refused at its field when out of range, stored on the round otherwise."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.matching.models import MatchRound
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


def test_the_round_form_sets_the_time_limit(browser: TestClient, db: sessionmaker[Session]) -> None:
    page = browser.get("/rounds").text
    assert 'name="time_limit"' in page
    assert "时间限制" in page
    refused = browser.post("/rounds", data={"csrf_token": csrf_of(page), "time_limit": "5"})
    assert refused.status_code == 422
    assert 'id="e-time_limit"' in refused.text
    with db() as session:
        assert session.scalars(select(MatchRound)).all() == []
    browser.post("/rounds", data={"csrf_token": csrf_of(refused.text), "time_limit": "600"})
    with db() as session:
        [queued] = session.scalars(select(MatchRound)).all()
        assert queued.scope["time_limit"] == 600
