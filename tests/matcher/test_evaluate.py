"""Metrics: ranks with ties, acc@1 / hit@5 / MRR / macro acc@1 and bootstrap intervals."""

import numpy as np
import pytest
import scipy.sparse as sp

from matcher.errors import ShapeMismatchError
from matcher.evaluate import gold_ranks, metrics_from_ranks, paired_difference


def test_gold_ranks_take_the_best_gold_and_count_ties_against_it() -> None:
    scores = sp.csr_matrix(
        np.array(
            [
                [0.9, 0.5, 0.1, 0.0],  # gold 0 first
                [0.9, 0.5, 0.1, 0.0],  # gold {2, 1}: 1 is second
                [0.3, 0.3, 0.3, 0.3],  # all tied: last
                [0.9, 0.0, 0.0, 0.0],  # gold 3 not scored
            ]
        )
    )
    gold = [frozenset({0}), frozenset({2, 1}), frozenset({1}), frozenset({3})]
    np.testing.assert_array_equal(gold_ranks(scores, gold), [1, 2, 4, np.inf])


def test_metrics_by_hand() -> None:
    metrics = metrics_from_ranks([1, 2, 6, np.inf], [0, 0, 1, 1], n_resamples=200)
    assert metrics.n == 4
    assert metrics.acc_at_1 == 0.25
    assert metrics.hit_at_5 == 0.5
    assert metrics.mrr == pytest.approx((1 + 1 / 2 + 1 / 6) / 4)
    assert metrics.macro_acc_at_1 == pytest.approx((0.5 + 0.0) / 2)
    assert metrics.headline() == {"n": 4, "acc_at_1": 0.25, "hit_at_5": 0.5, "mrr": metrics.mrr}


def test_intervals_contain_the_estimate_and_shrink_with_more_data() -> None:
    rng = np.random.default_rng(1)
    small = metrics_from_ranks(rng.integers(1, 10, 50), rng.integers(0, 5, 50))
    large = metrics_from_ranks(rng.integers(1, 10, 5000), rng.integers(0, 5, 5000))
    for metrics in (small, large):
        for name in ("acc_at_1", "hit_at_5", "mrr", "macro_acc_at_1"):
            interval = metrics.intervals[name]
            assert interval.low <= getattr(metrics, name) <= interval.high
    small_width = small.intervals["mrr"].high - small.intervals["mrr"].low
    large_width = large.intervals["mrr"].high - large.intervals["mrr"].low
    assert large_width < small_width / 4


def test_seeded_and_deterministic() -> None:
    ranks, groups = [1, 3, 1, 8, 2], [0, 1, 1, 2, 0]
    assert metrics_from_ranks(ranks, groups, seed=3) == metrics_from_ranks(ranks, groups, seed=3)


def test_errors() -> None:
    with pytest.raises(ShapeMismatchError, match="gold has 1 entries"):
        gold_ranks(sp.csr_matrix((2, 3)), [frozenset({0})])
    with pytest.raises(ShapeMismatchError, match="non-empty"):
        metrics_from_ranks([], [])
    with pytest.raises(ShapeMismatchError):
        metrics_from_ranks([1, 2], [0])


def test_paired_difference_by_hand_and_its_interval() -> None:
    a = np.array([1, 2, 1, 6, 3] * 40, dtype=float)
    b = np.array([1, 1, 1, 1, 3] * 40, dtype=float)
    delta = paired_difference(a, b, n_resamples=300)
    assert delta["acc_at_1"].value == pytest.approx(0.4)
    assert delta["hit_at_5"].value == pytest.approx(0.2)
    assert delta["mrr"].value == pytest.approx((1 / 2 + 5 / 6) / 5)
    assert 0 < delta["acc_at_1"].interval.low <= 0.4 <= delta["acc_at_1"].interval.high
    same = paired_difference(a, a, n_resamples=50)["mrr"]
    assert (same.value, same.interval.low, same.interval.high) == (0.0, 0.0, 0.0)


def test_paired_difference_refuses_unequal_ranks() -> None:
    with pytest.raises(ShapeMismatchError, match="two equal"):
        paired_difference([1, 2], [1, 2, 3])
