"""Background work claimed through the database, so any number of worker processes can share a queue.

PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` hands each queued job to exactly one worker without
making the others wait. SQLite: every transaction here begins with ``BEGIN IMMEDIATE`` (see
``api.db.session``), so claims are serialised, and the claim is an UPDATE guarded by
``status = 'queued'`` whose row count says who won.

A running job's worker refreshes ``heartbeat_at``; a job whose heartbeat is older than the stale limit
belonged to a worker that died. The next worker requeues it (up to ``max_attempts``) or fails it, and
resets its round, which never holds partial pairings because a round saves in one transaction.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db.base import utcnow
from api.matching.models import Job, JobStatus, MatchRound, RoundStatus


@dataclass(frozen=True, slots=True)
class Claim:
    """A job this worker now owns."""

    job_id: int
    round_id: int


def enqueue(session: Session, round_id: int) -> Job:
    """Queue the job that runs round ``round_id`` (in the caller's transaction)."""
    job = Job(kind="round", round_id=round_id, status=JobStatus.QUEUED)
    session.add(job)
    session.flush()
    return job


def _rowcount(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim(factory: sessionmaker[Session], worker_id: str) -> Claim | None:
    """Take the oldest queued job, or None when the queue is empty."""
    with factory.begin() as session:
        query = select(Job.id, Job.round_id).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(1)
        if _is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).first()
        if row is None:
            return None
        won = session.execute(
            update(Job)
            .where(Job.id == row.id, Job.status == JobStatus.QUEUED)
            .values(
                status=JobStatus.RUNNING,
                claimed_by=worker_id,
                heartbeat_at=utcnow(),
                attempts=Job.attempts + 1,
            )
        )
        return Claim(row.id, row.round_id) if _rowcount(won) == 1 else None


def claim_round(session: Session, round_id: int, worker_id: str) -> None:
    """Mark the job of a round as running in this process (the CLI runs rounds in-process)."""
    session.execute(
        update(Job)
        .where(Job.round_id == round_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, claimed_by=worker_id, heartbeat_at=utcnow(), attempts=1)
    )


def heartbeat(factory: sessionmaker[Session], job_id: int, worker_id: str) -> bool:
    """Tell the others this worker is alive; False when the job is no longer ours."""
    with factory.begin() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.claimed_by == worker_id, Job.status == JobStatus.RUNNING)
            .values(heartbeat_at=utcnow())
        )
        return _rowcount(result) == 1


def reap_stale(factory: sessionmaker[Session], stale_after: float) -> list[int]:
    """Requeue (or fail, after ``max_attempts``) jobs whose worker stopped beating; their round ids."""
    limit = utcnow() - timedelta(seconds=stale_after)
    with factory.begin() as session:
        query = select(Job).where(Job.status == JobStatus.RUNNING, Job.heartbeat_at < limit)
        if _is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        jobs = list(session.scalars(query))
        for job in jobs:
            _reset(session, job)
        return [job.round_id for job in jobs]


def _reset(session: Session, job: Job) -> None:
    retry = job.attempts < job.max_attempts
    note = f"工作进程 {job.claimed_by} 失去响应（心跳超时）"
    job.status = JobStatus.QUEUED if retry else JobStatus.FAILED
    job.claimed_by = None if retry else job.claimed_by
    job.finished_at = None if retry else utcnow()
    values = (
        {"status": RoundStatus.QUEUED, "stage": None, "percent": 0, "error": note + "，已重新排队"}
        if retry
        else {"status": RoundStatus.FAILED, "error": note + "，已达最多尝试次数", "finished_at": utcnow()}
    )
    session.execute(
        update(MatchRound)
        .where(
            MatchRound.id == job.round_id, MatchRound.status.in_([RoundStatus.QUEUED, RoundStatus.RUNNING])
        )
        .values(**values)
    )


def cancel_queued(session: Session, round_id: int) -> None:
    """Take a cancelled round's job off the queue (in the caller's transaction)."""
    session.execute(
        update(Job)
        .where(Job.round_id == round_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.DONE, finished_at=utcnow())
    )
