"""The worker: exclusive claims, dead workers' jobs taken over, and a worker killed mid-round."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager

import pytest
from sqlalchemy import Connection, TextClause, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine
from api.matching import jobs, service
from api.matching.models import Job, JobStatus, MatchRound, Pairing, RoundStatus
from api.matching.schemas import RoundScope
from api.worker import work_once
from tests.api.matching_helpers import DEMANDS, add_demands, add_societies

pytestmark = pytest.mark.db

Factory = sessionmaker[Session]
WORKER = [sys.executable, "-c", "from api.cli import app; app()", "worker", "--once", "--heartbeat", "0.2"]
# The statement that ends a round's save transaction: it waits while the test holds the job's row lock.
FINISH_QUERY = "UPDATE jobs SET status=%"


def _queue_round(db: Factory) -> int:
    with db.begin() as session:
        return service.create_round(session, scope=RoundScope(), staff=None).id


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _round_state(db: Factory, round_id: int) -> tuple[RoundStatus, str | None, int]:
    with db() as session:
        matching_round = session.get(MatchRound, round_id)
        assert matching_round is not None
        pairings = session.scalar(
            select(func.count()).select_from(Pairing).where(Pairing.round_id == round_id)
        )
        stage = matching_round.stage.value if matching_round.stage else None
        return matching_round.status, stage, int(pairings or 0)


def _job_status(db: Factory) -> JobStatus:
    with db() as session:
        status = session.scalar(select(Job.status))
        assert status is not None
        return status


def test_a_job_is_claimed_by_one_worker_only(db: Factory) -> None:
    add_societies(db)
    round_id = _queue_round(db)
    first = jobs.claim(db, "worker-a")
    assert first is not None
    assert first.round_id == round_id
    assert jobs.claim(db, "worker-b") is None
    assert jobs.heartbeat(db, first.job_id, "worker-a")
    assert not jobs.heartbeat(db, first.job_id, "worker-b")


def test_a_dead_workers_job_is_retried_then_failed(db: Factory) -> None:
    round_id = _queue_round(db)
    for attempt in (1, 2):
        claim = jobs.claim(db, f"worker-{attempt}")
        assert claim is not None
        time.sleep(0.05)
        assert jobs.reap_stale(db, stale_after=0.01) == [round_id]
    status, _, _ = _round_state(db, round_id)
    assert status == RoundStatus.FAILED
    assert _job_status(db) == JobStatus.FAILED
    with db() as session:
        assert "心跳超时" in (session.scalar(select(MatchRound.error)) or "")


@contextmanager
def _worker(database_url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "HUIQI_DATABASE_URL": database_url}
    # Output goes nowhere: an unread pipe would fill up and stall the worker.
    process = subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _blocked_finish(connection: Connection) -> int | None:
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :finish"
        " AND datname = current_database()"
    )
    pid = connection.execute(query, {"finish": FINISH_QUERY}).scalar()
    connection.rollback()  # statistics views are frozen for the length of a transaction
    return pid


def _count(connection: Connection, query: TextClause, pid: int | None) -> int:
    count = int(connection.execute(query, {"pid": pid}).scalar() or 0)
    connection.rollback()
    return count


def _kill_inside_the_save_transaction(db: Factory, database_url: str, round_id: int) -> None:
    """PostgreSQL: hold the job's row lock so the worker stops inside its save transaction, then kill it."""
    engine = make_engine(database_url)
    try:
        with _worker(database_url) as worker, engine.connect() as lock:
            _wait_for(lambda: _job_status(db) == JobStatus.RUNNING, what="the worker's claim")
            lock.execute(select(Job.id).with_for_update())
            with engine.connect() as watcher:
                _wait_for(
                    lambda: _blocked_finish(watcher) is not None,
                    what="the save transaction",
                )
                backend = _blocked_finish(watcher)
                assert _round_state(db, round_id)[1] == "save"
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
                lock.rollback()
                alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
                _wait_for(lambda: _count(watcher, alive, backend) == 0, what="the backend to end")
    finally:
        engine.dispose()


def _sqlite_round_status(database_url: str, round_id: int) -> str:
    # A plain read in WAL mode: the service's sessions take SQLite's write lock at BEGIN, and polling
    # with them would starve the very worker the test waits for.
    path = make_url(database_url).database
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        row = connection.execute("SELECT status FROM match_rounds WHERE id = ?", (round_id,)).fetchone()
    return str(row[0]) if row else ""


def _kill_while_running(db: Factory, database_url: str, round_id: int) -> None:
    """SQLite: kill the worker as soon as its round runs (the stages after tokenize take a few
    hundred milliseconds here, too short a window to aim at; PostgreSQL kills inside the save transaction)."""
    with _worker(database_url) as worker:
        _wait_for(
            lambda: _sqlite_round_status(database_url, round_id) == RoundStatus.RUNNING.value,
            timeout=180,
            what="the round to run",
        )
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


@pytest.mark.slow
def test_a_worker_killed_mid_round_leaves_no_partial_pairings(db: Factory, database_url: str) -> None:
    add_societies(db, capacity=100)
    add_demands(db, DEMANDS * 100)
    round_id = _queue_round(db)
    if db.kw["bind"].dialect.name == "postgresql":
        _kill_inside_the_save_transaction(db, database_url, round_id)
    else:
        _kill_while_running(db, database_url, round_id)
    status, _, pairings = _round_state(db, round_id)
    assert (status, pairings) == (RoundStatus.RUNNING, 0)  # nothing half-written; the job looks alive
    time.sleep(0.3)
    assert work_once(db, "rescuer", stale_after=0.2) == RoundStatus.SUCCEEDED
    status, stage, pairings = _round_state(db, round_id)
    with db() as session:
        counts = session.scalar(select(MatchRound.counts))
        attempts = session.scalar(select(Job.attempts))
    assert (status, stage, attempts) == (RoundStatus.SUCCEEDED, "save", 2)
    assert counts is not None
    assert pairings == counts["new_pairs"] == 300
