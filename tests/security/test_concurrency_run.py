"""A concurrency run: 50 clients against a running server, mixed changes of the same pairings and demands.

Each client sends ``OPERATIONS`` requests chosen at random (seeded): pairing transitions with the
version it just read, demand status changes and demand edits. Afterwards the histories must tell the
same story as the answers: every 200 left exactly one event (none duplicated, none lost), the events
chain (each starts where the previous one ended), every pairing's version counts its changes, and a
demand's title is the one of its last recorded edit. No answer may be a 5xx. The counts are written to
``artifacts/concurrency-<backend>.md``.
"""

import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.db import Demand, DemandEvent
from api.matching.models import Pairing, PairingEvent
from tests.security.live import REPO, running_server
from tests.security.world import World, build_world

pytestmark = [pytest.mark.db, pytest.mark.slow]

CLIENTS = 50
OPERATIONS = 20
# Repeatable changes (record 对接, lock) weigh more than the final ones, so the rows stay in play.
PAIRING_ACTIONS: list[dict[str, Any]] = [
    {"action": "accept"},
    {"action": "accept"},
    {"action": "contact", "contact_date": "2026-11-20", "contact_notes": "电话沟通"},
    {"action": "contact", "contact_date": "2026-11-21", "contact_notes": "上门洽谈"},
    {"action": "contact", "contact_date": "2026-11-22", "contact_notes": "视频会议"},
    {"action": "lock", "reason": "重点对接"},
    {"action": "lock", "reason": "继续跟进"},
    {"action": "agreement", "agreement_type": "技术开发", "agreement_amount_wan": "12.50"},
    {"action": "reject", "reason": "方向不符"},
    {"action": "close", "reason": "已完成"},
]
DEMAND_TARGETS = ["in_review", "published", "returned", "closed"]


@dataclass
class Tally:
    """What the clients saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    pairing_changes: Counter[int] = field(default_factory=Counter)
    demand_changes: Counter[int] = field(default_factory=Counter)
    demand_edits: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, answer: httpx.Response, counter: Counter[int] | None, key: int) -> None:
        """Count an answer; a 200 is a change of ``key`` in ``counter``."""
        with self.lock:
            self.statuses[answer.status_code] += 1
            if answer.status_code == 200 and counter is not None:
                counter[key] += 1


@pytest.fixture
def live(
    client: TestClient, db: sessionmaker[Session], database_url: str, tmp_path: Path
) -> Iterator[tuple[str, World]]:
    """A running server on the test database holding the small world."""
    world = build_world(client, db)
    env = {"HUIQI_RATE_LIMIT_SUBMIT_PER_MINUTE": "0", "HUIQI_SECRET_KEY": "test-signing-key"}
    with running_server(database_url, tmp_path, **env) as base:
        yield base, world


def _client(base: str, world: World, seed: int, tally: Tally, start: threading.Barrier) -> None:
    chance = random.Random(seed)
    headers = world.headers("reviewer")
    pairings, demands = [world.pairing_a, world.pairing_b], [world.demand_a, world.demand_b]
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        start.wait()
        for step in range(OPERATIONS):
            try:
                kind = chance.random()
                if kind < 0.5:
                    pairing = chance.choice(pairings)
                    etag = http.get(f"/api/v1/pairings/{pairing}").headers["ETag"]
                    body = chance.choice(PAIRING_ACTIONS)
                    answer = http.post(
                        f"/api/v1/pairings/{pairing}/transitions", json=body, headers={"If-Match": etag}
                    )
                    tally.note(answer, tally.pairing_changes, pairing)
                elif kind < 0.8:
                    demand = chance.choice(demands)
                    target = chance.choice(DEMAND_TARGETS)
                    body = {"to": target, "reason": "请补充材料"} if target == "returned" else {"to": target}
                    answer = http.post(f"/api/v1/demands/{demand}/transitions", json=body)
                    tally.note(answer, tally.demand_changes, demand)
                else:
                    demand = chance.choice(demands)
                    answer = http.patch(f"/api/v1/demands/{demand}", json={"title": f"并发修改{seed}-{step}"})
                    tally.note(answer, tally.demand_edits, demand)
            except (httpx.HTTPError, KeyError) as error:
                with tally.lock:
                    tally.errors.append(repr(error))


@dataclass
class Findings:
    """What the database says against what the clients saw."""

    duplicates: int = 0
    lost: int = 0
    broken_chains: int = 0
    details: list[str] = field(default_factory=list)

    def compare(self, what: str, recorded: int, answered: int) -> None:
        """Count events beyond the 200s as duplicates, 200s without an event as lost updates."""
        if recorded > answered:
            self.duplicates += recorded - answered
            self.details.append(f"{what}: {recorded} events for {answered} successful changes")
        if recorded < answered:
            self.lost += answered - recorded
            self.details.append(f"{what}: {answered} successful changes but only {recorded} events")


def _check(db: sessionmaker[Session], world: World, tally: Tally) -> Findings:
    found = Findings()
    with db() as session:
        for pairing_id in (world.pairing_a, world.pairing_b):
            pairing = session.get(Pairing, pairing_id)
            assert pairing is not None
            events = list(
                session.scalars(
                    select(PairingEvent)
                    .where(PairingEvent.pairing_id == pairing_id)
                    .order_by(PairingEvent.id)
                )
            )
            found.compare(f"pairing {pairing_id}", len(events), tally.pairing_changes[pairing_id])
            found.compare(
                f"pairing {pairing_id} version", pairing.version - 1, tally.pairing_changes[pairing_id]
            )
            _chain(found, f"pairing {pairing_id}", [(e.from_status, e.to_status) for e in events])
        for demand_id in (world.demand_a, world.demand_b):
            demand = session.get(Demand, demand_id)
            assert demand is not None
            events = list(
                session.scalars(
                    select(DemandEvent).where(DemandEvent.demand_id == demand_id).order_by(DemandEvent.id)
                )
            )
            moves = [e for e in events if e.kind == "status_changed"]
            edits = [e for e in events if e.kind == "updated"]
            found.compare(f"demand {demand_id} status", len(moves), tally.demand_changes[demand_id])
            found.compare(f"demand {demand_id} edits", len(edits), tally.demand_edits[demand_id])
            _chain(found, f"demand {demand_id}", [(e.from_status, e.to_status) for e in moves])
            if edits and (edits[-1].changes or {}).get("title", {}).get("to") != demand.title:
                found.lost += 1
                found.details.append(f"demand {demand_id}: stored title is not its last recorded edit")
    return found


def _chain(found: Findings, what: str, steps: list[tuple[Any, Any]]) -> None:
    for (_, before_to), (after_from, _) in itertools.pairwise(steps):
        if before_to != after_from:
            found.broken_chains += 1
            found.details.append(f"{what}: an event starts at {after_from} after one ended at {before_to}")


def test_fifty_clients_changing_the_same_rows(
    live: tuple[str, World], db: sessionmaker[Session], database_url: str
) -> None:
    base, world = live
    tally = Tally()
    start = threading.Barrier(CLIENTS)
    threads = [
        threading.Thread(target=_client, args=(base, world, seed, tally, start)) for seed in range(CLIENTS)
    ]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - began
    found = _check(db, world, tally)
    backend = "postgres" if database_url.startswith("postgresql") else "sqlite"
    _record(backend, tally, found, seconds)
    server_errors = sum(count for status, count in tally.statuses.items() if status >= 500)
    assert tally.errors == []
    assert server_errors == 0, tally.statuses
    assert (found.duplicates, found.lost, found.broken_chains) == (0, 0, 0), found.details
    assert sum(tally.pairing_changes.values()) > 0
    assert sum(tally.demand_edits.values()) > 0


def _record(backend: str, tally: Tally, found: Findings, seconds: float) -> None:
    load = ", ".join(f"{value:.2f}" for value in psutil.getloadavg())
    server_errors = sum(count for status, count in tally.statuses.items() if status >= 500)
    statuses = ", ".join(f"{status}×{count}" for status, count in sorted(tally.statuses.items()))
    lines = [
        f"# Concurrency run on {backend}",
        "",
        f"{CLIENTS} clients × {OPERATIONS} operations on 2 pairings and 2 demands in {seconds:.1f} s"
        f" (load average {load}).",
        "",
        f"- answers: {statuses}",
        f"- transport errors: {len(tally.errors)}",
        f"- 5xx: {server_errors}",
        f"- successful pairing transitions: {sum(tally.pairing_changes.values())}",
        f"- successful demand transitions: {sum(tally.demand_changes.values())}",
        f"- successful demand edits: {sum(tally.demand_edits.values())}",
        f"- duplicate events: {found.duplicates}",
        f"- lost updates: {found.lost}",
        f"- broken history chains: {found.broken_chains}",
        *[f"  - {detail}" for detail in found.details],
    ]
    target = REPO / "artifacts" / f"concurrency-{backend}.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
