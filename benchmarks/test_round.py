"""A matching round over 5,000 demands x 2,000 societies on PostgreSQL, end to end, with time per stage,
and the provisional match list of one demand against the 2,000 societies through the API.

Texts are real technology-market texts (``../shared/data/zj-tech-market``): demands from ``demands.tsv``
(titles and descriptions; demands past the 1,500 rows of the file join the description of one demand
with a sentence of another), societies from ``achievements.tsv`` (each society's remit is the title
and description of one or two research achievements). Societies are tokenized as the providers service
does on every write; demands are inserted WITHOUT tokens, so the first round tokenizes them
(tokenize -> pairings saved), and a second round runs from the tokens the first one stored (the
intake-time tokenization the service is built for). Both rounds start from a cold provider index.

    HUIQI_TEST_POSTGRES_URL=... .venv/bin/pytest benchmarks/test_round.py -s

``extra_info`` holds the seconds of each stage and the counts; the latency test holds p50/p95/max (ms).
"""

import csv
import os
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

import api.models  # noqa: F401  (every table on the metadata)
from api.auth.service import create_staff
from api.db import Demand, DemandStatus, StaffRole, make_engine, make_session_factory
from api.db.migrate import upgrade
from api.main import create_app
from api.matching import service
from api.matching.index import clear_cache
from api.matching.models import MatchRound, RoundStatus
from api.matching.pipeline import run_round
from api.matching.schemas import RoundScope
from api.providers.models import Society, SocietyLevel
from api.settings import Settings
from matcher.texts import tokenizer
from tests.conftest import fresh_database

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "zj-tech-market"
N_DEMANDS, N_PROVIDERS = 5_000, 2_000
LATENCY_REQUESTS = 200
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is absent: the benchmark needs its texts")


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _demand_texts() -> list[tuple[str, str]]:
    rows = _rows("demands.tsv")
    texts = []
    for i in range(N_DEMANDS):
        row, other = rows[i % len(rows)], rows[(i * 7 + 3) % len(rows)]
        extra = "" if i < len(rows) else other["description"].split("。")[0]
        texts.append((row["title"][:100], row["description"] + extra))
    return texts


def _society_texts() -> list[tuple[str, str]]:
    rows = _rows("achievements.tsv")
    rng = random.Random(7)
    texts = []
    for i in range(N_PROVIDERS):
        picked = [rows[i % len(rows)]] + ([rng.choice(rows)] if i % 2 else [])
        texts.append(
            (f"技术市场服务学会{i:04d}", "。".join(f"{r['title']}：{r['description']}" for r in picked))
        )
    return texts


def _load(factory: sessionmaker[Session]) -> None:
    societies = _society_texts()
    tokens = tokenizer().tokenize_many([scope for _, scope in societies], n_jobs=2)
    society_rows = [
        {
            "name": name,
            "level": SocietyLevel.PROVINCIAL,
            "scope": scope,
            "default_capacity": 3,
            "active": True,
            "discipline_codes": [],
            "nsfc_codes": [],
            "industry_codes": [],
            "tokens": [terms],
        }
        for (name, scope), terms in zip(societies, tokens, strict=True)
    ]
    demand_rows = [
        {
            "org_name": f"企业{i:05d}",
            "contact_name": "联系人",
            "title": title,
            "description": description,
            "keywords": [],
            "receipt_salt": "0" * 32,
            "status": DemandStatus.PUBLISHED,
            "region_suggested": False,
        }
        for i, (title, description) in enumerate(_demand_texts())
    ]
    with factory.begin() as session:
        session.execute(insert(Society), society_rows)
        session.execute(insert(Demand), demand_rows)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A PostgreSQL database holding 2,000 societies and 5,000 published demands."""
    if not os.environ.get("HUIQI_TEST_POSTGRES_URL"):
        pytest.skip("HUIQI_TEST_POSTGRES_URL is not set: the round benchmark runs on PostgreSQL")
    with fresh_database("postgres", Path("var")) as url:
        upgrade(url)
        engine = make_engine(url)
        _load(make_session_factory(engine))
        engine.dispose()
        yield url


def _round(factory: sessionmaker[Session]) -> MatchRound:
    clear_cache()  # a cold provider index: the round fits the vectorizer itself
    with factory.begin() as session:
        round_id = service.create_round(session, scope=RoundScope(), staff=None).id
    assert run_round(factory, round_id) == RoundStatus.SUCCEEDED
    with factory() as session:
        finished = session.get(MatchRound, round_id)
        assert finished is not None
        return finished


def _report(benchmark: Any, title: str, finished: MatchRound) -> None:
    benchmark.extra_info.update({f"{stage}_s": value for stage, value in finished.timings.items()})
    benchmark.extra_info["counts"] = finished.counts
    stages = "  ".join(f"{stage} {value:.2f}s" for stage, value in finished.timings.items())
    print(f"\n{title}: {stages}\n  counts {finished.counts}")


def test_round_5000_by_2000_tokenizing_demands(benchmark: Any, database: str) -> None:
    engine = make_engine(database)
    factory = make_session_factory(engine)
    finished = benchmark.pedantic(lambda: _round(factory), rounds=1, iterations=1)
    _report(benchmark, "round, demands tokenized in the round", finished)
    assert finished.counts["demands"] == N_DEMANDS
    assert finished.counts["tokenized_now"] == N_DEMANDS
    assert finished.counts["new_pairs"] >= 0.9 * N_DEMANDS
    assert finished.timings["total"] <= 20.0
    engine.dispose()


def test_round_5000_by_2000_from_intake_tokens(benchmark: Any, database: str) -> None:
    engine = make_engine(database)
    factory = make_session_factory(engine)
    finished = benchmark.pedantic(lambda: _round(factory), rounds=1, iterations=1)
    _report(benchmark, "round, demands tokenized at intake", finished)
    assert finished.counts["tokenized_now"] == 0
    assert finished.timings["total"] <= 20.0
    engine.dispose()


def test_match_list_of_one_demand_against_2000_societies(
    benchmark: Any, database: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database, data_dir=str(tmp_path), secret_key="benchmark")
    app = create_app(settings)
    with app.state.session_factory.begin() as session:
        token = create_staff(session, name="基准测试", role=StaffRole.REVIEWER)[1]
        demand_ids = list(session.scalars(select(Demand.id)))
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(11)
    with TestClient(app) as client:
        assert (
            client.get(f"/api/v1/demands/{demand_ids[0]}/matches", headers=headers).status_code == 200
        )  # warm
        latencies = []
        for demand_id in rng.sample(demand_ids, LATENCY_REQUESTS):
            started = time.perf_counter()
            response = client.get(f"/api/v1/demands/{demand_id}/matches?limit=10", headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            assert len(response.json()["items"]) == 10
        benchmark.pedantic(
            lambda: client.get(f"/api/v1/demands/{demand_ids[1]}/matches", headers=headers), rounds=20
        )
    p95 = statistics.quantiles(latencies, n=20)[-1]
    benchmark.extra_info.update(p50_ms=statistics.median(latencies), p95_ms=p95, max_ms=max(latencies))
    print(f"\nmatch list over 2,000 societies: p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms")
    assert p95 <= 100.0
    app.state.engine.dispose()
