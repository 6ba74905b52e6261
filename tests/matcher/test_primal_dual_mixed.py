"""Mixed wanted numbers: the provider-side auction and the exact finish, against the oracles."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher._provider_auction
import matcher.solver
from matcher import Assignment, assign, certificate_violation
from matcher._provider_auction import ProviderAuction, _by_provider, _windows, provider_auction
from tests.matcher.oracles import brute_force, milp_value


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the solves the provider-side auction served (the real function runs)."""
    calls: list[int] = []

    def spy(*args: Any) -> Any:
        calls.append(1)
        return provider_auction(*args)

    monkeypatch.setattr(matcher.solver, "provider_auction", spy)
    return calls


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
def test_tiny_shapes_match_brute_force(n: int, m: int, served: list[int]) -> None:
    rng = np.random.default_rng(7000 + 10 * n + m)
    for variant in range(3):
        inst = _mixed_tiny(rng, n, m)
        rows, cols = np.nonzero(inst["candidate"])
        affinity = sp.csr_array((inst["values"][rows, cols], (rows, cols)), shape=(n, m))
        forbidden = np.column_stack([rows, cols])[: variant % 2 * 2]  # a few forbidden pairs, or none
        allowed = inst["candidate"].copy()
        allowed[forbidden[:, 0], forbidden[:, 1]] = False
        result = assign(affinity, inst["capacity"], inst["wanted"], forbidden=forbidden)
        _, value = brute_force(
            inst["values"], allowed, inst["capacity"], inst["wanted"], np.zeros(n, np.int64), np.ones(3)
        )
        assert result.objective == pytest.approx(value, rel=1e-9, abs=1e-12)
        violation = certificate_violation(
            result, affinity, inst["capacity"], inst["wanted"], forbidden=forbidden
        )
        assert violation <= result.certificate.tolerance
    assert served  # shapes with a free provider and a demand wanting several reach the engine


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


def _solved_by_the_provider_auction(
    affinity: sp.coo_array, problem: dict[str, np.ndarray], served: list[int]
) -> Assignment:
    """Solve; the provider-side auction served the call, and its answer is HiGHS' optimum, certified."""
    result = assign(affinity, **problem)
    assert served == [1]
    assert result.objective == pytest.approx(milp_value(affinity, problem), rel=1e-9)
    assert certificate_violation(result, affinity, **problem) <= result.certificate.tolerance
    return result


def _free(capacity: np.ndarray, wanted: np.ndarray) -> dict[str, np.ndarray]:
    """A mixed-wanted problem without forbidden or locked pairs."""
    empty = np.zeros((0, 2), np.int64)
    return {"capacity": capacity, "max_per_demand": wanted, "forbidden": empty, "locked": empty}


@pytest.mark.parametrize("seed", range(10))
def test_random_instances_match_highs(seed: int, served: list[int]) -> None:
    affinity, problem = _random_mixed(seed, ties=seed % 3 == 0)
    result = _solved_by_the_provider_auction(affinity, problem, served)
    keys = result.pairs[:, 0] * affinity.shape[1] + result.pairs[:, 1]
    assert np.unique(keys).shape[0] == keys.shape[0]
    assert {tuple(p) for p in problem["locked"].tolist()} <= {tuple(p) for p in result.pairs.tolist()}


@pytest.mark.parametrize("eps", [0.05, 0.3, 2.0])
@pytest.mark.parametrize("seed", range(3))
def test_a_coarse_bid_increment_is_finished_exactly(
    seed: int, eps: float, served: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A coarse increment leaves negative cycles; the finish cancels them and certifies the optimum."""
    monkeypatch.setattr(matcher.solver, "_PROVIDER_AUCTION_EPS", eps)
    affinity, problem = _random_mixed(50 + seed, ties=False)
    _solved_by_the_provider_auction(affinity, problem, served)


def test_floors_and_discounts_stay_on_the_pricing_loop(served: list[int]) -> None:
    affinity, problem = _random_mixed(90, ties=False)
    wanted = problem["max_per_demand"]
    assign(affinity, **problem, min_per_demand=np.minimum(wanted, 1))
    assign(affinity, **problem, depth_discount=[1.0, 0.8, 0.6])
    assert served == []
    assign(affinity, **problem, depth_discount=[0.5, 0.5, 0.5])  # uniform weights: undiscounted engine
    assert served == [1]


@st.composite
def auctions(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    n, m = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    mask = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
    values = st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0.0, 1.0, allow_nan=False, width=32)
    vals = np.array(draw(st.lists(values, min_size=n * m, max_size=n * m))).reshape(n, m)
    rows, cols = np.nonzero(mask)
    wanted = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int64)
    capacity = np.array(draw(st.lists(st.integers(0, 4), min_size=m, max_size=m)), np.int64)
    eps = draw(st.sampled_from([1e-6, 1e-3, 0.1]))
    return rows.astype(np.int64), cols.astype(np.int64), vals[rows, cols], wanted, capacity, eps


@settings(max_examples=150, deadline=None)
@given(auctions())
def test_auction_is_feasible_and_eps_optimal(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float],
) -> None:
    """No pair twice, no bound exceeded, prices only on full nodes, no open pair worth more than eps.

    A chosen pair may fall below its prices by more than eps: a provider that loses one demand and wins
    it back paid for its other demands against a runner-up that excluded it. The exact finish repairs
    that (test_a_coarse_bid_increment_is_finished_exactly); here only the other conditions hold.
    """
    rows, cols, vals, wanted, capacity, eps = case
    state = ProviderAuction.start(rows, cols, vals, wanted, capacity)
    assert state.run(eps)
    held, n = state.held, wanted.shape[0]
    assert (np.bincount(rows[held], minlength=n) <= wanted).all()
    assert (np.bincount(cols[held], minlength=capacity.shape[0]) <= capacity).all()
    demand_price, provider_price = state.demand_price, state.provider_price()
    assert (demand_price >= 0).all()
    assert (provider_price >= 0).all()
    assert (np.bincount(rows[held], minlength=n)[demand_price > 0] == wanted[demand_price > 0]).all()
    full = np.bincount(cols[held], minlength=capacity.shape[0]) == capacity
    assert full[provider_price > 0].all()
    margin = vals - demand_price[rows] - provider_price[cols]
    open_pair = ~held & (wanted[rows] > 0) & (capacity[cols] > 0)
    assert float(margin[open_pair].max(initial=-np.inf)) <= eps + 1e-12


def test_a_price_war_grows_the_increment_and_ends() -> None:
    """Ten providers of one unit each chase five demands of near-equal value: the war escalates."""
    rng = np.random.default_rng(5)
    rows, cols = (g.ravel().astype(np.int64) for g in np.meshgrid(np.arange(5), np.arange(10), indexing="ij"))
    vals = 0.5 + rng.random(rows.shape[0]) * 1e-3
    wanted, capacity = np.ones(5, np.int64), np.ones(10, np.int64)
    fine = ProviderAuction.start(rows, cols, vals, wanted, capacity)
    assert fine.run(1e-9) == 1e-9
    state = ProviderAuction.start(rows, cols, vals, wanted, capacity)
    final = state.run(1e-9, coarsest=1e-5, bids_per_level=20)
    assert final == pytest.approx(1e-5)
    assert int(state.held.sum()) == 5


@pytest.mark.parametrize("seed", range(3))
def test_an_escalated_auction_is_finished_exactly(
    seed: int, served: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matcher._provider_auction, "_BIDS_PER_UNIT", 0.05)
    monkeypatch.setattr(matcher.solver, "_PROVIDER_AUCTION_EPS", 1e-9)
    affinity, problem = _random_mixed(70 + seed, ties=seed == 0)
    _solved_by_the_provider_auction(affinity, problem, served)


def test_windows_hold_each_providers_best_candidates_first() -> None:
    rng = np.random.default_rng(11)
    m = 6
    cols = rng.integers(0, m, 900).astype(np.int64)
    vals = np.round(rng.random(900), 2)  # ties across the window edge
    capacity = np.array([0, 1, 3, 5, 8, 2], np.int64)
    order, starts = _by_provider(cols, m)
    before = order.copy()
    window, beyond = _windows(order, starts, vals, capacity)
    for j in range(m):
        group = order[starts[j] : starts[j + 1]]
        assert sorted(group.tolist()) == sorted(before[starts[j] : starts[j + 1]].tolist())
        head, rest = vals[group[: window[j]]], vals[group[window[j] :]]
        assert window[j] == min(group.shape[0], capacity[j] + 1 + matcher._provider_auction._WINDOW_SLACK)
        assert (np.diff(head) <= 0).all()
        assert beyond[j] == rest.max(initial=-np.inf)
        assert head.min(initial=np.inf) >= beyond[j]


@pytest.mark.parametrize("seed", range(3))
def test_providers_with_long_candidate_lists_match_highs(seed: int, served: list[int]) -> None:
    """Hundreds of candidates per provider: bids are read from the windows, with fallbacks."""
    rng = np.random.default_rng(400 + seed)
    n, m = 240, 4
    affinity = sp.random_array((n, m), density=0.7, rng=rng, format="coo")
    if seed == 0:
        affinity.data = np.round(affinity.data * 8) / 8
    wanted = rng.choice([1, 2, 3], size=n, p=[0.6, 0.25, 0.15])
    problem = _free(rng.integers(1, 6, m), wanted)
    _solved_by_the_provider_auction(affinity, problem, served)


@pytest.mark.parametrize("seed", range(3))
def test_bids_past_the_windows_match_highs(seed: int, served: list[int]) -> None:
    """Every provider ranks the demands alike, so prices climb past the windows and bids read whole lists."""
    rng = np.random.default_rng(500 + seed)
    n, m = 70, 40
    affinity = sp.coo_array(rng.random(n)[:, None] * 0.5 + rng.random((n, m)) * 0.05)
    wanted = rng.choice([1, 2, 3], size=n, p=[0.5, 0.3, 0.2])
    problem = _free(rng.integers(1, 4, m), wanted)
    _solved_by_the_provider_auction(affinity, problem, served)
