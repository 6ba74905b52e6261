"""Server-side render time of the staff pages with the demo data: p95 over 50 loads per page.

The demo data (209 societies, 315 branches, 442 experts, 333 demands) is loaded into a fresh SQLite
database (and PostgreSQL when ``HUIQI_TEST_POSTGRES_URL`` is set); one matching round over the
submitted demands has run, so the round and pairing pages have content. Each page is requested 50
times in process through the ASGI app by a signed-in client (no network, no browser): the time is
the server's routing, queries and template rendering.

    .venv/bin/pytest benchmarks/test_pages.py            # add -s to see the table

``extra_info`` in the pytest-benchmark JSON holds p50/p95/max (ms) and the page size per page, and
the release report's keys: ``ours_s`` (median seconds of the page), ``peer_s`` (median of ``GET /healthz``
through the same client, timed before each load of the page: the reference that takes the machine's load
and the ASGI stack out of the figure), ``ratio`` (ours / reference) and ``spread`` ((max - min) / median
of the ratio over five consecutive blocks of loads).
"""

import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.db import make_engine, make_session_factory
from api.main import create_app
from api.matching import service as matching
from api.matching.models import MatchRound
from api.matching.pipeline import run_round
from api.matching.schemas import RoundScope
from api.settings import Settings
from tests.conftest import fresh_database
from tests.web.live import ACCOUNT, PASSWORD, SECRET, prepare_database

LOADS = 50
PAGES = {
    "workbench": "/",
    "demand list": "/demands",
    "demand list, filtered": "/demands?q=技术&status=submitted&industry=C&page=2",
    "demand": "/demands/1",
    "demand, expert matches": "/demands/1?level=expert",
    "demand edit form": "/demands/1/edit",
    "import form": "/demands/import",
    "societies": "/societies",
    "society": "/societies/1",
    "experts": "/experts",
    "rounds": "/rounds",
    "round": "/rounds/{round_id}",
    "round pairings": "/rounds/{round_id}/pairings",
    "pairings of every round, searched": "/pairings?q=技术&sort=score",
    "campaigns": "/campaigns",
    "campaign dashboard": "/campaigns/demo-cxzx",
    "standing units": "/standing-units",
    "standing unit": "/standing-units/1",
    "quarterly report": "/quarterly-reports",
}
RESULTS: dict[str, dict[str, dict[str, float]]] = {}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def signed_in(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, TestClient, int]]:
    """A signed-in client of the app on the demo data after one round, and the round's id."""
    workdir: Path = tmp_path_factory.mktemp(f"pages-{request.param}")
    with fresh_database(request.param, workdir) as url:
        prepare_database(url, workdir)
        round_id = _one_round(url)
        app = create_app(Settings(database_url=url, data_dir=str(workdir), secret_key=SECRET))
        with TestClient(app) as client:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
            assert token
            client.post("/login", data={"name": ACCOUNT, "password": PASSWORD, "csrf_token": token.group(1)})
            yield request.param, client, round_id
        app.state.engine.dispose()


def _one_round(url: str) -> int:
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory.begin() as session:
            # Every open demand (the demo data publishes some and leaves others in review): all 333.
            scope = RoundScope.model_validate({"statuses": ["submitted", "in_review", "published"]})
            round_id = matching.create_round(session, scope=scope, staff=None).id
        run_round(factory, round_id)
        with factory() as session:
            assert session.scalar(select(MatchRound.status).where(MatchRound.id == round_id)) == "succeeded"
        return round_id
    finally:
        engine.dispose()


@pytest.mark.parametrize("page", list(PAGES))
def test_page_render_time(benchmark, signed_in: tuple[str, TestClient, int], page: str) -> None:  # type: ignore[no-untyped-def]
    backend, client, round_id = signed_in
    url = PAGES[page].format(round_id=round_id)
    assert client.get(url).status_code == 200  # warm: caches of the first request are not a page's cost
    timings: list[float] = []
    reference: list[float] = []

    def load() -> None:
        start = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200

    def probe() -> None:  # pytest-benchmark runs it before each load, untimed
        start = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        reference.append(time.perf_counter() - start)

    benchmark.pedantic(load, setup=probe, rounds=LOADS, iterations=1)
    ordered = sorted(timings)
    stats = {
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[int(0.95 * len(ordered)) - 1], 1),
        "max_ms": round(1000 * ordered[-1], 1),
        "kib": round(len(client.get(url).content) / 1024, 1),
    }
    benchmark.extra_info.update(stats, **_against_reference(timings, reference))
    RESULTS.setdefault(backend, {})[page] = stats


def _against_reference(timings: list[float], reference: list[float]) -> dict[str, float | str]:
    """Median page and reference times, their ratio and its spread over five blocks of loads."""
    size = len(timings) // 5
    blocks = [
        statistics.median(timings[i : i + size]) / statistics.median(reference[i : i + size])
        for i in range(0, 5 * size, size)
    ]
    ours, peer = statistics.median(timings), statistics.median(reference)
    return {
        "ours_s": round(ours, 5),
        "peer_s": round(peer, 5),
        "peer_name": "GET /healthz, same client (reference)",
        "ratio": round(ours / peer, 3),
        "spread": round((max(blocks) - min(blocks)) / statistics.median(blocks), 3),
    }


def teardown_module() -> None:
    """Print the table of p95s."""
    for backend, pages in RESULTS.items():
        print(f"\n{backend}: page render time over {LOADS} loads (ms)")
        for page, stats in pages.items():
            times = f"p50 {stats['p50_ms']:>7}  p95 {stats['p95_ms']:>7}  max {stats['max_ms']:>7}"
            print(f"  {page:<26} {times}  {stats['kib']} KiB")
