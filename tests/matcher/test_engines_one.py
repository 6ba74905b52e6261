"""Wanted number 1 on the one kernel: each method forced onto the oracles, and contended hot providers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from matcher import SolverOptions, SolverOptionsError, assign, certificate_violation
from tests.matcher.oracles import brute_force, milp_value

# The start auction by epsilon-scaling phases (all candidates: "full", and "auto" under contention;
# coarse increments first, prices carried over, with and without lowering them between phases), and
# auto always going to all candidates: other starts, the same certified optimum.
SCALED = {"start_first_eps_bits": 1, "start_eps_step_bits": 3, "contention": 0.0}
METHODS = [
    ("auto", 4, {}),
    ("pruned", 0, {}),
    ("full", 4, {}),
    ("auto", 4, SCALED),
    ("full", 0, {**SCALED, "start_backoff": 0}),
    ("scaling", 4, {}),
]


@pytest.fixture(params=METHODS, ids=["auto", "pruned-0", "full", "auto-scaled", "full-scaled-0", "scaling"])
def how(request: pytest.FixtureRequest) -> dict[str, object]:
    method, extra, scaled = request.param
    return {"method": method, "options": SolverOptions(extra_candidates=extra, **scaled)}


def _tiny(rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    candidate = rng.random((n, m)) < 0.7
    values = np.where(rng.random((n, m)) < 0.3, rng.integers(0, 3, (n, m)) / 2, rng.random((n, m)))
    return candidate, np.where(candidate, values, 0.0), rng.integers(0, 3, m), rng.integers(0, 2, n)


@pytest.mark.parametrize(("n", "m"), list(itertools.product(range(1, 7), range(1, 5))))
def test_forced_method_matches_brute_force(how: dict[str, object], n: int, m: int) -> None:
    rng = np.random.default_rng(7000 * n + m)
    for _ in range(3):
        candidate, values, capacity, wanted = _tiny(rng, n, m)
        rows, cols = np.nonzero(candidate)
        affinity = sp.csr_array((values[rows, cols], (rows, cols)), shape=(n, m))
        result = assign(affinity, capacity, wanted, **how)  # type: ignore[arg-type]
        _, best = brute_force(values, candidate, capacity, wanted, np.zeros(n, np.int64), np.ones(1))
        assert result.objective == pytest.approx(best, rel=1e-9, abs=1e-12)
        assert certificate_violation(result, affinity, capacity, wanted) <= result.certificate.tolerance


def _random_one(seed: int) -> tuple[sp.coo_array, dict[str, np.ndarray]]:
    """Wanted number 1 (some 0), ties on every third seed, forbidden and locked pairs."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(40, 120)), int(rng.integers(8, 30))
    affinity = sp.random_array((n, m), density=float(rng.uniform(0.1, 0.5)), rng=rng, format="coo")
    if seed % 3 == 0:
        affinity.data = np.round(affinity.data * 4) / 4
    pairs = np.column_stack([affinity.row, affinity.col]).astype(np.int64)[rng.permutation(affinity.nnz)]
    locked = pairs[:6]
    locked = locked[np.unique(locked[:, 0], return_index=True)[1]]
    capacity = rng.integers(0, 5, m)
    np.add.at(capacity, locked[:, 1], 1)  # room for every locked pair
    wanted = (rng.random(n) < 0.9).astype(np.int64)
    wanted[locked[:, 0]] = 1
    problem = {"capacity": capacity, "max_per_demand": wanted, "forbidden": pairs[6:12], "locked": locked}
    return affinity, problem


def _check_against_highs(
    affinity: sp.coo_array, problem: dict[str, np.ndarray], how: dict[str, object]
) -> None:
    result = assign(affinity, **problem, **how)  # type: ignore[arg-type]
    assert result.objective == pytest.approx(milp_value(affinity, problem), rel=1e-9)
    assert certificate_violation(result, affinity, **problem) <= result.certificate.tolerance


@pytest.mark.parametrize("seed", range(10))
def test_forced_method_matches_highs(how: dict[str, object], seed: int) -> None:
    _check_against_highs(*_random_one(4000 + seed), how)


@pytest.mark.parametrize("seed", range(4))
def test_forced_method_with_a_depth_discount(how: dict[str, object], seed: int) -> None:
    """One provider per demand: the discount only scales the objective, whatever the method."""
    affinity, problem = _random_one(4100 + seed)
    plain = assign(affinity, **problem, **how)  # type: ignore[arg-type]
    discounted = assign(affinity, **problem, depth_discount=[0.8, 0.5], **how)  # type: ignore[arg-type]
    assert discounted.pairs.tolist() == plain.pairs.tolist()
    violation = certificate_violation(discounted, affinity, **problem, depth_discount=[0.8, 0.5])
    assert violation <= discounted.certificate.tolerance


def _hot_providers(seed: int, n: int = 300, m: int = 60) -> tuple[sp.csr_array, np.ndarray]:
    """Near-equal scores on a few hot providers: long augmenting paths through full providers."""
    rng = np.random.default_rng(seed)
    hot = rng.choice(m, size=8, replace=False)
    cols = np.stack(
        [np.concatenate([hot, rng.choice(np.setdiff1d(np.arange(m), hot), 4, False)]) for _ in range(n)]
    )
    values = 0.5 + rng.random(cols.shape) * 1e-3
    values[:, :8] += 0.01
    rows = np.repeat(np.arange(n), cols.shape[1])
    return sp.csr_array((values.ravel(), (rows, cols.ravel())), shape=(n, m)), np.full(m, 3)


@pytest.mark.parametrize("seed", [1, 9])
def test_hot_providers_reach_the_optimum(how: dict[str, object], seed: int) -> None:
    affinity, capacity = _hot_providers(seed, n=250, m=50)
    empty = np.zeros((0, 2), np.int64)
    problem = {
        "capacity": capacity,
        "max_per_demand": np.ones(250, np.int64),
        "forbidden": empty,
        "locked": empty,
    }
    _check_against_highs(sp.coo_array(affinity), problem, how)


def test_values_closer_than_the_integer_resolution_are_ties() -> None:
    """Affinities differing by 1e-15 of the largest one round to the same integer cost: either is optimal."""
    affinity = sp.csr_array(np.array([[1.0, 1.0 - 1e-15], [1.0 - 1e-15, 1.0 - 2e-15]]))
    result = assign(affinity, [1, 1])
    assert result.objective == pytest.approx(2.0 - 2e-15, rel=1e-14)
    assert certificate_violation(result, affinity, [1, 1]) <= result.certificate.tolerance


def test_zero_scores_only() -> None:
    affinity = sp.csr_array((np.zeros(3), ([0, 1, 2], [0, 0, 1])), shape=(3, 2))
    result = assign(affinity, np.ones(2))
    assert result.objective == 0.0
    assert certificate_violation(result, affinity, np.ones(2)) <= result.certificate.tolerance


def test_pruning_prices_the_left_out_candidates_in_rounds() -> None:
    """Every demand's best provider has one unit: pruned to one candidate, the rest must be priced in."""
    n, m = 6, 7
    affinity = sp.csr_array(np.tile(np.linspace(1.0, 0.4, m), (n, 1)))
    capacity = np.ones(m, np.int64)
    options = SolverOptions(extra_candidates=0, start_bids_per_pair=0)  # no start prices: rounds price
    result = assign(affinity, capacity, method="pruned", options=options)
    assert sorted(result.pairs[:, 1].tolist()) == list(range(6))
    assert result.objective == pytest.approx(float(np.linspace(1.0, 0.4, m)[:6].sum()))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "auction"}, "method is 'auction'; it must be one of 'auto', 'pruned', 'full', 'scaling'"),
        ({"options": {"extra_candidates": 2}}, "options must be a SolverOptions, got dict"),
        ({"callback": 3}, "callback must be callable, got int"),
    ],
)
def test_bad_method_options_and_callback_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SolverOptionsError) as err:
        assign(sp.csr_array(np.ones((2, 2))), [1, 1], **kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"extra_candidates": -1}, "extra_candidates is -1; it must be >= 0"),
        ({"max_rounds": 0}, "max_rounds is 0; it must be an int >= 1"),
        ({"relative_tolerance": 0.0}, "relative_tolerance is 0.0; it must be in (0, 1e-3)"),
        ({"slice_seconds": 1.0}, "slice_seconds is 1.0; it must be in (0, 0.2]"),
        ({"report_every": 0}, "report_every is 0; it must be >= 1"),
        ({"start_first_eps_bits": 41}, "start_first_eps_bits is 41; it must be an int in [0, 40]"),
        ({"start_eps_step_bits": 0}, "start_eps_step_bits is 0; it must be >= 1"),
        ({"start_backoff": -1}, "start_backoff is -1; it must be in [0, 1024]"),
    ],
)
def test_bad_options_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SolverOptionsError) as err:
        SolverOptions(**kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message
