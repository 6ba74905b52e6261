"""Concurrent changes of one row, sent by real threads to a running server, on SQLite and PostgreSQL.

Each case fires ten requests at once (a barrier releases them together): exactly one change wins, the
others are answered 409 with a Chinese reason, no 5xx, and the history holds exactly one event.
"""

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import DemandEvent, StaffUser
from api.matching.models import PairingEvent
from api.providers.models import DemandPreference, ProviderLevel
from tests.security.live import running_server
from tests.security.world import World, build_world

pytestmark = pytest.mark.db

CLIENTS = 10


@pytest.fixture
def live(
    client: TestClient, db: sessionmaker[Session], database_url: str, tmp_path: Path
) -> Iterator[tuple[str, World]]:
    """A running server on the test database holding the small world."""
    world = build_world(client, db)
    limits = {
        "HUIQI_RATE_LIMIT_SUBMIT_PER_MINUTE": "0",
        "HUIQI_RATE_LIMIT_LOGIN_PER_MINUTE": "0",
        "HUIQI_SECRET_KEY": "test-signing-key",  # the key the world's receipts were signed with
    }
    with running_server(database_url, tmp_path, **limits) as base:
        yield base, world


def fire(requests: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """Send each request from its own thread, all released at once; the answers in order."""
    barrier = threading.Barrier(len(requests))
    answers: list[Any] = [None] * len(requests)

    def run(index: int) -> None:
        with httpx.Client(timeout=120) as http:
            barrier.wait()
            try:
                answers[index] = requests[index](http)
            except httpx.HTTPError as error:
                answers[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def statuses(answers: list[httpx.Response]) -> Counter[int]:
    """How many answers had each status (transport errors fail the test)."""
    assert all(isinstance(answer, httpx.Response) for answer in answers), answers
    return Counter(answer.status_code for answer in answers)


def assert_one_wins(answers: list[httpx.Response], winner: int) -> None:
    """One ``winner`` answer, the others 409 with a Chinese reason; never a 5xx."""
    counts = statuses(answers)
    assert counts == {winner: 1, 409: CLIENTS - 1}, (counts, [a.text[:200] for a in answers])
    for answer in answers:
        if answer.status_code == 409:
            body = answer.json()
            assert body["code"] in {"version_conflict", "invalid_transition", "duplicate", "conflict"}, body
            assert any("\u4e00" <= char <= "\u9fff" for char in body["detail"]), body


def count(db: sessionmaker[Session], query: Any) -> int:
    with db() as session:
        return int(session.scalar(query) or 0)


def test_concurrent_accepts_of_one_pairing_version(
    live: tuple[str, World], db: sessionmaker[Session]
) -> None:
    """Reproduction: 10 × If-Match "1" on PostgreSQL gave 1×200, 5×409, 4×500 (StaleDataError)."""
    base, world = live
    url = f"{base}/api/v1/pairings/{world.pairing_b}/transitions"
    headers = world.headers("reviewer") | {"If-Match": '"1"'}
    answers = fire([lambda http: http.post(url, json={"action": "accept"}, headers=headers)] * CLIENTS)
    assert_one_wins(answers, 200)
    events = select(func.count()).where(PairingEvent.pairing_id == world.pairing_b)
    assert count(db, events) == 1


def test_concurrent_accept_and_reject_of_one_pairing(
    live: tuple[str, World], db: sessionmaker[Session]
) -> None:
    """Reproduction: an accept/reject mix on PostgreSQL gave 5×500."""
    base, world = live
    url = f"{base}/api/v1/pairings/{world.pairing_b}/transitions"
    headers = world.headers("reviewer") | {"If-Match": '"1"'}
    bodies = [{"action": "accept"}, {"action": "reject", "reason": "方向不符"}] * (CLIENTS // 2)
    answers = fire([lambda http, body=body: http.post(url, json=body, headers=headers) for body in bodies])
    assert_one_wins(answers, 200)
    events = select(func.count()).where(PairingEvent.pairing_id == world.pairing_b)
    assert count(db, events) == 1
    current = httpx.get(f"{base}/api/v1/pairings/{world.pairing_b}", headers=world.headers("reviewer"))
    assert current.headers["ETag"] == '"2"'


def test_concurrent_transitions_of_one_demand(live: tuple[str, World], db: sessionmaker[Session]) -> None:
    """Reproduction: 10 × {"to": "in_review"} on PostgreSQL gave 4×200 and 4 history events."""
    base, world = live
    url = f"{base}/api/v1/demands/{world.demand_a}/transitions"
    headers = world.headers("reviewer")
    answers = fire([lambda http: http.post(url, json={"to": "in_review"}, headers=headers)] * CLIENTS)
    assert_one_wins(answers, 200)
    changes = select(func.count()).where(
        DemandEvent.demand_id == world.demand_a, DemandEvent.kind == "status_changed"
    )
    assert count(db, changes) == 1


def test_concurrent_staff_accounts_of_one_name(live: tuple[str, World], db: sessionmaker[Session]) -> None:
    """Reproduction: 10 × POST /api/v1/staff {"name": "race-staff"} on PostgreSQL gave 5×500."""
    base, world = live
    url = f"{base}/api/v1/staff"
    headers = world.headers("admin")
    answers = fire([lambda http: http.post(url, json={"name": "race-staff"}, headers=headers)] * CLIENTS)
    assert_one_wins(answers, 201)
    assert count(db, select(func.count()).where(StaffUser.name == "race-staff")) == 1


def test_concurrent_identical_preferences(live: tuple[str, World], db: sessionmaker[Session]) -> None:
    """Reproduction: 10 identical preferences on PostgreSQL gave 1×500."""
    base, world = live
    url = f"{base}/api/v1/demands/{world.demand_b}/preferences"
    body = {"provider_level": ProviderLevel.BRANCH.value, "provider_id": world.branch, "kind": "prefer"}
    headers = world.headers("enterprise_b")
    answers = fire([lambda http: http.post(url, json=body, headers=headers)] * CLIENTS)
    assert_one_wins(answers, 201)
    same = select(func.count()).where(
        DemandPreference.demand_id == world.demand_b, DemandPreference.provider_id == world.branch
    )
    assert count(db, same) == 1
