"""The service's ranking on the demo data: the cosine alone against the fused character SVM, through the
match list itself.

``huiqi demo load`` (providers and the 333 labelled demands, submitted through intake) fills a fresh
SQLite database; every demand's society match list (``api.matching.service.match_list``, all 209
societies, gated as staff see it) is compared with its ``gold_societies``. The same demands are ranked
with ``RankingConfig()`` (the service: cosine fused with the character SVM) and with the cosine alone;
the difference is paired (both rankings scored on the same resampled demands). Index builds are timed
per level, each in a fresh process so that its peak resident memory is its own; match-list latency is
measured cold (the first list builds the society index) and warm.

    .venv/bin/pytest benchmarks/test_engine_svm.py -s
"""

import functools
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import make_engine, make_session_factory
from api.db.migrate import upgrade
from api.db.models import Demand
from api.demo import DemoContext, run_demo_steps
from api.matching import index, service
from api.providers.export import provider_codes
from api.providers.models import Branch, ExpertPost
from matcher import RankingConfig, fit_index
from matcher.evaluate import gold_ranks, metrics_from_ranks, paired_difference

DEMANDS = Path(__file__).resolve().parents[1] / "fixtures" / "demands" / "demo_demands.jsonl"
SERVICE = RankingConfig()
COSINE = replace(SERVICE, classifier_weight=0.0)
LEVELS = ("society", "branch", "expert")


def _gold_by_title() -> dict[tuple[str, str], list[str]]:
    records = [json.loads(line) for line in DEMANDS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {(r["org_name"], r["title"]): r["gold_societies"] for r in records}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, str]]:
    """A session on a fresh database filled by the demo steps, and its URL."""
    url = f"sqlite:///{tmp_path_factory.mktemp('engine_svm') / 'demo.db'}"
    upgrade(url)
    db = make_engine(url)
    with make_session_factory(db).begin() as session:
        run_demo_steps(session, DemoContext(secret=b"benchmark", report=print))
    with make_session_factory(db)() as session:
        yield session, url
    db.dispose()


def _service_ranks(
    session: Session, config: RankingConfig, monkeypatch: pytest.MonkeyPatch
) -> tuple[np.ndarray[Any, Any], list[float]]:
    """Gold ranks of every labelled demand in its society match list, and each list's latency (s)."""
    index.clear_cache()
    monkeypatch.setattr(index, "fit_index", functools.partial(fit_index, config=config))
    codes = {code: row_id for row_id, code in provider_codes(session, "society").items()}
    gold_of = _gold_by_title()
    demands = list(session.scalars(select(Demand).order_by(Demand.id)))
    column = {pid: c for c, pid in enumerate(sorted(codes.values()))}
    rows, gold, seconds = [], [], []
    for demand in demands:
        start = time.perf_counter()
        listed = service.match_list(session, demand_id=demand.id, level="society", limit=len(codes))
        seconds.append(time.perf_counter() - start)
        rows.append({column[item.provider_id]: item.score for item in listed.items})
        gold.append(
            frozenset(column[codes[c]] for c in gold_of[(demand.org_name, demand.title)] if c in codes)
        )
    scores = sp.lil_matrix((len(rows), len(column)), dtype=np.float64)
    for r, row in enumerate(rows):
        for c, value in row.items():
            scores[r, c] = value
    return gold_ranks(sp.csr_matrix(scores), gold), seconds


def test_service_ranking_against_the_cosine_alone(
    demo: tuple[Session, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, _ = demo
    figures = {}
    for label, config in (("cosine alone", COSINE), ("service", SERVICE)):
        ranks, seconds = _service_ranks(session, config, monkeypatch)
        warm = sorted(seconds[1:])
        metrics = metrics_from_ranks(ranks, [0] * len(ranks))
        figures[label] = ranks
        print(
            f"\n{label:<14} n={metrics.n} acc@1={metrics.acc_at_1:.3f} hit@5={metrics.hit_at_5:.3f} "
            f"mrr={metrics.mrr:.3f}; first list (cold index) {seconds[0] * 1000:.0f} ms, warm p50 "
            f"{statistics.median(warm) * 1000:.1f} ms p95 {warm[int(0.95 * len(warm))] * 1000:.1f} ms"
        )
    index.clear_cache()
    for name, diff in paired_difference(figures["cosine alone"], figures["service"]).items():
        low, high = diff.interval.low, diff.interval.high
        print(f"service - cosine {name}: {diff.value:+.3f} [{low:+.3f}, {high:+.3f}]")
    assert len(figures["service"]) >= 300


_BUILD = """
import resource, sys, time
from sqlalchemy.orm import Session
from api.db import make_engine
from api.matching.inputs import provider_inputs
from api.providers.profiles import load_provider_profiles
from matcher import RankingConfig, fit_index
config = RankingConfig(classifier_weight=float(sys.argv[3]))
with Session(make_engine(sys.argv[1])) as session:
    profiles = load_provider_profiles(session, sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start, cpu = time.perf_counter(), time.process_time()
built = fit_index(provider_inputs(profiles), config)
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
coef = sum(getattr(c, "coef_t").nbytes for c in built.components)
print(len(profiles), round(wall, 2), round(cpu, 2), before // 1024, peak // 1024, coef // 2**20)
"""


@pytest.mark.parametrize("level", LEVELS)
def test_index_build_per_level(demo: tuple[Session, str], level: str) -> None:
    session, url = demo
    session.rollback()  # the match lists' session must not hold SQLite's write lock while others read
    for classifier in ("0.0", "0.5"):
        done = subprocess.run(
            [sys.executable, "-c", _BUILD, url, level, classifier],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        n, wall, cpu, before, peak, coef = done.stdout.split()
        print(
            f"\n{level:<8} {classifier:<14} n={n} build {wall} s wall, {cpu} CPU-s; peak RSS {peak} MB "
            f"(after loading: {before} MB); coefficients {coef} MB"
        )
        assert int(peak) < 2048
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


def _members(session: Session, level: str) -> dict[int, set[int]]:
    """Society id -> ids of its providers at ``level`` (branches; experts by their posts)."""
    if level == "branch":
        pairs = session.execute(select(Branch.society_id, Branch.id)).all()
    else:
        pairs = session.execute(select(ExpertPost.society_id, ExpertPost.expert_id)).all()
    members: dict[int, set[int]] = {}
    for society, member in pairs:
        members.setdefault(society, set()).add(member)
    return members


def _routing_ranks(
    session: Session, level: str, config: RankingConfig, monkeypatch: pytest.MonkeyPatch
) -> tuple[np.ndarray[Any, Any], float]:
    """Rank of the first provider of a gold society in each demand's ``level`` list, and chance acc@1."""
    index.clear_cache()
    monkeypatch.setattr(index, "fit_index", functools.partial(fit_index, config=config))
    society_of_code = {code: row_id for row_id, code in provider_codes(session, "society").items()}
    members, gold_of = _members(session, level), _gold_by_title()
    demands = list(session.scalars(select(Demand).order_by(Demand.id)))
    lists = service.match_lists(session, demand_ids=[d.id for d in demands], level=level, limit=100_000)
    n_providers = int(index.provider_index(session, level).ids.size)
    ranks, chance = [], []
    for demand, listed in zip(demands, lists, strict=True):
        gold = {
            m
            for c in gold_of[(demand.org_name, demand.title)]
            for m in members.get(society_of_code.get(c, -1), ())
        }
        if not gold:
            continue
        order = [item.provider_id for item in listed.items]
        ranks.append(next((r for r, pid in enumerate(order, start=1) if pid in gold), np.inf))
        chance.append(len(gold) / n_providers)
    return np.asarray(ranks), float(np.mean(chance))


@pytest.mark.parametrize("level", ["branch", "expert"])
def test_branch_and_expert_routing(
    demo: tuple[Session, str], level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Branches and experts have no labels of their own: a hit is a provider of a gold society."""
    session, _ = demo
    figures = {}
    for label, config in (
        ("cosine alone", COSINE),
        ("service", SERVICE),
    ):
        ranks, chance = _routing_ranks(session, level, config, monkeypatch)
        metrics = metrics_from_ranks(ranks, [0] * len(ranks))
        figures[label] = ranks
        print(
            f"\n{level} {label:<13} n={metrics.n} acc@1={metrics.acc_at_1:.3f} hit@5={metrics.hit_at_5:.3f} "
            f"mrr={metrics.mrr:.3f} (chance acc@1 {chance:.3f})"
        )
        assert metrics.acc_at_1 > 3 * chance
    index.clear_cache()
    for name, diff in paired_difference(figures["cosine alone"], figures["service"]).items():
        print(
            f"service - cosine {name}: {diff.value:+.3f} "
            f"[{diff.interval.low:+.3f}, {diff.interval.high:+.3f}]"
        )
