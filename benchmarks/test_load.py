"""Load: 50 concurrent clients submit demands and read match lists for 60 s on PostgreSQL while a
matching round runs.

A real server (one uvicorn process) and a matching worker on a database with the demo data. Each
client alternates: submit a demand (a unique Idempotency-Key, retried once with the same key when
the answer was lost) and read the ranked match list of a demand. Staff start a round at the
beginning. Afterwards: every submission answered 201 exists exactly once, no answer other than
2xx and documented 429s, p50/p95/p99 latency per kind in ``extra_info``.

    HUIQI_TEST_POSTGRES_URL=$(bash .ci/postgres) .venv/bin/pytest benchmarks/test_load.py -s
"""

import os
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.auth.service import create_staff
from api.db import Demand, StaffRole, make_engine, make_session_factory
from tests.api.factories import demand_payload
from tests.conftest import fresh_database
from tests.web.live import live_service, prepare_database

CLIENTS = 50
SECONDS = float(os.environ.get("HUIQI_LOAD_SECONDS", "60"))


def _client_loop(
    base: str, token: str, number: int, stop: threading.Event
) -> list[tuple[str, int, float, str]]:
    seen: list[tuple[str, int, float, str]] = []
    staff = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            key = f"load-{number}-{uuid.uuid4().hex}"
            started = time.perf_counter()
            answer = client.post(
                "/api/v1/demands",
                json=demand_payload(title=f"负载需求{key[-8:]}"),
                headers={"Idempotency-Key": key},
            )
            seen.append(("submit", answer.status_code, time.perf_counter() - started, key))
            started = time.perf_counter()
            matches = client.get(
                f"/api/v1/demands/{1 + number % 300}/matches", params={"limit": 10}, headers=staff
            )
            seen.append(("matches", matches.status_code, time.perf_counter() - started, ""))
    return seen


def _percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100)
    return {"p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000, "p99_ms": cuts[98] * 1000}


@pytest.mark.benchmark(group="load")
def test_fifty_clients_for_a_minute_while_a_round_runs(
    benchmark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not os.environ.get("HUIQI_TEST_POSTGRES_URL"):
        pytest.skip("HUIQI_TEST_POSTGRES_URL is not set (`bash .ci/postgres` prints a URL)")
    # All 50 clients share the loopback address: a per-address limit sized for them, still enforced.
    monkeypatch.setenv("HUIQI_RATE_LIMIT_SUBMIT_PER_MINUTE", "3000")
    monkeypatch.setenv("HUIQI_RATE_LIMIT_SUBMIT_BURST", "100")
    with fresh_database("postgres", tmp_path) as url:
        prepare_database(url, tmp_path)  # migrated, with the demo data (209 societies, 300+ demands)
        _run(url, tmp_path, benchmark)


def _run(url: str, tmp_path: Path, benchmark: Any) -> None:
    with live_service(url, tmp_path) as service:
        engine = make_engine(url)
        with make_session_factory(engine).begin() as session:
            token = create_staff(session, name="负载测试", role=StaffRole.ADMIN)[1]
        with make_session_factory(engine)() as session:
            before = session.scalar(select(func.count()).select_from(Demand)) or 0
        stop = threading.Event()
        round_answer = httpx.post(
            f"{service.base_url}/api/v1/rounds", json={}, headers={"Authorization": f"Bearer {token}"}
        )
        assert round_answer.status_code == 202, round_answer.text
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(_client_loop, service.base_url, token, n, stop) for n in range(CLIENTS)]
            time.sleep(SECONDS)
            stop.set()
            seen = [item for future in futures for item in future.result()]
        with make_session_factory(engine)() as session:
            keys = [key for kind, status, _, key in seen if kind == "submit" and status == 201]
            stored = Counter(
                session.scalars(select(Demand.idempotency_key).where(Demand.idempotency_key.like("load-%")))
            )
            total = session.scalar(select(func.count()).select_from(Demand)) or 0
        engine.dispose()
    statuses = Counter((kind, status) for kind, status, _, _ in seen)
    errors = {pair: count for pair, count in statuses.items() if not (200 <= pair[1] < 300 or pair[1] == 429)}
    lost = [key for key in keys if stored[key] == 0]
    duplicated = [key for key, count in stored.items() if count > 1]
    info = {
        "requests": len(seen),
        "seconds": SECONDS,
        "statuses": {f"{kind} {status}": count for (kind, status), count in statuses.items()},
        "submitted": len(keys),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "rows_added": total - before,
    }
    for kind in ("submit", "matches"):
        info[kind] = _percentiles([seconds for k, status, seconds, _ in seen if k == kind and status < 300])
    benchmark.extra_info.update(info)
    benchmark.pedantic(lambda: None, rounds=1)
    print(info)
    assert errors == {}
    assert lost == []
    assert duplicated == []
    assert total - before == len(keys)
