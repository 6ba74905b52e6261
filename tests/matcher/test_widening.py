"""Certified candidate widening: it reaches the full-candidate optimum and its gap bound is a true bound."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from matcher import Assignment, ShapeMismatchError, SolveCancelled, TopKFromMatrix, assign, widen

WEIGHTS = np.array([1.0, 0.7, 0.4])


def _instance(seed: int) -> tuple[sp.csr_array, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(20, 60)), int(rng.integers(5, 15))
    dense = rng.random((n, m)) * (rng.random((n, m)) < 0.8)
    if seed % 3 == 0:  # ties
        dense = np.round(dense * 4) / 4
    rows, cols = np.nonzero(rng.random((n, m)) < 0.8)
    scores = sp.csr_array((dense[rows, cols], (rows, cols)), shape=(n, m))
    problem: dict[str, Any] = {
        "capacity": rng.integers(0, 5, m),
        "max_per_demand": rng.choice([1, 2, 3], size=n, p=[0.6, 0.25, 0.15]),
    }
    if seed % 2:
        problem["min_per_demand"] = np.minimum(rng.integers(0, 3, n), problem["max_per_demand"])
    if seed % 4 >= 2:
        problem["depth_discount"] = WEIGHTS
    return scores, problem


def _value(result: Assignment, scores: sp.csr_array, problem: dict[str, Any]) -> float:
    """The objective widening certifies: discounted when a depth discount is given."""
    if "depth_discount" not in problem:
        return result.objective
    dense = scores.toarray()
    total = 0.0
    for i in np.unique(result.pairs[:, 0]):
        got = np.sort(dense[i, result.pairs[result.pairs[:, 0] == i, 1]])[::-1]
        total += float(np.dot(WEIGHTS[: got.size], got))
    return total


def _coverage(result: Assignment, problem: dict[str, Any]) -> int:
    floors = problem.get("min_per_demand", np.zeros_like(result.demand_counts))
    return int(np.minimum(result.demand_counts, floors).sum())


@pytest.mark.parametrize("seed", range(16))
def test_widening_reaches_the_full_candidate_optimum(seed: int) -> None:
    scores, problem = _instance(seed)
    full = assign(scores, **problem)
    out = widen(TopKFromMatrix(scores), scores.shape[0], initial_k=1, max_rounds=10, **problem)
    assert out.certified
    assert out.gap_bound <= 1e-9 * max(1.0, full.objective)
    assert _coverage(out.assignment, problem) == _coverage(full, problem)
    assert _value(out.assignment, scores, problem) == pytest.approx(_value(full, scores, problem), rel=1e-9)
    assert out.candidates.nnz < scores.nnz or out.k.max() >= scores.shape[1]


@pytest.mark.parametrize("seed", range(40))
def test_gap_bound_bounds_the_true_gap(seed: int) -> None:
    scores, problem = _instance(seed)
    full = _value(assign(scores, **problem), scores, problem)
    for k in (1, 2, 4):
        out = widen(TopKFromMatrix(scores), scores.shape[0], initial_k=k, max_rounds=1, **problem)
        gap = full - _value(out.assignment, scores, problem)
        assert gap <= out.gap_bound + 1e-9 * max(1.0, full), (k, gap, out.gap_bound)
        assert out.certified == (out.gap_bound <= 1e-9 * max(1.0, out.assignment.objective)) or (
            out.assignment.unmet_floors.any()
        )


def test_pruning_that_loses_value_is_not_certified() -> None:
    # demand 0's best provider is taken by demand 1, whose only other candidate is pruned at k=1
    scores = sp.csr_array(np.array([[0.9, 0.8], [1.0, 0.95]]))
    out = widen(TopKFromMatrix(scores), 2, capacity=[1, 1], initial_k=1, max_rounds=1)
    assert out.assignment.objective == pytest.approx(1.0)
    assert not out.certified
    assert out.gap_bound >= 1.75 - 1.0
    widened = widen(TopKFromMatrix(scores), 2, capacity=[1, 1], initial_k=1, max_rounds=3)
    assert widened.certified
    assert widened.assignment.objective == pytest.approx(1.85)


def test_gap_bound_counts_every_free_slot_of_a_demand() -> None:
    # one demand wanting 3 of 3 equal providers; k=1 keeps one, the two pruned ones are worth 2.0
    scores = sp.csr_array(np.ones((1, 3)))
    out = widen(TopKFromMatrix(scores), 1, capacity=[1, 1, 1], max_per_demand=3, initial_k=1, max_rounds=1)
    assert out.assignment.objective == pytest.approx(1.0)
    assert out.gap_bound >= 2.0


def test_source_with_wrong_row_count_raises() -> None:
    def three_rows(demands: np.ndarray, k: np.ndarray) -> sp.csr_array:
        return sp.csr_array(np.ones((3, 2)))

    with pytest.raises(ShapeMismatchError, match="source returned 3 rows but n_demands is 4"):
        widen(three_rows, 4, capacity=[1, 1])


@pytest.mark.parametrize("seed", range(24))
def test_forced_pairs_and_bonuses_keep_the_bound_honest(seed: int) -> None:
    """Pairs that are candidates whatever their rank (locks, preferences, earlier proposals) hold low
    scores; they must not lower the bound of the pairs pruned from a demand's top k."""
    scores, problem = _instance(seed)
    rng = np.random.default_rng(1000 + seed)
    coo = scores.tocoo()
    pick = rng.random(coo.nnz) < 0.15
    forced = sp.csr_array((coo.data[pick], (coo.row[pick], coo.col[pick])), shape=scores.shape)
    bonus = sp.csr_array((np.full(int(pick.sum()), 0.05), (coo.row[pick], coo.col[pick])), shape=scores.shape)
    affinity = sp.csr_array(scores + bonus)
    full = _value(assign(affinity, **problem), affinity, problem)
    for k in (1, 2, 4):
        out = widen(
            TopKFromMatrix(scores),
            scores.shape[0],
            initial_k=k,
            max_rounds=1,
            forced=forced,
            bonus=bonus,
            **problem,
        )
        gap = full - _value(out.assignment, affinity, problem)
        assert gap <= out.gap_bound + 1e-9 * max(1.0, full), (k, gap, out.gap_bound)


def test_a_demand_wanting_three_gets_the_wanted_factor_in_its_bound() -> None:
    # The round's old copy dropped the factor: 0.9 instead of 2.7 (true gap 1.8).
    scores = sp.csr_array(np.full((1, 4), 0.9))
    out = widen(TopKFromMatrix(scores), 1, capacity=[1, 1, 1, 1], max_per_demand=3, initial_k=1, max_rounds=1)
    assert out.assignment.objective == pytest.approx(0.9)
    assert out.gap_bound >= 1.8 - 1e-9


def test_should_stop_ends_widening_with_a_matcher_error() -> None:
    scores, problem = _instance(1)
    with pytest.raises(SolveCancelled):
        widen(TopKFromMatrix(scores), scores.shape[0], initial_k=1, should_stop=lambda: True, **problem)


def test_a_low_forced_pair_does_not_certify_a_pruned_better_one() -> None:
    # k = 1 keeps 0.9 (a full provider); the forced pair scores 0.05; the pruned 0.8 is the optimum.
    scores = sp.csr_array(np.array([[0.9, 0.8, 0.05]]))
    forced = sp.csr_array(np.array([[0.0, 0.0, 0.05]]))
    out = widen(TopKFromMatrix(scores), 1, capacity=[0, 1, 1], initial_k=1, max_rounds=1, forced=forced)
    assert out.assignment.objective == pytest.approx(0.05)
    assert not out.certified
    assert out.gap_bound >= 0.8 - 0.05
    widened = widen(TopKFromMatrix(scores), 1, capacity=[0, 1, 1], initial_k=1, max_rounds=3, forced=forced)
    assert widened.certified
    assert widened.assignment.objective == pytest.approx(0.8)


def test_should_stop_reaches_the_solver_through_its_progress_callback() -> None:
    scores, problem = _instance(2)
    asked: list[bool] = []

    def stop_once_solving() -> bool:
        asked.append(True)
        return len(asked) > 1  # no before the solve, yes when the solver reports progress

    with pytest.raises(SolveCancelled):
        widen(TopKFromMatrix(scores), scores.shape[0], initial_k=2, should_stop=stop_once_solving, **problem)
    assert len(asked) >= 2


def test_a_widening_whose_added_pairs_are_priced_out_keeps_the_assignment() -> None:
    from matcher.widening import _still_optimal

    rows = np.array([0, 1])  # both rows may have changed

    # Two providers of capacity 1, both taken by their best demands at 0.9; a demand's added pair at
    # 0.05 to a full provider cannot pay, one at 0.95 can; a chosen pair that left the candidates
    # always calls for a new solve.
    solved = sp.csr_array(np.array([[0.9, 0.0], [0.0, 0.9]]))
    result = assign(solved, [1, 1])
    assert sorted(map(tuple, result.pairs.tolist())) == [(0, 0), (1, 1)]
    priced_out = sp.csr_array(np.array([[0.9, 0.05], [0.0, 0.9]]))
    assert _still_optimal(result, solved, priced_out, rows, {})
    paying = sp.csr_array(np.array([[0.9, 0.0], [0.95, 0.9]]))
    assert not _still_optimal(result, solved, paying, rows, {})
    assert _still_optimal(result, solved, paying, rows, {"forbidden": [[1, 0]]})
    lost = sp.csr_array(np.array([[0.0, 0.05], [0.0, 0.9]]))
    assert not _still_optimal(result, solved, lost, rows, {})
    assert not _still_optimal(result, solved, priced_out, rows, {"min_per_demand": 1})
    out = widen(TopKFromMatrix(priced_out), 2, capacity=[1, 1], initial_k=1, max_rounds=3)
    assert out.certified
    assert out.assignment.objective == pytest.approx(1.8)
