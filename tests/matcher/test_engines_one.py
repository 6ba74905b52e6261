"""Wanted-1 engines: each forced onto the oracles; the price-war guard; the engine dispatch rule."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
import scipy.sparse as sp

import matcher.solver as solver
from matcher import assign, certificate_violation
from matcher._auction import AuctionState, _ranges, _single_bids, _sorted_bids, auction
from tests.matcher.oracles import brute_force, milp_value

ENGINES = ["auction", "matching"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test below runs once per engine, forced."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solver, "_WANTED_ONE_ENGINE", request.param)
        yield request.param


def _tiny(rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    candidate = rng.random((n, m)) < 0.7
    values = np.where(rng.random((n, m)) < 0.3, rng.integers(0, 3, (n, m)) / 2, rng.random((n, m)))
    return candidate, np.where(candidate, values, 0.0), rng.integers(0, 3, m), rng.integers(0, 2, n)


@pytest.mark.parametrize(("n", "m"), list(itertools.product(range(1, 7), range(1, 5))))
def test_forced_engine_matches_brute_force(engine: str, n: int, m: int) -> None:
    rng = np.random.default_rng(7000 * n + m)
    for _ in range(3):
        candidate, values, capacity, wanted = _tiny(rng, n, m)
        rows, cols = np.nonzero(candidate)
        affinity = sp.csr_array((values[rows, cols], (rows, cols)), shape=(n, m))
        result = assign(affinity, capacity, wanted)
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


def _check_against_highs(affinity: sp.coo_array, problem: dict[str, np.ndarray]) -> None:
    result = assign(affinity, **problem)
    assert result.objective == pytest.approx(milp_value(affinity, problem), rel=1e-9)
    assert certificate_violation(result, affinity, **problem) <= result.certificate.tolerance


@pytest.mark.parametrize("seed", range(10))
def test_forced_engine_matches_highs(engine: str, seed: int) -> None:
    _check_against_highs(*_random_one(4000 + seed))


@pytest.mark.parametrize("seed", range(4))
def test_forced_engine_with_a_depth_discount(engine: str, seed: int) -> None:
    """One provider per demand: the discount only scales the objective, whatever the engine."""
    affinity, problem = _random_one(4100 + seed)
    plain = assign(affinity, **problem)
    discounted = assign(affinity, **problem, depth_discount=[0.8, 0.5])
    assert discounted.pairs.tolist() == plain.pairs.tolist()
    violation = certificate_violation(discounted, affinity, **problem, depth_discount=[0.8, 0.5])
    assert violation <= discounted.certificate.tolerance


def _hot_providers(seed: int, n: int = 300, m: int = 60) -> tuple[sp.csr_array, np.ndarray]:
    """Near-equal scores on a few hot providers: the profile of a price war."""
    rng = np.random.default_rng(seed)
    hot = rng.choice(m, size=8, replace=False)
    cols = np.stack(
        [np.concatenate([hot, rng.choice(np.setdiff1d(np.arange(m), hot), 4, False)]) for _ in range(n)]
    )
    values = 0.5 + rng.random(cols.shape) * 1e-3
    values[:, :8] += 0.01
    rows = np.repeat(np.arange(n), cols.shape[1])
    return sp.csr_array((values.ravel(), (rows, cols.ravel())), shape=(n, m)), np.full(m, 3)


def test_price_war_stops_at_the_guard_and_the_answer_stays_optimal() -> None:
    affinity, capacity = _hot_providers(1)
    coo = sp.coo_array(affinity)
    state = AuctionState.start(
        coo.row.astype(np.int64),
        coo.col.astype(np.int64),
        coo.data,
        coo.shape[0],
        np.ones(coo.shape[0], np.int64),
        capacity,
    )
    assert not auction(state, 1e-6, max_scans=2 * coo.nnz)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solver, "_WANTED_ONE_ENGINE", "auction")
        patch.setattr(solver, "_AUCTION_SCANS", 2.0)
        guarded = assign(affinity, capacity)
    matched = assign(affinity, capacity)
    assert guarded.objective == pytest.approx(matched.objective, rel=1e-12)
    assert certificate_violation(guarded, affinity, capacity) <= guarded.certificate.tolerance
    _check_against_highs(
        coo,
        {
            "capacity": capacity,
            "max_per_demand": np.ones(coo.shape[0], np.int64),
            "forbidden": np.zeros((0, 2), np.int64),
            "locked": np.zeros((0, 2), np.int64),
        },
    )


def test_an_auction_that_settles_is_not_cut_short() -> None:
    rng = np.random.default_rng(3)
    affinity = sp.random_array((200, 40), density=0.3, rng=rng, format="coo")
    state = AuctionState.start(
        affinity.row.astype(np.int64)[np.argsort(affinity.row, kind="stable")],
        affinity.col.astype(np.int64)[np.argsort(affinity.row, kind="stable")],
        affinity.data[np.argsort(affinity.row, kind="stable")],
        200,
        np.ones(200, np.int64),
        np.full(40, 6, np.int64),
    )
    assert auction(state, 1e-6, max_scans=solver._AUCTION_SCANS * affinity.nnz)


def _prob(affinity: sp.sparray, capacity: np.ndarray) -> solver._Problem:
    return solver._validate(affinity, capacity, 1, None, None, None, None)


def test_dispatch_sends_near_equal_scores_to_matching() -> None:
    affinity, capacity = _hot_providers(2)
    assert solver._wanted_one_engine(_prob(affinity, capacity)) == "matching"


def test_dispatch_sends_tied_and_widely_spread_scores_to_the_auction() -> None:
    rng = np.random.default_rng(5)
    spread = sp.random_array((500, 100), density=0.2, rng=rng, format="csr")
    tied = spread.copy()
    tied.data = np.round(tied.data * 4 + 0.5) / 4
    capacity = np.full(100, 6)
    assert solver._wanted_one_engine(_prob(spread, capacity)) == "auction"
    assert solver._wanted_one_engine(_prob(tied, capacity)) == "auction"


def test_dispatch_runs_the_auction_first_on_large_problems() -> None:
    rng = np.random.default_rng(6)
    affinity = sp.random_array((400, 80), density=0.2, rng=rng, format="csr")
    affinity.data = 0.9 + 0.1 * affinity.data  # near-equal scores: matching, unless the problem is large
    prob = _prob(affinity, np.full(80, 6))
    assert solver._wanted_one_engine(prob) == "matching"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solver, "_LARGE_PROBLEM", 100)
        assert solver._wanted_one_engine(prob) == "auction"


def test_restricted_problem_takes_candidates_until_the_slot_budget() -> None:
    """A demand keeps its best candidates while the providers ranked above offer fewer than 64 slots."""
    n, m = 3, 100
    rows = np.repeat(np.arange(n), m)
    cols = np.tile(np.arange(m), n)
    values = np.tile(np.linspace(1.0, 0.01, m), n)
    affinity = sp.csr_array((values, (rows, cols)), shape=(n, m))
    capacity = np.where(np.arange(m) < 10, 10, 1)  # 10 providers x 10 slots, then single slots
    prob = _prob(affinity, capacity)
    res, carried = solver._residual(prob)
    subset = solver._initial_subset(prob, res, carried, matching=True)
    assert np.bincount(prob.rows[subset], minlength=n).tolist() == [7, 7, 7]  # 6 x 10 slots < 64 <= 7 x 10
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solver, "_WANTED_ONE_ENGINE", "matching")
        result = assign(affinity, capacity)
    assert result.objective == pytest.approx(3.0)


def test_engines_agree_on_a_mid_sized_instance(engine: str) -> None:
    """Both engines reach HiGHS' optimum with hundreds of demands contending for few slots."""
    affinity, capacity = _hot_providers(9, n=250, m=50)
    _check_against_highs(
        sp.coo_array(affinity),
        {
            "capacity": capacity,
            "max_per_demand": np.ones(250, np.int64),
            "forbidden": np.zeros((0, 2), np.int64),
            "locked": np.zeros((0, 2), np.int64),
        },
    )


@pytest.mark.parametrize("seed", range(8))
def test_single_slot_bids_equal_the_sorted_bids(seed: int) -> None:
    """The sort-free bids of one-slot bidders are exactly those of sorting their options."""
    rng = np.random.default_rng(seed)
    n, m = 60, 12
    affinity = sp.random_array((n, m), density=0.4, rng=rng, format="csr")
    if seed % 2:
        affinity.data = np.round(affinity.data * 3) / 3  # tied options
    coo = sp.coo_array(affinity)
    state = AuctionState.start(
        coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, n, np.ones(n, np.int64), np.full(m, 2)
    )
    state.price[:] = rng.random(m) * 0.3
    state.held[rng.random(coo.nnz) < 0.1] = True  # options a bidder holds are skipped
    bidders = np.flatnonzero(rng.random(n) < 0.6)
    idx, seg = _ranges(state.starts[bidders], state.starts[bidders + 1])
    profit = np.where(state.held[idx], -np.inf, state.vals[idx] - state.price[state.cols[idx]])
    single = _single_bids(state, bidders, idx, seg, profit, 1e-3)
    ordered = _sorted_bids(state, bidders, idx, seg, profit, 1e-3)
    for ours, reference in zip(single, ordered, strict=True):
        np.testing.assert_array_equal(ours, reference)


def test_dispatch_sends_moderately_spread_scores_to_the_auction_when_candidates_are_few() -> None:
    rng = np.random.default_rng(8)
    many = sp.random_array((300, 200), density=0.2, rng=rng, format="csr")  # 40 candidates per demand
    many.data = 0.3 + 0.7 * many.data  # best - worst candidate about 0.65 of the largest score
    few = many[:, :100]  # about 20 candidates per demand, the same spread of scores
    capacity = np.full(200, 2)
    assert solver._wanted_one_engine(_prob(many, capacity)) == "matching"
    assert solver._wanted_one_engine(_prob(few, capacity[:100])) == "auction"
    scaled = many * 10  # the rule does not depend on the unit of the scores
    assert solver._wanted_one_engine(_prob(scaled, capacity)) == "matching"
    assert solver._wanted_one_engine(_prob(few * 10, capacity[:100])) == "auction"


def test_dispatch_on_zero_scores_only() -> None:
    affinity = sp.csr_array((np.zeros(3), ([0, 1, 2], [0, 0, 1])), shape=(3, 2))
    assert solver._wanted_one_engine(_prob(affinity, np.ones(2))) == "matching"
    assert assign(affinity, np.ones(2)).objective == 0.0


@pytest.mark.parametrize(("seed", "eps"), [(s, e) for s in range(4) for e in (0.05, 0.3)])
def test_a_coarse_forced_auction_is_finished_exactly(seed: int, eps: float) -> None:
    """A coarse increment leaves negative cycles; the finish must still reach HiGHS' optimum."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solver, "_WANTED_ONE_ENGINE", "auction")
        patch.setattr(solver, "_AUCTION_EPS", eps)
        patch.setattr(solver, "_AUCTION_SCANS", np.inf)  # the finish, not the guard, must do the work
        _check_against_highs(*_random_one(4200 + seed))
