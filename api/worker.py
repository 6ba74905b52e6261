"""The worker: a process of its own that claims matching rounds from the database and runs them.

A thread of it encodes, in batches, the demands and provider documents written since
(``api.encoding.service.encode_pending``), so intake never waits for the sentence encoder. That thread
runs at a lower CPU priority (Linux niceness is per thread, and the encoder's OpenMP threads inherit
it): on two cores, an encoder at the server's priority tripled the p95 of intake under load
(benchmarks/README.md), while a niced one yields to requests and rounds and still uses idle cores.

``huiqi worker`` polls the job queue; ``--once`` handles at most one job and exits (for cron-style use
and tests). While a round runs, a thread refreshes the job's heartbeat; before every claim the worker
requeues jobs of workers that died (stale heartbeat).
"""

import os
import socket
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, make_session_factory
from api.encoding.service import BATCH, encode_pending
from api.matching import jobs
from api.matching.index import use_store
from api.matching.models import RoundStatus
from api.matching.pipeline import run_round
from api.settings import get_settings

HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 30.0
# Niceness added to the encoding thread (19 is the lowest priority).
ENCODER_NICENESS = 10


def worker_name() -> str:
    """Host and process id: unique among live workers, and readable in the jobs table."""
    return f"{socket.gethostname()}:{os.getpid()}"


class _Heartbeat(threading.Thread):
    """Refreshes a job's heartbeat until stopped."""

    def __init__(self, factory: sessionmaker[Session], claim: jobs.Claim, name: str, every: float) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{claim.job_id}")
        self.factory, self.claim, self.worker, self.every = factory, claim, name, every
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            jobs.heartbeat(self.factory, self.claim.job_id, self.worker)


class _Encoding(threading.Thread):
    """Encodes pending texts batch by batch at a lower priority until stopped."""

    def __init__(self, factory: sessionmaker[Session], poll: float) -> None:
        super().__init__(daemon=True, name="encoding")
        self.factory, self.poll = factory, poll
        self.stopped = threading.Event()

    def run(self) -> None:
        _lower_priority()
        while not self.stopped.is_set():
            try:
                encoded = encode_pending(self.factory, limit=BATCH)
            except Exception as error:  # a failed batch is retried after a pause, never ends the worker
                typer.echo(f"encoding failed, retrying: {error}", err=True)
                encoded = 0
            if encoded:
                typer.echo(f"encoded {encoded} texts")
            else:
                self.stopped.wait(self.poll)


def _lower_priority() -> None:
    """Lower this thread's CPU priority (Linux: per thread; elsewhere the call fails harmlessly)."""
    try:
        current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, current + ENCODER_NICENESS))
    except (AttributeError, OSError):
        pass


def work_once(
    factory: sessionmaker[Session],
    name: str,
    *,
    stale_after: float = STALE_SECONDS,
    every: float = HEARTBEAT_SECONDS,
) -> RoundStatus | None:
    """Reap dead workers' jobs, claim one job and run it; None when the queue was empty."""
    jobs.reap_stale(factory, stale_after)
    claim = jobs.claim(factory, name)
    if claim is None:
        return None
    beat = _Heartbeat(factory, claim, name, every)
    beat.start()
    try:
        return run_round(factory, claim.round_id)
    finally:
        beat.stopped.set()
        beat.join()


def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Handle at most one job, then exit.")] = False,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, max=3600, help="Seconds between polls of an empty queue.")
    ] = 2.0,
    stale_after: Annotated[
        float,
        typer.Option(
            "--stale-after", min=1.0, max=86400, help="Seconds without heartbeat before a job is retaken."
        ),
    ] = STALE_SECONDS,
    heartbeat: Annotated[
        float, typer.Option("--heartbeat", min=0.05, max=3600, help="Seconds between heartbeats.")
    ] = (HEARTBEAT_SECONDS),
) -> None:
    """Run matching rounds queued through the API (a process separate from the API server)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    use_store(Path(settings.data_dir) / "index")
    factory, name = make_session_factory(engine), worker_name()
    typer.echo(f"worker {name} polling every {poll}s")
    # What intake and provider writes stored is encoded alongside (never in a request); --once handles
    # one job only (``huiqi encode`` encodes on demand).
    encoding = None if once else _Encoding(factory, poll)
    if encoding is not None:
        encoding.start()
    try:
        while True:
            outcome = work_once(factory, name, stale_after=stale_after, every=heartbeat)
            if outcome is not None:
                typer.echo(f"round finished: {outcome.value}")
            if once:
                return
            if outcome is None:
                time.sleep(poll)
    finally:
        if encoding is not None:
            encoding.stopped.set()
            encoding.join(timeout=5)
        engine.dispose()
