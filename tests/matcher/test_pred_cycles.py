"""Negative-cycle detection among the predecessor arcs of the exact finish (strong components)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import matcher.solver as solver
from matcher import assign, certificate_violation
from tests.matcher.oracles import milp_value
from tests.matcher.test_primal_dual_mixed import _random_mixed


def _walked_cycles(tail: np.ndarray, cost: np.ndarray, pred: np.ndarray) -> set[frozenset[int]]:
    """Reference: follow each node's predecessor chain in Python until it ends or repeats a node."""
    found: set[frozenset[int]] = set()
    for start in range(pred.shape[0]):
        path: list[int] = []
        node = start
        while pred[node] >= 0 and node not in path:
            path.append(node)
            node = int(tail[pred[node]])
        if node in path:
            arcs = [int(pred[v]) for v in path[path.index(node) :]]
            if cost[arcs].sum() < 0:
                found.add(frozenset(arcs))
    return found


def _random_predecessors(rng: np.random.Generator, n_nodes: int) -> tuple[Any, np.ndarray]:
    """One arc per node with a predecessor (random parent, some roots), costs of both signs.

    The network has no loops (arcs from a node to itself), so no parent is the node itself.
    """
    parent = (np.arange(n_nodes) + rng.integers(1, n_nodes, n_nodes)) % n_nodes
    roots = rng.random(n_nodes) < 0.1
    pred = np.where(roots, -1, np.arange(n_nodes))  # arc v runs parent[v] -> v
    graph = SimpleNamespace(tail=parent, cost=rng.normal(size=n_nodes) - 0.2)
    return graph, pred


@pytest.mark.parametrize("seed", range(30))
def test_cycles_are_the_walked_negative_cycles(seed: int) -> None:
    rng = np.random.default_rng(seed)
    graph, pred = _random_predecessors(rng, int(rng.integers(2, 200)))
    cycles = solver._pred_cycles(graph, pred)
    assert {frozenset(c.tolist()) for c in cycles} == _walked_cycles(graph.tail, graph.cost, pred)
    every = np.concatenate(cycles) if cycles else np.zeros(0, np.int64)
    assert np.unique(graph.tail[every]).shape[0] == every.shape[0]  # node-disjoint


def test_a_forest_without_cycles_and_a_zero_cost_cycle_give_none() -> None:
    chain = SimpleNamespace(tail=np.array([0, 0, 1]), cost=np.array([0.0, -1.0, -2.0]))  # 2 -> 1 -> 0
    assert solver._pred_cycles(chain, np.array([-1, 1, 2])) == []  # type: ignore[arg-type]
    loop = SimpleNamespace(tail=np.array([1, 0]), cost=np.array([-1.0, 1.0]))
    assert solver._pred_cycles(loop, np.array([0, 1])) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(3))
def test_the_finish_cancels_the_cycles_found_and_reaches_the_optimum(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A very coarse provider auction leaves cycles; those found are cancelled and HiGHS' optimum holds."""
    found: list[int] = []
    detect = solver._pred_cycles

    def spy(graph: Any, pred: np.ndarray) -> list[np.ndarray]:
        cycles = detect(graph, pred)
        found.append(len(cycles))
        return cycles

    monkeypatch.setattr(solver, "_pred_cycles", spy)
    monkeypatch.setattr(solver, "_PROVIDER_AUCTION_EPS", 2.0)
    affinity, problem = _random_mixed(70 + seed, ties=False)
    result = assign(affinity, **problem)
    assert sum(found) > 0
    assert result.objective == pytest.approx(milp_value(affinity, problem), rel=1e-9)
    assert certificate_violation(result, affinity, **problem) <= result.certificate.tolerance
