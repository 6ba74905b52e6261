"""Mixed wanted numbers on the one kernel, against the oracles; every method reaches the same optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from matcher import Assignment, SolverOptions, assign, certificate_violation
from tests.matcher.oracles import brute_force, milp_value

METHODS = [("auto", 4), ("pruned", 0), ("full", 4), ("scaling", 4)]


@pytest.fixture(params=METHODS, ids=["auto", "pruned-0", "full", "scaling"])
def how(request: pytest.FixtureRequest) -> dict[str, object]:
    """Keyword arguments forcing a method (and how many extra candidates pruning starts with)."""
    method, extra = request.param
    return {"method": method, "options": SolverOptions(extra_candidates=extra)}


def _mixed_tiny(rng: np.random.Generator, n: int, m: int) -> dict[str, np.ndarray]:
    candidate = rng.random((n, m)) < 0.75
    values = np.where(rng.random((n, m)) < 0.3, rng.integers(0, 3, (n, m)) / 2, rng.random((n, m)))
    wanted = rng.integers(0, 4, n)
    wanted[rng.integers(n)] = int(rng.integers(2, 4))  # at least one demand wants several
    return {
        "candidate": candidate,
        "values": np.where(candidate, values, 0.0),
        "capacity": rng.integers(0, 4, m),
        "wanted": wanted,
    }


@pytest.mark.parametrize(("n", "m"), list(itertools.product(range(1, 7), range(1, 5))))
def test_tiny_shapes_match_brute_force(n: int, m: int, how: dict[str, object]) -> None:
    rng = np.random.default_rng(7000 + 10 * n + m)
    for variant in range(3):
        inst = _mixed_tiny(rng, n, m)
        rows, cols = np.nonzero(inst["candidate"])
        affinity = sp.csr_array((inst["values"][rows, cols], (rows, cols)), shape=(n, m))
        forbidden = np.column_stack([rows, cols])[: variant % 2 * 2]  # a few forbidden pairs, or none
        allowed = inst["candidate"].copy()
        allowed[forbidden[:, 0], forbidden[:, 1]] = False
        result = assign(affinity, inst["capacity"], inst["wanted"], forbidden=forbidden, **how)  # type: ignore[arg-type]
        _, value = brute_force(
            inst["values"], allowed, inst["capacity"], inst["wanted"], np.zeros(n, np.int64), np.ones(3)
        )
        assert result.objective == pytest.approx(value, rel=1e-9, abs=1e-12)
        violation = certificate_violation(
            result, affinity, inst["capacity"], inst["wanted"], forbidden=forbidden
        )
        assert violation <= result.certificate.tolerance


def _random_mixed(seed: int, ties: bool) -> tuple[sp.coo_array, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(40, 120)), int(rng.integers(8, 30))
    affinity = sp.random_array((n, m), density=float(rng.uniform(0.15, 0.5)), rng=rng, format="coo")
    if ties:
        affinity.data = np.round(affinity.data * 4) / 4
    wanted = rng.choice([1, 2, 3], size=n, p=[0.6, 0.25, 0.15])
    picks = rng.choice(affinity.nnz, size=min(affinity.nnz, 14), replace=False)
    pairs = np.column_stack([affinity.row[picks], affinity.col[picks]]).astype(np.int64)
    locked = pairs[:6]
    locked = locked[np.unique(locked[:, 1], return_index=True)[1]]  # one locked pair per provider
    capacity = rng.integers(0, 6, m)
    capacity[locked[:, 1]] = np.maximum(capacity[locked[:, 1]], 1)
    return affinity, {
        "capacity": capacity,
        "max_per_demand": wanted,
        "forbidden": pairs[6:],
        "locked": locked,
    }


def _solved(affinity: sp.coo_array, problem: dict[str, np.ndarray], how: dict[str, object]) -> Assignment:
    """Solve with the forced method; the answer is HiGHS' optimum, certified."""
    result = assign(affinity, **problem, **how)  # type: ignore[arg-type]
    assert result.objective == pytest.approx(milp_value(affinity, problem), rel=1e-9)
    assert certificate_violation(result, affinity, **problem) <= result.certificate.tolerance
    return result


def _free(capacity: np.ndarray, wanted: np.ndarray) -> dict[str, np.ndarray]:
    """A mixed-wanted problem without forbidden or locked pairs."""
    empty = np.zeros((0, 2), np.int64)
    return {"capacity": capacity, "max_per_demand": wanted, "forbidden": empty, "locked": empty}


@pytest.mark.parametrize("seed", range(10))
def test_random_instances_match_highs(seed: int, how: dict[str, object]) -> None:
    affinity, problem = _random_mixed(seed, ties=seed % 3 == 0)
    result = _solved(affinity, problem, how)
    keys = result.pairs[:, 0] * affinity.shape[1] + result.pairs[:, 1]
    assert np.unique(keys).shape[0] == keys.shape[0]
    assert {tuple(p) for p in problem["locked"].tolist()} <= {tuple(p) for p in result.pairs.tolist()}


@pytest.mark.parametrize("seed", range(3))
def test_providers_with_long_candidate_lists_match_highs(seed: int, how: dict[str, object]) -> None:
    """Hundreds of candidates per provider: long reverse paths through full providers."""
    rng = np.random.default_rng(400 + seed)
    n, m = 240, 4
    affinity = sp.random_array((n, m), density=0.7, rng=rng, format="coo")
    if seed == 0:
        affinity.data = np.round(affinity.data * 8) / 8
    wanted = rng.choice([1, 2, 3], size=n, p=[0.6, 0.25, 0.15])
    problem = _free(rng.integers(1, 6, m), wanted)
    _solved(affinity, problem, how)


@pytest.mark.parametrize("seed", range(3))
def test_demands_ranking_providers_alike_match_highs(seed: int, how: dict[str, object]) -> None:
    """Every provider ranks the demands alike, so every demand contends for the same providers."""
    rng = np.random.default_rng(500 + seed)
    n, m = 70, 40
    affinity = sp.coo_array(rng.random(n)[:, None] * 0.5 + rng.random((n, m)) * 0.05)
    wanted = rng.choice([1, 2, 3], size=n, p=[0.5, 0.3, 0.2])
    problem = _free(rng.integers(1, 4, m), wanted)
    _solved(affinity, problem, how)
