"""A matching round over 5,000 demands x 2,000 societies, end to end on SQLite and PostgreSQL, with time
per stage and the plain script peer in the same run; the match list of one demand, warm and after a
restart.

Texts are real technology-market texts (``../shared/data/zj-tech-market``): demands from ``demands.tsv``
(titles and descriptions; demands past the 1,500 rows of the file join the description of one demand
with a sentence of another), societies from ``achievements.tsv`` (each society's remit is the title
and description of one or two research achievements). Societies are tokenized as the providers service
does on every write, demands as intake does (their terms stored), so a round reads stored terms.

The peer is the plain script a data engineer would write for the same work after tokenizing (the same
stored terms): scikit-learn TF-IDF over the societies, the exact top 50 societies per demand, OR-Tools'
min-cost flow (capacity 3, one society per demand). It reads no database and writes nothing, so the
ratio is conservative. Ours is the whole round through ``run_round``: load terms, the provider index read
back from disk as a new worker process reads it (it is fitted once per change of the providers; that
fit is timed too, ``index_fit_s``), vectors, candidates, solve with certified widening, reasons,
diagnosis, save.

    HUIQI_TEST_POSTGRES_URL=... .venv/bin/pytest benchmarks/test_round.py -s

``extra_info``: ``ours_s``, ``peer_s``, ``peer_name``, ``ratio`` (ours / peer, best of the runs),
``spread`` ((slowest - fastest) / fastest of our runs), ``load_average`` (1 min), the seconds of each
stage and the counts; ``ours_cpu_s``, ``peer_cpu_s`` and ``cpu_ratio``: this process's CPU seconds
(all its threads; not the PostgreSQL server's) of the least-CPU round and peer run. On a machine
shared by many processes a round's wall time is mostly time spent waiting for a core (at load 9 on
2 cores, 2-3 times its CPU time), so the CPU figures are the ones that compare across runs.

The match-list tests run a real server (uvicorn in a process of its own, as ``huiqi serve``) and read
lists over HTTP with a bearer token, each of a demand never listed before (its terms stored at intake,
its vectors in the index's spaces computed by the request; with the dense part, its sentence vector
stored once by the worker and read back). ``extra_info``: ``p50_ms``, ``p95_ms``, ``max_ms`` of
200 warm lists; ``first_after_restart_ms`` (median of 3 restarts; ``first_after_restart_all_ms``) and
``ready_after_restart_s`` (process start until ``/healthz`` answers, the stored index read at start);
``cold_index_ms`` (the first list of a server without a stored index: it fits and stores it); the
release report's ``ours_s`` (p95), ``peer_s`` (p95 of ``GET /healthz`` after each list), ``ratio``,
``spread`` (p95 of the odd lists against the even ones) and ``load_average``.
"""

import csv
import os
import random
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer as PlainTfidf
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

import api.models  # noqa: F401  (every table on the metadata)
from api.auth.service import create_staff
from api.db import Demand, DemandStatus, StaffRole, make_engine, make_session_factory
from api.db.migrate import upgrade
from api.encoding.models import OwnerKind, TextVector
from api.encoding.service import encoder
from api.matching import service
from api.matching.index import clear_cache, provider_index, use_store
from api.matching.models import MatchRound, RoundStatus
from api.matching.pipeline import run_round
from api.matching.schemas import RoundScope
from api.providers.models import Society, SocietyLevel
from matcher.texts import tokenize_demands, tokenizer
from tests.conftest import fresh_database
from tests.web.live import live_service

ortools_flow = pytest.importorskip("ortools.graph.python.min_cost_flow")

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "zj-tech-market"
N_DEMANDS, N_PROVIDERS, CAPACITY = 5_000, 2_000, 3
LATENCY_REQUESTS = 200
RESTARTS = 3
DENSE_CHUNKS = 6
RUNS = 3
PEER_NAME = "plain script: sklearn TF-IDF + exact top-50 + OR-Tools min-cost flow (after tokenizing)"
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
            "default_capacity": CAPACITY,
            "active": True,
            "discipline_codes": [],
            "nsfc_codes": [],
            "industry_codes": [],
            "tokens": [terms],
        }
        for (name, scope), terms in zip(societies, tokens, strict=True)
    ]
    texts = _demand_texts()
    terms = tokenize_demands([{"title": t, "description": d} for t, d in texts], n_jobs=2)
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
            "tokens": stored,
        }
        for i, ((title, description), stored) in enumerate(zip(texts, terms, strict=True))
    ]
    with factory.begin() as session:
        session.execute(insert(Society), society_rows)
        session.execute(insert(Demand), demand_rows)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database holding 2,000 societies and 5,000 published demands tokenized at intake."""
    Path("var").mkdir(exist_ok=True)
    with fresh_database(request.param, Path("var")) as url:
        upgrade(url)
        engine = make_engine(url)
        _load(make_session_factory(engine))
        engine.dispose()
        yield url


def _stored_terms(url: str) -> tuple[list[list[str]], list[list[str]]]:
    """The peer's input: the same stored terms the round reads (society remits, demand fields)."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        societies = [t[0] for t in session.scalars(select(Society.tokens).order_by(Society.id))]
        demands = [
            [term for field in ("title", "title", "description") for term in (tokens or {}).get(field, [])]
            for tokens in session.scalars(select(Demand.tokens).order_by(Demand.id))
        ]
    engine.dispose()
    return societies, demands


def plain_script(societies: list[list[str]], demands: list[list[str]]) -> dict[str, float]:
    """The peer: TF-IDF, exact top 50 per demand, OR-Tools min-cost flow; seconds per step."""
    times = {}
    start = time.perf_counter()
    vectorizer = PlainTfidf(analyzer=lambda terms: terms, sublinear_tf=True, dtype=np.float32)
    providers = vectorizer.fit_transform(societies)
    queries = vectorizer.transform(demands)
    times["tfidf"] = time.perf_counter() - start
    start = time.perf_counter()
    dense = (queries @ providers.T).toarray()
    cols = np.argpartition(-dense, 49, axis=1)[:, :50]
    values = np.take_along_axis(dense, cols, axis=1)
    keep = values > 0
    rows = np.repeat(np.arange(dense.shape[0]), 50)[keep.ravel()]
    affinity = sp.coo_matrix((values[keep], (rows, cols[keep])), shape=dense.shape)
    times["candidates"] = time.perf_counter() - start
    start = time.perf_counter()
    n, m = affinity.shape
    source, sink = n + m, n + m + 1
    flow = ortools_flow.SimpleMinCostFlow()
    tails = np.concatenate([np.full(n, source), affinity.row, n + np.arange(m), [source]])
    heads = np.concatenate([np.arange(n), n + affinity.col, np.full(m, sink), [sink]])
    caps = np.concatenate([np.ones(n), np.ones(affinity.nnz), np.full(m, CAPACITY), [n]]).astype(np.int64)
    costs = np.concatenate([np.zeros(n), -np.round(affinity.data * 1e6), np.zeros(m + 1)]).astype(np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_nodes_supplies(np.array([source, sink]), np.array([n, -n]))
    assert flow.solve() == flow.OPTIMAL
    times["solve"] = time.perf_counter() - start
    times["total"] = sum(times.values())
    return times


def _cpu_seconds() -> float:
    """CPU seconds of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(work: Callable[[], Any], spent: list[float]) -> Any:
    """Run ``work``, appending its CPU seconds to ``spent``."""
    started = _cpu_seconds()
    done = work()
    spent.append(_cpu_seconds() - started)
    return done


def _round(factory: sessionmaker[Session]) -> MatchRound:
    clear_cache()  # as in a new worker process: the round reads the provider index back from disk
    with factory.begin() as session:
        round_id = service.create_round(session, scope=RoundScope(), staff=None).id
    assert run_round(factory, round_id) == RoundStatus.SUCCEEDED
    with factory() as session:
        finished = session.get(MatchRound, round_id)
        assert finished is not None
        return finished


def test_round_5000_by_2000_against_the_plain_script(benchmark: Any, database: str, tmp_path: Path) -> None:
    engine = make_engine(database)
    factory = make_session_factory(engine)
    societies, demands = _stored_terms(database)
    use_store(tmp_path / "index")
    clear_cache()
    started = time.perf_counter()
    with factory() as session:  # the index is fitted once per change of the providers, then kept on disk
        provider_index(session, "society", n_jobs=2)
    cold_fit_s = time.perf_counter() - started
    ours: list[MatchRound] = []
    peers: list[dict[str, float]] = []
    ours_cpu: list[float] = []
    peer_cpu: list[float] = []
    # The peer runs before each of our rounds (untimed by pytest-benchmark), so both see the same load.
    benchmark.pedantic(
        lambda: ours.append(_cpu_of(lambda: _round(factory), ours_cpu)),
        setup=lambda: peers.append(_cpu_of(lambda: plain_script(societies, demands), peer_cpu)),
        rounds=RUNS,
        iterations=1,
    )
    best = min(ours, key=lambda r: r.timings["total"])
    peer = min(peers, key=lambda p: p["total"])
    totals = [r.timings["total"] for r in ours]
    ours_s, peer_s = min(totals), peer["total"]
    benchmark.extra_info.update(
        backend=make_engine(database).dialect.name,
        ours_s=round(ours_s, 4),
        peer_s=round(peer_s, 4),
        peer_name=PEER_NAME,
        ratio=round(ours_s / peer_s, 3),
        spread=round((max(totals) - ours_s) / ours_s, 3),
        load_average=round(os.getloadavg()[0], 2),
        stages=dict(best.timings),
        peer_stages={step: round(value, 4) for step, value in peer.items()},
        counts=best.counts,
        index_fit_s=round(cold_fit_s, 4),
        ours_cpu_s=round(min(ours_cpu), 4),
        peer_cpu_s=round(min(peer_cpu), 4),
        cpu_ratio=round(min(ours_cpu) / min(peer_cpu), 3),
    )
    use_store(None)
    stages = "  ".join(f"{stage} {value:.3f}s" for stage, value in best.timings.items())
    steps = "  ".join(f"{step} {value:.3f}s" for step, value in peer.items())
    print(
        f"\n{benchmark.extra_info['backend']}: ours {stages}\n  peer {steps}\n"
        f"  ratio {ours_s / peer_s:.2f}, runs {[round(t, 3) for t in totals]}, index fit {cold_fit_s:.2f}s, "
        f"load {os.getloadavg()[0]:.2f}\n  cpu: ours {[round(t, 3) for t in ours_cpu]}, "
        f"peer {[round(t, 3) for t in peer_cpu]}\n  counts {best.counts}"
    )
    assert best.counts["demands"] == N_DEMANDS
    assert best.counts["tokenized_now"] == 0
    assert best.counts["new_pairs"] >= 0.9 * N_DEMANDS
    assert best.counts["certified"]
    engine.dispose()


# ---------------------------------------------------------------------------------------------
# Match list of one new demand, through a real server
# ---------------------------------------------------------------------------------------------


def _staff_token(url: str) -> tuple[str, list[int]]:
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        token = create_staff(session, name="基准测试", role=StaffRole.REVIEWER)[1]
        demand_ids = list(session.scalars(select(Demand.id).order_by(Demand.id)))
    engine.dispose()
    return token, demand_ids


def _restart(url: str, workdir: Path) -> tuple[ExitStack, str, float]:
    """A new server process (uvicorn, as ``huiqi serve`` runs it); its URL and the seconds from its
    start until it answered ``/healthz`` (its start reads the stored provider index)."""
    stack = ExitStack()
    started = time.perf_counter()
    service = stack.enter_context(live_service(url, workdir, worker=False))
    return stack, service.base_url, time.perf_counter() - started


def _list_ms(client: httpx.Client, demand_id: int, headers: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.get(f"/api/v1/demands/{demand_id}/matches?limit=10", headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return elapsed, response.json()


def _latencies(url: str, workdir: Path, token: str, fresh: Iterator[int]) -> dict[str, Any]:
    """Restart the server RESTARTS times; after each, the first list of a demand never listed before,
    then LATENCY_REQUESTS lists of demands never listed before, each followed by ``GET /healthz`` (the
    peer: the same server's cheapest route, same client, same moment)."""
    headers = {"Authorization": f"Bearer {token}"}
    firsts, readies, warm, peer, lists = [], [], [], [], []
    for restart in range(RESTARTS):
        stack, base, ready_s = _restart(url, workdir)
        with stack, httpx.Client(base_url=base, timeout=60) as client:
            readies.append(ready_s)
            first, _ = _list_ms(client, next(fresh), headers)
            firsts.append(first)
            if restart < RESTARTS - 1:
                continue
            for _ in range(LATENCY_REQUESTS):
                elapsed, body = _list_ms(client, next(fresh), headers)
                warm.append(elapsed)
                lists.append(body)
                started = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                peer.append((time.perf_counter() - started) * 1000)
    return {"first": firsts, "ready": readies, "warm": warm, "peer": peer, "lists": lists}


def _report(benchmark: Any, found: dict[str, Any], load: float, what: str) -> dict[str, Any]:
    warm, peer = found["warm"], found["peer"]
    p95, peer_p95 = float(np.percentile(warm, 95)), float(np.percentile(peer, 95))
    halves = [float(np.percentile(half, 95)) for half in (warm[::2], warm[1::2])]
    info = {
        "p50_ms": round(statistics.median(warm), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(max(warm), 2),
        "first_after_restart_ms": round(statistics.median(found["first"]), 1),
        "first_after_restart_all_ms": [round(t, 1) for t in found["first"]],
        "ready_after_restart_s": round(statistics.median(found["ready"]), 2),
        "requests": len(warm),
        "restarts": len(found["first"]),
        "demand": "new: never listed before; terms stored at intake, vectors computed in the request" + what,
        "ours_s": round(p95 / 1000, 5),
        "peer_s": round(peer_p95 / 1000, 5),
        "peer_name": "GET /healthz p95, same server and client, after each list",
        "ratio": round(p95 / peer_p95, 2),
        "spread": round(abs(halves[0] - halves[1]) / p95, 3),
        "peer_p50_ms": round(statistics.median(peer), 2),
        "load_average": round((load + os.getloadavg()[0]) / 2, 2),
    }
    benchmark.extra_info.update(info)
    return info


def test_match_list_of_one_new_demand_against_2000_societies(
    benchmark: Any, database: str, tmp_path: Path
) -> None:
    token, demand_ids = _staff_token(database)
    fresh = iter(random.Random(11).sample(demand_ids, RESTARTS + LATENCY_REQUESTS + 1))
    # The index is fitted once per change of the providers and stored: a first server does it.
    stack, base, _ = _restart(database, tmp_path)
    with stack, httpx.Client(base_url=base, timeout=600) as client:
        cold_index_ms, _ = _list_ms(client, next(fresh), {"Authorization": f"Bearer {token}"})
    load = os.getloadavg()[0]
    found = _latencies(database, tmp_path, token, fresh)
    assert all(len(body["items"]) == 10 for body in found["lists"])
    assert all(body["notice"] for body in found["lists"])  # sparse only: no vectors stored
    benchmark.pedantic(lambda: None, rounds=1)
    info = _report(benchmark, found, load, "")
    benchmark.extra_info["cold_index_ms"] = round(cold_index_ms, 1)
    print(f"\nmatch list over 2,000 societies, sparse: {info}")
    assert info["p95_ms"] <= 100.0


def _store_random_vectors(url: str) -> int:
    """Unit vectors of the encoder's model and dimension for every society (6 chunks, sentences of
    its remit) and every demand, as the worker stores them; the time of the dense part depends on
    their number, not their values (encoding 12,000 chunks here would take an hour)."""
    identity = encoder().identity
    rng = np.random.default_rng(7)
    engine = make_engine(url)
    rows: list[dict[str, Any]] = []
    with make_session_factory(engine)() as session:
        societies = list(session.execute(select(Society.id, Society.scope)))
        demands = list(session.scalars(select(Demand.id)))
    owners = [(OwnerKind.SOCIETY, sid, (scope or "学会").split("。")) for sid, scope in societies]
    owners += [(OwnerKind.DEMAND, did, [""]) for did in demands]
    for kind, owner_id, sentences in owners:
        count = DENSE_CHUNKS if kind == OwnerKind.SOCIETY else 1
        vectors = rng.normal(size=(count, identity.dim)).astype("<f4")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows += [
            {
                "owner_kind": kind,
                "owner_id": owner_id,
                "position": position,
                "document": 0,
                "text": sentences[position % len(sentences)][:200] or "需求",
                "model": identity.name,
                "checksum": identity.checksum,
                "dim": identity.dim,
                "source_hash": "0" * 64,
                "vector": vector.tobytes(),
            }
            for position, vector in enumerate(vectors)
        ]
    with make_session_factory(engine).begin() as session:
        for start in range(0, len(rows), 5_000):
            session.execute(insert(TextVector), rows[start : start + 5_000])
    engine.dispose()
    return len(rows)


def test_match_list_of_one_new_demand_with_the_dense_part(
    benchmark: Any, database: str, tmp_path: Path
) -> None:
    if not encoder().available:
        pytest.skip("the sentence encoder is not available here")
    token, demand_ids = _staff_token(database)
    stored = _store_random_vectors(database)
    fresh = iter(random.Random(13).sample(demand_ids, RESTARTS + LATENCY_REQUESTS + 1))
    stack, base, _ = _restart(database, tmp_path)
    with stack, httpx.Client(base_url=base, timeout=600) as client:
        cold_index_ms, _ = _list_ms(client, next(fresh), {"Authorization": f"Bearer {token}"})
    load = os.getloadavg()[0]
    found = _latencies(database, tmp_path, token, fresh)
    assert all(len(body["items"]) == 10 for body in found["lists"])
    assert not any(body["notice"] for body in found["lists"])  # the dense part ranked every list
    assert all(item["closest_sentence"] for body in found["lists"] for item in body["items"])
    benchmark.pedantic(lambda: None, rounds=1)
    info = _report(benchmark, found, load, "; its sentence vector stored once by the worker, read back")
    benchmark.extra_info.update(cold_index_ms=round(cold_index_ms, 1), vectors_stored=stored)
    print(f"\nmatch list over 2,000 societies with the dense part: {info}")
    assert info["p95_ms"] <= 200.0
