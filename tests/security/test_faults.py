"""Faults: the API killed mid-import, PostgreSQL restarted while requests flow.

The worker killed mid-round is tested in ``tests/api/test_worker.py`` (SIGKILL inside the save
transaction: no pairing written, the round failed or retried, a second worker finishes it).
"""

import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.auth.service import create_staff
from api.db import Demand, StaffRole, make_engine
from tests.api.demand_files import FORM_HEADERS, csv_bytes, form_row
from tests.security.live import free_port, running_server, start_server

pytestmark = pytest.mark.db

ROWS = 8_000


def _token(db: sessionmaker[Session]) -> dict[str, str]:
    with db.begin() as session:
        return {"Authorization": f"Bearer {create_staff(session, name='导入员', role=StaffRole.ADMIN)[1]}"}


def _count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Demand)) or 0


def _upload(base: str, headers: dict[str, str], content: bytes, outcome: dict[str, object]) -> None:
    try:
        files = {"files": ("campaign.csv", content, "text/csv")}
        answer = httpx.post(
            f"{base}/api/v1/demands/import",
            files=files,
            data={"mode": "strict"},
            headers=headers,
            timeout=300,
        )
        outcome["status"] = answer.status_code
        outcome["body"] = answer.json()
    except httpx.HTTPError as error:
        outcome["error"] = repr(error)


def test_the_api_killed_mid_import_writes_nothing_and_the_import_can_be_retried(
    db: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    headers = _token(db)
    content = csv_bytes(FORM_HEADERS, [form_row(index) for index in range(ROWS)], encoding="utf-8")
    port = free_port()
    server = start_server(database_url, tmp_path, port)
    outcome: dict[str, object] = {}
    upload = threading.Thread(target=_upload, args=(f"http://127.0.0.1:{port}", headers, content, outcome))
    upload.start()
    time.sleep(1.0)  # the file is uploaded and being imported
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    upload.join(timeout=30)
    assert "error" in outcome, f"the import finished before the kill: {outcome.get('status')}"
    assert _count(db) == 0  # one transaction: nothing half-written
    with running_server(database_url, tmp_path) as base:
        retried: dict[str, object] = {}
        _upload(base, headers, content, retried)
        again: dict[str, object] = {}
        _upload(base, headers, content, again)
    assert retried["status"] == 200, retried
    assert _count(db) == ROWS
    assert again["status"] == 200, again  # the same file again: recognised, nothing added
    assert _count(db) == ROWS


def _cluster() -> tuple[str, str] | None:
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None or shutil.which("pg_lsclusters") is None:
        return None
    listing = subprocess.run(
        ["pg_lsclusters", "-h"], capture_output=True, text=True, check=False
    ).stdout.split()
    return (listing[0], listing[1]) if len(listing) >= 2 else None


def _hammer(base: str, headers: dict[str, str], stop: threading.Event) -> list[tuple[float, int | str]]:
    seen: list[tuple[float, int | str]] = []
    with httpx.Client(base_url=base, timeout=15) as client:
        while not stop.is_set():
            try:
                answer = client.get("/api/v1/demands", headers=headers)
                body = answer.json()
                shaped = set(body) >= {"detail", "code", "errors"} if answer.status_code >= 400 else True
                seen.append(
                    (time.monotonic(), answer.status_code if shaped else f"{answer.status_code} unshaped")
                )
            except (httpx.HTTPError, ValueError) as error:
                seen.append((time.monotonic(), type(error).__name__))
            time.sleep(0.02)
    return seen


def test_postgresql_restarted_under_load_fails_cleanly_and_recovers(
    db: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    cluster = _cluster()
    if not database_url.startswith("postgresql") or cluster is None:
        pytest.skip("needs PostgreSQL from HUIQI_TEST_POSTGRES_URL, root and pg_ctlcluster")
    headers = _token(db)
    stop = threading.Event()
    with running_server(database_url, tmp_path) as base, ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(_hammer, base, headers, stop) for _ in range(4)]
        time.sleep(1.5)
        restart_started = time.monotonic()
        subprocess.run(["pg_ctlcluster", *cluster, "restart"], check=True, timeout=120)
        restart_done = time.monotonic()
        time.sleep(4.0)
        stop.set()
        seen = [item for future in futures for item in future.result()]
    outcomes = Counter(status for _, status in seen)
    assert set(outcomes) <= {200, 503}, outcomes  # never a 500, a hang or an unshaped error
    assert outcomes[200] > 0
    after = [status for moment, status in seen if moment > restart_done + 2.0]
    assert after
    assert set(after) == {200}, after  # recovered
    assert restart_done - restart_started < 60
    make_engine(database_url).dispose()
