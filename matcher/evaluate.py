"""Ranking quality: acc@1, hit@5, MRR and macro acc@1 with 95 % bootstrap intervals. Pure numpy/scipy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from matcher.errors import ShapeMismatchError

__all__ = ["Difference", "Interval", "Metrics", "gold_ranks", "metrics_from_ranks", "paired_difference"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Interval:
    """A two-sided percentile bootstrap interval."""

    low: float
    high: float


@dataclass(frozen=True)
class Metrics:
    """Ranking quality over ``n`` demands, each with its bootstrap interval in ``intervals``."""

    n: int
    acc_at_1: float
    hit_at_5: float
    mrr: float
    macro_acc_at_1: float
    intervals: dict[str, Interval]

    def headline(self) -> dict[str, float | int]:
        """The four headline figures, as ``huiqi evaluate --json`` prints them."""
        return {"n": self.n, "acc_at_1": self.acc_at_1, "hit_at_5": self.hit_at_5, "mrr": self.mrr}


@dataclass(frozen=True)
class Difference:
    """A paired difference of one metric (system B minus system A) with its bootstrap interval."""

    value: float
    interval: Interval


def gold_ranks(scores: sp.spmatrix, gold: Sequence[frozenset[int]]) -> FloatArray:
    """1-based rank of the best-ranked gold provider of each demand; ``inf`` when no gold one is scored.

    Ties are counted against the gold provider: its rank is one plus the number of other providers
    scoring at least as much, so a constant ranking earns no credit.

    Parameters
    ----------
    scores : sparse matrix, shape (n_demands, n_providers)
        Positive scores of the ranked providers (absent means not ranked).
    gold : sequence of frozenset of int
        The correct provider columns of each demand.

    Returns
    -------
    ndarray of float, shape (n_demands,)
    """
    if len(gold) != scores.shape[0]:
        raise ShapeMismatchError(f"gold has {len(gold)} entries but scores have {scores.shape[0]} rows")
    matrix = sp.csr_matrix(scores)
    ranks = np.full(len(gold), np.inf)
    for row, wanted in enumerate(gold):
        start, stop = matrix.indptr[row], matrix.indptr[row + 1]
        columns, values = matrix.indices[start:stop], matrix.data[start:stop]
        is_gold = np.isin(columns, list(wanted))
        if is_gold.any():
            best = values[is_gold].max()
            ranks[row] = 1 + np.count_nonzero(values[~is_gold] >= best)
    return ranks


def _macro(hits: FloatArray, groups: npt.NDArray[np.int64]) -> float:
    """Mean over groups of the mean hit within the group."""
    counts = np.bincount(groups)
    present = counts > 0
    return float((np.bincount(groups, weights=hits)[present] / counts[present]).mean())


def metrics_from_ranks(
    ranks: npt.ArrayLike, groups: npt.ArrayLike, *, n_resamples: int = 1000, seed: int = 0
) -> Metrics:
    """Headline metrics and their 95 % percentile bootstrap intervals (demands resampled).

    Parameters
    ----------
    ranks : array-like of float, shape (n,)
        Output of ``gold_ranks``.
    groups : array-like of int, shape (n,)
        Class of each demand (its first gold provider), for macro acc@1.
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the resampling.

    Returns
    -------
    Metrics
    """
    rank = np.asarray(ranks, dtype=np.float64)
    group = np.asarray(groups, dtype=np.int64)
    if rank.shape != group.shape or rank.ndim != 1 or rank.size == 0:
        raise ShapeMismatchError(
            f"need equal, non-empty ranks and groups, got {rank.shape} and {group.shape}"
        )
    per_demand = _per_demand(rank)
    samples = np.random.default_rng(seed).integers(0, rank.size, size=(n_resamples, rank.size))
    intervals = {name: _interval(values[samples].mean(axis=1)) for name, values in per_demand.items()}
    hits = per_demand["acc_at_1"]
    intervals["macro_acc_at_1"] = _interval(np.array([_macro(hits[s], group[s]) for s in samples]))
    return Metrics(
        n=int(rank.size),
        acc_at_1=float(hits.mean()),
        hit_at_5=float(per_demand["hit_at_5"].mean()),
        mrr=float(per_demand["mrr"].mean()),
        macro_acc_at_1=_macro(hits, group),
        intervals=intervals,
    )


def _per_demand(rank: FloatArray) -> dict[str, FloatArray]:
    return {"acc_at_1": (rank <= 1).astype(float), "hit_at_5": (rank <= 5).astype(float), "mrr": 1 / rank}


def paired_difference(
    ranks_a: npt.ArrayLike, ranks_b: npt.ArrayLike, *, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Difference]:
    """B minus A on acc@1, hit@5 and MRR over the same demands, with paired 95 % bootstrap intervals.

    Each resample draws demands and scores both systems on the same draw, so the interval reflects
    how much the two rankings disagree, not how hard the demands are: two systems whose separate
    intervals overlap can still differ beyond noise.

    Parameters
    ----------
    ranks_a, ranks_b : array-like of float, shape (n,)
        ``gold_ranks`` of the two systems on the same demands, in the same order.
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the resampling.

    Returns
    -------
    dict of str to Difference
        Keys ``acc_at_1``, ``hit_at_5``, ``mrr``.
    """
    a, b = np.asarray(ranks_a, dtype=np.float64), np.asarray(ranks_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ShapeMismatchError(f"need two equal, non-empty rank vectors, got {a.shape} and {b.shape}")
    samples = np.random.default_rng(seed).integers(0, a.size, size=(n_resamples, a.size))
    per_a, per_b = _per_demand(a), _per_demand(b)
    differences = {name: per_b[name] - per_a[name] for name in per_a}
    return {
        name: Difference(float(delta.mean()), _interval(delta[samples].mean(axis=1)))
        for name, delta in differences.items()
    }


def _interval(values: FloatArray) -> Interval:
    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(float(low), float(high))
