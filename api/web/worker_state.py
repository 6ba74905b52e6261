"""Whether a matching worker is taking rounds, read from the job queue (workers leave no other trace)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.matching.models import Job, JobStatus, MatchRound, RoundStatus

# A queued round nobody took within this many seconds means no worker is running.
UNCLAIMED_AFTER: Final = timedelta(seconds=6)
# A running job whose heartbeat is older than this belongs to a worker that stopped.
HEARTBEAT_STALE: Final = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class WorkerState:
    """What the pages say about background matching: ``ok`` None when nothing shows either way."""

    ok: bool | None
    text: str


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def worker_state(session: Session, now: datetime | None = None) -> WorkerState:
    """Whether a worker takes the queued rounds, read from the job queue (workers leave no other trace)."""
    now = now or datetime.now(UTC)
    running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
    if any(job.heartbeat_at and now - _aware(job.heartbeat_at) < HEARTBEAT_STALE for job in running):
        return WorkerState(True, "后台匹配进程正在运行一轮匹配。")
    oldest = session.scalars(
        select(Job).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(1)
    ).first()
    if oldest is not None and now - _aware(oldest.created_at) > UNCLAIMED_AFTER:
        waited = int((now - _aware(oldest.created_at)).total_seconds())
        return WorkerState(False, f"第 {oldest.round_id} 轮已排队 {waited} 秒仍未开始：{NO_WORKER_ADVICE}")
    if oldest is not None:
        return WorkerState(None, f"第 {oldest.round_id} 轮刚刚加入队列，等待后台匹配进程领取。")
    last = session.scalars(
        select(Job).where(Job.finished_at.is_not(None)).order_by(Job.finished_at.desc()).limit(1)
    ).first()
    if last is None or last.finished_at is None:
        return WorkerState(None, "还没有运行过匹配轮次；开始一轮后，这里会显示后台匹配进程是否在工作。")
    finished = _ago(now, _aware(last.finished_at))
    return WorkerState(None, f"队列为空。后台匹配进程最近一次完成匹配：{finished}。")


NO_WORKER_ADVICE: Final = "后台匹配进程可能没有运行，请联系系统管理员启动它（轮次会在启动后自动开始）。"


def _ago(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return f"{seconds} 秒前"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前"
    if seconds < 86400:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


def round_waiting_hint(session: Session, matching_round: MatchRound, now: datetime | None = None) -> str:
    """A sentence when a queued round has waited too long for a worker; empty otherwise."""
    if matching_round.status != RoundStatus.QUEUED:
        return ""
    now = now or datetime.now(UTC)
    waited = now - _aware(matching_round.created_at)
    if waited <= UNCLAIMED_AFTER:
        return ""
    return f"本轮已排队 {int(waited.total_seconds())} 秒，仍没有后台匹配进程领取。{NO_WORKER_ADVICE}"
