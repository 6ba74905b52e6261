"""The compiled kernel on random general networks against HiGHS; slicing; progress and cancel."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from matcher import SolveCancelled, SolveProgress, SolverOptions, assign
from matcher.solver._flow import FlowKernel


def _network(seed: int) -> dict[str, np.ndarray]:
    """Random arcs with lower bounds and costs of both signs; supplies of a random feasible flow."""
    rng = np.random.default_rng(seed)
    n, e = int(rng.integers(3, 25)), int(rng.integers(3, 90))
    tail, head = rng.integers(0, n, e), rng.integers(0, n, e)
    keep = tail != head
    tail, head = tail[keep], head[keep]
    lower = rng.integers(0, 2, tail.shape[0]) * rng.integers(0, 3, tail.shape[0])
    upper = lower + rng.integers(0, 5, tail.shape[0])
    feasible = lower + (rng.random(tail.shape[0]) * (upper - lower + 1)).astype(np.int64).clip(
        0, upper - lower
    )
    supply = np.bincount(tail, feasible, n).astype(np.int64) - np.bincount(head, feasible, n).astype(np.int64)
    cost = rng.integers(-50, 50, tail.shape[0])
    arrays = {"tail": tail, "head": head, "lower": lower, "upper": upper, "cost": cost, "supply": supply}
    return {k: np.ascontiguousarray(v, np.int64) for k, v in arrays.items()}


def _highs(net: dict[str, np.ndarray]) -> float:
    e = net["tail"].shape[0]
    arcs = np.arange(e)
    incidence = sp.csr_array(
        (
            np.concatenate([np.ones(e), -np.ones(e)]),
            (np.concatenate([net["tail"], net["head"]]), np.tile(arcs, 2)),
        ),
        shape=(net["supply"].shape[0], e),
    )
    result = linprog(
        net["cost"], A_eq=incidence, b_eq=net["supply"], bounds=np.column_stack([net["lower"], net["upper"]])
    )
    assert result.status == 0
    return float(result.fun)


@pytest.mark.parametrize("seed", range(40))
def test_kernel_matches_highs_and_certifies_its_flow(seed: int) -> None:
    net = _network(seed)
    flow = net["lower"].copy()
    pot = np.random.default_rng(seed).integers(-100, 100, size=(net["supply"].shape[0],), dtype=np.int64)
    kernel = FlowKernel(
        net["tail"], net["head"], net["lower"], net["upper"], net["cost"], net["supply"], flow, pot
    )
    assert kernel.run(10.0) == 1
    kernel.flows()
    assert kernel.min_reduced_cost() >= 0
    assert ((net["lower"] <= flow) & (flow <= net["upper"])).all()
    n = net["supply"].shape[0]
    balance = np.bincount(net["tail"], flow, n) - np.bincount(net["head"], flow, n)
    assert (balance == net["supply"]).all()
    assert float(net["cost"] @ flow) == pytest.approx(_highs(net), abs=1e-6)
    assert kernel.fraction == 1.0


def test_kernel_reports_an_infeasible_network() -> None:
    one = np.array([0], np.int64)
    kernel = FlowKernel(
        one,
        one + 1,
        one * 0,
        one * 0 + 1,
        one * 0,
        np.array([2, -2], np.int64),
        one * 0,
        np.zeros(2, np.int64),
    )
    assert kernel.run(1.0) == -1


def _contended(n: int, k: int, seed: int = 0) -> tuple[sp.csr_array, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = n // 5
    cols = np.stack([rng.choice(m, k, replace=False) for _ in range(n)])
    rows = np.repeat(np.arange(n), k)
    return sp.csr_array((rng.random(n * k), (rows, cols.ravel())), shape=(n, m)), np.full(m, 4)


def test_progress_is_reported_through_every_stage() -> None:
    affinity, capacity = _contended(2_000, 10)
    seen: list[SolveProgress] = []
    result = assign(affinity, capacity, callback=seen.append)
    stages = [p.stage for p in seen]
    assert stages[0] == "validate"
    assert stages[-1] == "done"
    assert {"coverage", "solve", "price"} <= set(stages)
    assert all(np.isnan(p.fraction) or 0.0 <= p.fraction <= 1.0 for p in seen)
    assert [p.seconds for p in seen] == sorted(p.seconds for p in seen)
    assert result.n_pairs > 0


def test_a_cancelled_solve_raises_and_tiny_slices_give_the_same_optimum() -> None:
    affinity, capacity = _contended(2_000, 10)
    with pytest.raises(SolveCancelled, match="cancelled at stage 'solve'"):
        assign(affinity, capacity, callback=lambda p: p.stage == "solve")
    sliced = assign(affinity, capacity, options=SolverOptions(slice_seconds=1e-6))
    assert sliced.objective == pytest.approx(assign(affinity, capacity).objective, rel=1e-12)


def test_every_step_before_the_kernel_reports_per_block_of_candidates() -> None:
    """A deterministic measure of the gaps between reports: the steps over all candidates (validation,
    the start's and each round's pricing of the left-out ones) report once per ``report_every``
    candidates, and the auction once per slice (a slice of 1 microsecond ends after 256 demands)."""
    n, k, block = 6_000, 30, 2_000
    affinity, capacity = _contended(n, k, seed=3)
    seen: list[SolveProgress] = []
    options = SolverOptions(report_every=block, slice_seconds=1e-6)
    result = assign(affinity, capacity, callback=seen.append, options=options)
    count = {stage: sum(p.stage == stage for p in seen) for stage in ("validate", "start", "price")}
    entries = n * k
    left_out = entries - n * (1 + options.extra_candidates)  # the first network's pairs are wanted + 8
    assert count["validate"] >= 3 * (entries // block)  # unpack, check, reorder: one report per block each
    assert count["start"] >= n // 256 + left_out // block
    assert count["price"] >= left_out // block
    assert result.objective == pytest.approx(assign(affinity, capacity).objective, rel=1e-12)
