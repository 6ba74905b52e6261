"""Assignment solver against OR-Tools min-cost flow and scipy's linear_sum_assignment, same run.

Run: ``.venv/bin/pytest benchmarks/test_solver.py`` (add ``-k "not big"`` to skip N = 100,000).
Each case records in ``extra_info``: the peer's time, the ratio ours / OR-Tools, the peak memory
above the inputs (tracemalloc), the wanted-1 engine the dispatch rule picked, the load average, and
asserts that both objectives agree. ``test_real`` runs the service's own cosine scores on real texts.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from functools import cache

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

import matcher.solver
from benchmarks._instances import Instance, make_instance, make_real_instance
from matcher import assign

ortools_flow = pytest.importorskip("ortools.graph.python.min_cost_flow")

COST_SCALE = 1e9  # OR-Tools needs integer costs; 1e-9 resolution keeps the objectives comparable


def ortools_objective(inst: Instance) -> float:
    """Max-weight b-matching as a min-cost flow with a slack arc, built with vectorised arc calls."""
    a = inst.affinity.tocoo()
    n, m = a.shape
    source, sink = n + m, n + m + 1
    flow = ortools_flow.SimpleMinCostFlow()
    tails = np.concatenate([np.full(n, source), a.row, n + np.arange(m), [source]])
    heads = np.concatenate([np.arange(n), n + a.col, np.full(m, sink), [sink]])
    caps = np.concatenate([inst.wanted, np.ones(a.nnz, np.int64), inst.capacity, [inst.wanted.sum()]])
    costs = np.concatenate([np.zeros(n), -np.round(a.data * COST_SCALE), np.zeros(m), [0]]).astype(np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supply = int(inst.wanted.sum())
    flow.set_nodes_supplies(np.array([source, sink]), np.array([supply, -supply]))
    assert flow.solve() == flow.OPTIMAL
    used = flow.flows(np.arange(n, n + a.nnz))
    return float((a.data * used).sum())


def lsa_objective(inst: Instance) -> float:
    """Dense linear_sum_assignment on provider slots (valid for wanted number 1 only)."""
    slots = np.repeat(np.arange(inst.capacity.shape[0]), inst.capacity)
    dense = inst.affinity.toarray()[:, slots]
    rows, cols = linear_sum_assignment(dense, maximize=True)
    return float(dense[rows, cols].sum())


@cache
def instance(n: int, k: int, wanted: str, values: str) -> Instance:
    if values == "real":
        return make_real_instance()
    return make_instance(n, k, wanted, values)


def engine_of(inst: Instance) -> str:
    """The wanted-1 engine the dispatch rule picks (before its guard), or "-" for other calls."""
    if not (inst.wanted <= 1).all():
        return "-"
    prob = matcher.solver._validate(inst.affinity, inst.capacity, inst.wanted, None, None, None, None)
    return matcher.solver._wanted_one_engine(prob)


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def peak_memory(inst: Instance) -> int:
    tracemalloc.start()
    assign(inst.affinity, inst.capacity, inst.wanted)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


GRID = [
    pytest.param(n, k, w, v, id=f"{'big-' if n >= 100_000 else ''}n{n}-k{k}-{w}-{v}")
    for n in (1_000, 10_000, 100_000)
    for k in (20, 50)
    for w in ("one", "mixed")
    for v in ("uniform", "tied", "tfidf")
]


@pytest.mark.parametrize(("n", "k", "wanted", "values"), GRID)
def test_assign(benchmark, n: int, k: int, wanted: str, values: str) -> None:  # type: ignore[no-untyped-def]
    run_case(benchmark, instance(n, k, wanted, values))


def test_real(benchmark) -> None:  # type: ignore[no-untyped-def]
    """5,000 x 2,000, top-20 cosines of the service's TF-IDF on real texts, capacity 3, wanted 1."""
    run_case(benchmark, instance(5_000, 20, "one", "real"))


def run_case(benchmark, inst: Instance) -> None:  # type: ignore[no-untyped-def]
    n = inst.affinity.shape[0]
    peer, peer_time = timed(ortools_objective, inst)
    settled: list[bool] = []
    with pytest.MonkeyPatch.context() as patch:  # record whether the auction settled or hit its guard
        run = matcher.solver.auction
        patch.setattr(matcher.solver, "auction", lambda *a: settled.append(run(*a)) or settled[-1])
        result = benchmark.pedantic(
            assign, args=(inst.affinity, inst.capacity, inst.wanted), rounds=1, iterations=1
        )
    ours = benchmark.stats.stats.min
    info = benchmark.extra_info
    info.update(
        ortools_s=round(peer_time, 4),
        ratio_vs_ortools=round(ours / peer_time, 3),
        objective=result.objective,
        peak_mib_above_inputs=round(peak_memory(inst) / 2**20, 1),
        inputs_mib=round(inst.nbytes / 2**20, 1),
        engine=engine_of(inst) + ("" if all(settled) else " (guard: matching)"),
        load_average=round(os.getloadavg()[0], 2),
    )
    if (inst.wanted == 1).all() and n * int(inst.capacity.sum()) <= 2.5e8:
        lsa, lsa_time = timed(lsa_objective, inst)
        info.update(lsa_s=round(lsa_time, 4))
        assert result.objective == pytest.approx(lsa, rel=1e-9)
    assert result.objective == pytest.approx(peer, rel=1e-8)
    assert isinstance(inst.affinity, sp.csr_array)
