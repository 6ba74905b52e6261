"""The solver agrees with exhaustive search on every tiny shape and with HiGHS on random instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from matcher import Assignment, assign, certificate_violation
from tests.matcher.oracles import brute_force, milp_optimum


def _discounted(result: Assignment, dense: np.ndarray, weights: np.ndarray) -> float:
    total = 0.0
    for i in range(dense.shape[0]):
        scores = sorted(dense[i, result.pairs[result.pairs[:, 0] == i, 1]], reverse=True)
        total += float(np.dot(weights[: len(scores)], scores))
    return total


def _tiny_instance(rng: np.random.Generator, n: int, m: int) -> dict[str, np.ndarray]:
    candidate = rng.random((n, m)) < 0.7
    values = np.where(rng.random((n, m)) < 0.3, rng.integers(0, 3, (n, m)) / 2, rng.random((n, m)))
    return {
        "candidate": candidate,
        "values": np.where(candidate, values, 0.0),
        "capacity": rng.integers(0, 3, m),
        "wanted": rng.integers(0, 3, n),
    }


SHAPES = list(itertools.product(range(1, 7), range(1, 5)))
METHODS = ["auto", "scaling"]  # the certified pruning over successive shortest paths; cost scaling


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("n", "m"), SHAPES)
def test_matches_brute_force_on_every_tiny_shape(n: int, m: int, method: str) -> None:
    rng = np.random.default_rng(1000 * n + m)
    for variant in range(4):
        inst = _tiny_instance(rng, n, m)
        rows, cols = np.nonzero(inst["candidate"])
        affinity = sp.csr_array((inst["values"][rows, cols], (rows, cols)), shape=(n, m))  # stored zeros kept
        floors = np.minimum(rng.integers(0, 3, n), inst["wanted"]) if variant >= 2 else np.zeros(n, np.int64)
        weights = np.array([1.0, 0.7, 0.4]) if variant % 2 else np.ones(3)
        kwargs = {
            "min_per_demand": floors if variant >= 2 else None,
            "depth_discount": weights if variant % 2 else None,
        }
        result = assign(affinity, inst["capacity"], inst["wanted"], **kwargs, method=method)
        coverage, value = brute_force(
            inst["values"], inst["candidate"], inst["capacity"], inst["wanted"], floors, weights
        )
        assert int(np.minimum(result.demand_counts, floors).sum()) == coverage
        assert _discounted(result, inst["values"], weights) == pytest.approx(value, rel=1e-9, abs=1e-12)
        tol = result.certificate.tolerance
        assert certificate_violation(result, affinity, inst["capacity"], inst["wanted"], **kwargs) <= tol


def _random_instance(seed: int) -> tuple[sp.coo_array, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(30, 90)), int(rng.integers(8, 25))
    density = float(rng.uniform(0.15, 0.6))
    affinity = sp.random_array((n, m), density=density, rng=rng, format="coo")
    if seed % 3 == 0:  # ties
        affinity.data = np.round(affinity.data * 4) / 4
    wanted = rng.choice([1, 2, 3], size=n, p=[0.7, 0.2, 0.1])
    picks = rng.choice(affinity.nnz, size=min(affinity.nnz, 12), replace=False)
    pairs = np.column_stack([affinity.row[picks], affinity.col[picks]]).astype(np.int64)
    capacity = rng.integers(0, 6, m)
    locked = pairs[:4]
    # keep locked pairs consistent with capacity and wanted numbers
    locked = locked[np.unique(locked[:, 0], return_index=True)[1]]
    locked = locked[np.unique(locked[:, 1], return_index=True)[1]]
    capacity[locked[:, 1]] = np.maximum(capacity[locked[:, 1]], 1)
    problem = {
        "capacity": capacity,
        "max_per_demand": wanted,
        "min_per_demand": np.minimum(rng.integers(0, 3, n), wanted),
        "forbidden": pairs[6:],
        "locked": locked,
    }
    return affinity, problem


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(12))
def test_matches_highs_on_random_instances(seed: int, method: str) -> None:
    affinity, problem = _random_instance(seed)
    result = assign(affinity, **problem, method=method)
    coverage, value = milp_optimum(
        affinity,
        problem["capacity"],
        problem["max_per_demand"],
        problem["min_per_demand"],
        problem["forbidden"],
        problem["locked"],
    )
    assert int(np.minimum(result.demand_counts, problem["min_per_demand"]).sum()) == coverage
    assert result.objective == pytest.approx(value, rel=1e-9)
    assert certificate_violation(result, affinity, **problem) <= result.certificate.tolerance


@pytest.mark.parametrize("seed", range(6))
def test_matches_highs_without_floors(seed: int) -> None:
    affinity, problem = _random_instance(100 + seed)
    problem["min_per_demand"] = np.zeros(affinity.shape[0], np.int64)
    result = assign(affinity, **{**problem, "min_per_demand": None})
    _, value = milp_optimum(
        affinity,
        problem["capacity"],
        problem["max_per_demand"],
        problem["min_per_demand"],
        problem["forbidden"],
        problem["locked"],
    )
    assert result.objective == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_discount_is_irrelevant_when_each_demand_wants_one(seed: int) -> None:
    """With one provider per demand the discount scales every pair alike: same pairs, same optimum."""
    affinity, problem = _random_instance(200 + seed)
    wanted = np.ones(affinity.shape[0], np.int64)
    problem = {**problem, "max_per_demand": wanted, "min_per_demand": None}
    problem["locked"] = problem["locked"][np.unique(problem["locked"][:, 0], return_index=True)[1]]
    plain = assign(affinity, **problem)
    discount = np.array([0.9, 0.8, 0.6]) if seed % 2 else np.array([1.0, 0.8, 0.6])
    discounted = assign(affinity, **problem, depth_discount=discount)
    _, value = milp_optimum(
        affinity, problem["capacity"], wanted, np.zeros_like(wanted), problem["forbidden"], problem["locked"]
    )
    assert discounted.pairs.tolist() == plain.pairs.tolist()
    assert discounted.objective == pytest.approx(value, rel=1e-9)
    violation = certificate_violation(discounted, affinity, **problem, depth_discount=discount)
    assert violation <= discounted.certificate.tolerance


@pytest.mark.parametrize("seed", range(4))
def test_constant_discount_matches_highs(seed: int) -> None:
    """A discount weighing every depth alike leaves the undiscounted optimum, with a certificate for it."""
    affinity, problem = _random_instance(300 + seed)
    problem = {**problem, "min_per_demand": None}
    result = assign(affinity, **problem, depth_discount=[0.5, 0.5, 0.5])
    wanted = problem["max_per_demand"]
    _, value = milp_optimum(
        affinity, problem["capacity"], wanted, np.zeros_like(wanted), problem["forbidden"], problem["locked"]
    )
    assert result.objective == pytest.approx(value, rel=1e-9)
    violation = certificate_violation(result, affinity, **problem, depth_discount=[0.5, 0.5, 0.5])
    assert violation <= result.certificate.tolerance
