"""Certified candidate widening: fetch more candidates only where the dual prices say it may pay.

Scoring every demand against every provider is the expensive part of matching, so callers keep each
demand's top-k candidates. Top-k pruning must not lose optimality silently: after solving over the
kept candidates, the certificate prices every demand's slots. A pruned pair of demand ``i`` scores at
most ``bound_i``, the lowest score kept for ``i``; it can raise the objective only if
``depth_weight[t] * bound_i`` exceeds the price of slot ``t`` of demand ``i``. Raising those slot
prices until no pruned pair can profit gives a feasible dual of the unpruned problem, so

    optimum - objective <= gap_bound = sum_i sum_t (weight[t] * bound_i - slot_price[i, t])^+

(without a discount one price covers all ``r_i`` slots of a demand, so its term counts ``r_i`` times).
With floors the same argument keeps the hub arc's lower bound, the coverage reached over the kept
candidates, so the bound holds against every assignment covering at least as many floor units, the
lexicographic optimum over all candidates included. Coverage itself may still rise by widening, so a
demand below its floor with more candidates to fetch keeps the result uncertified.

:func:`widen` fetches more candidates for the demands with a positive term (and for demands below
their floor) and stops when the bound is within tolerance or the budget is spent. The certificate
prices the pairs a widening adds: when none of them could pay, the assignment is still optimal and is
kept (its prices give the next bound); else it solves again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from matcher.errors import ShapeMismatchError, SolveCancelled
from matcher.solver import SolveProgress, assign
from matcher.types import Assignment, Certificate

__all__ = ["CandidateSource", "TopKFromMatrix", "Widening", "widen"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


class CandidateSource(Protocol):
    """Callable returning the ``k[r]`` best-scored providers of each demand ``demands[r]``."""

    def __call__(self, demands: IntArray, k: IntArray) -> sp.csr_array:
        """Return a (len(demands), n_providers) sparse matrix of scores, at most k[r] in row r."""
        ...


class TopKFromMatrix:
    """A :class:`CandidateSource` over a precomputed score matrix (for tests and small problems).

    Parameters
    ----------
    scores : scipy.sparse matrix, shape (n_demands, n_providers)
        All scores; the source hands out each row's ``k`` largest stored entries.
    """

    def __init__(self, scores: Any) -> None:
        coo = sp.coo_array(scores)
        order = np.lexsort((-coo.data, coo.row))
        self.rows, self.cols, self.vals = coo.row[order], coo.col[order], coo.data[order].astype(np.float64)
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(self.rows, minlength=coo.shape[0]))])
        self.shape = (int(coo.shape[0]), int(coo.shape[1]))

    def __call__(self, demands: IntArray, k: IntArray) -> sp.csr_array:
        """Rows ``demands`` holding their ``k`` best scores."""
        take = np.minimum(k, self.starts[demands + 1] - self.starts[demands])
        local = np.repeat(np.arange(demands.shape[0]), take)
        within = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
        at = self.starts[demands][local] + within
        return sp.csr_array((self.vals[at], (local, self.cols[at])), shape=(demands.shape[0], self.shape[1]))


@dataclass(frozen=True, eq=False)
class Widening:
    """Outcome of :func:`widen`.

    Attributes
    ----------
    assignment : Assignment
        Optimal assignment over ``candidates``.
    candidates : scipy.sparse.csr_array
        The candidate scores finally used (fetched pairs and forced pairs).
    affinity : scipy.sparse.csr_array
        ``candidates`` plus the bonus: what the assignment maximises.
    k : ndarray of int64
        Candidates requested per demand in the last round.
    gap_bound : float
        Upper bound on how much the objective (discounted, if a discount is given) could still rise if
        every pruned pair were added; 0 when every demand's candidates are exhausted.
    rounds : int
        Candidate rounds: the first fetch and each widening (a widening needs no new solve when the
        certificate already prices every added pair out).
    certified : bool
        Whether ``gap_bound`` is within the tolerance and no unmet floor could still be covered.
    """

    assignment: Assignment
    candidates: sp.csr_array
    affinity: sp.csr_array
    k: IntArray
    gap_bound: float
    rounds: int
    certified: bool


def _headroom(cert: Certificate, bound: FloatArray, slots: IntArray) -> FloatArray:
    """Per demand: sum over its slots of what a pruned pair scoring ``bound`` could gain."""
    price = np.maximum(cert.slot_price, 0.0)
    gain = np.maximum(bound[:, None] * cert.depth_weights[None, :] - price, 0.0)
    gain[np.arange(gain.shape[1])[None, :] >= slots[:, None]] = 0.0
    total = np.nan_to_num(gain, nan=0.0, posinf=0.0).sum(axis=1)
    if cert.depth_weights.shape[0] == 1:  # one price covers all of a demand's slots: each may gain
        total = total * slots
    return np.asarray(total, np.float64)


def _replace_rows(matrix: sp.csr_array, demands: IntArray, rows: sp.csr_array) -> sp.csr_array:
    old = sp.coo_array(matrix)
    keep = ~np.isin(old.row, demands)
    new = sp.coo_array(rows)
    data = np.concatenate([old.data[keep], new.data])
    r = np.concatenate([old.row[keep], demands[new.row]])
    c = np.concatenate([old.col[keep], new.col])
    return sp.csr_array((data, (r, c)), shape=matrix.shape)


def _with_forced(fetched: sp.csr_array, forced: sp.csr_array | None) -> sp.csr_array:
    """The fetched candidates plus the forced pairs (a pair in both keeps its one score)."""
    if forced is None or forced.nnz == 0:
        return fetched
    present = sp.csr_array(fetched.multiply(forced.astype(bool)))
    return sp.csr_array(fetched - present + forced)


def widen(
    source: CandidateSource,
    n_demands: int,
    capacity: ArrayLike,
    max_per_demand: ArrayLike = 1,
    *,
    initial_k: int = 20,
    max_rounds: int = 6,
    tolerance: float = 1e-9,
    forced: Any = None,
    bonus: Any = None,
    should_stop: Callable[[], bool] | None = None,
    **problem: Any,
) -> Widening:
    """Solve over top-k candidates, widening k only where the certificate says a pruned pair may pay.

    Parameters
    ----------
    source : CandidateSource
        ``source(demands, k)`` returns the ``k[r]`` best-scored providers of ``demands[r]``; a row
        holding ``k[r]`` scores says that every provider left out scores at most its smallest one.
    n_demands : int
        Number of demands.
    capacity, max_per_demand
        As for :func:`matcher.assign`.
    initial_k : int, default 20
        Candidates fetched per demand in the first round; doubled per round where needed.
    max_rounds : int, default 6
        Most solves.
    tolerance : float, default 1e-9
        Relative gap (to the objective) accepted as certified.
    forced : sparse matrix, optional
        Scores of pairs that are candidates whatever their rank (locked, preferred, earlier pairs).
        They do not count towards a row's ``k``, so they never weaken the bound of pruned pairs.
    bonus : sparse matrix, optional
        Added to the affinity of some candidate pairs; it must be zero outside ``forced`` (a pruned pair
        then scores its plain score, which the bound covers).
    should_stop : callable, optional
        Asked before every solve and by the solver's progress callback while it runs; True raises
        :class:`matcher.errors.SolveCancelled`.
    **problem
        ``min_per_demand``, ``forbidden``, ``locked``, ``depth_discount`` as for :func:`matcher.assign`.

    Returns
    -------
    Widening
        The assignment, the candidates used, the remaining gap bound and whether it is certified.
    """
    demands = np.arange(n_demands, dtype=np.int64)
    wanted = np.broadcast_to(np.asarray(max_per_demand, np.int64), (n_demands,))
    k = np.full(n_demands, max(int(initial_k), 1), np.int64)
    fetched = sp.csr_array(source(demands, k))
    if fetched.shape[0] != n_demands:
        raise ShapeMismatchError(f"source returned {fetched.shape[0]} rows but n_demands is {n_demands}")
    forced_pairs = None if forced is None else sp.csr_array(forced)
    extra = None if bonus is None else sp.csr_array(bonus)
    result: Assignment | None = None
    solved_over: sp.csr_array | None = None
    changed = np.zeros(0, np.int64)  # rows widened since the last solve
    for rounds in range(1, max_rounds + 1):
        if should_stop is not None and should_stop():
            raise SolveCancelled("matching was cancelled")
        candidates = _with_forced(fetched, forced_pairs)
        affinity = candidates if extra is None or extra.nnz == 0 else sp.csr_array(candidates + extra)
        if (
            result is None
            or solved_over is None
            or not _still_optimal(result, solved_over, affinity, changed, problem)
        ):
            result = assign(affinity, capacity, max_per_demand, callback=_stopper(should_stop), **problem)
            solved_over, changed = affinity, np.zeros(0, np.int64)
        nnz = np.diff(fetched.indptr)
        open_ = nnz >= k  # a full row may hide more candidates
        bound = np.where(nnz > 0, _row_min(fetched), 0.0)
        gain = np.where(open_, _headroom(result.certificate, bound, wanted), 0.0)
        gap = float(gain.sum())
        short = open_ & (result.unmet_floors > 0)
        certified = gap <= tolerance * max(abs(result.objective), 1.0) and not short.any()
        need = np.flatnonzero(open_ & ((gain > 0) | short))
        if certified or need.size == 0 or rounds == max_rounds:
            return Widening(result, candidates, affinity, k, gap, rounds, certified)
        k[need] *= 2
        changed = np.union1d(changed, need)
        fetched = _replace_rows(fetched, need, sp.csr_array(source(need, k[need])))
    raise AssertionError("unreachable")  # pragma: no cover


def _still_optimal(
    result: Assignment, solved: sp.csr_array, widened: sp.csr_array, rows: IntArray, problem: Any
) -> bool:
    """Whether ``result``, solved over the candidates ``solved``, stays optimal over ``widened``, which
    differs from it in ``rows`` only (only those rows are compared: a round widens a few hundred).

    Widening only adds candidates (rows keep their best ones); the assignment's certificate prices
    every added pair, and when none has a positive reduced profit the prices still prove the
    assignment optimal, so solving again would return an assignment of the same objective. Floors are
    left to a new solve (coverage over the added pairs is a different question).
    """
    if problem.get("min_per_demand") is not None:
        return False
    width = max(int(widened.shape[1]), 1)
    old, new = sp.coo_array(sp.csr_array(solved)[rows]), sp.coo_array(sp.csr_array(widened)[rows])
    old_keys = rows[old.row] * width + old.col
    new_keys = rows[new.row] * width + new.col
    mine = np.isin(result.pairs[:, 0], rows)
    chosen = result.pairs[mine, 0] * width + result.pairs[mine, 1]
    if not np.isin(chosen, new_keys).all():  # a chosen pair left the candidates
        return False
    added = ~np.isin(new_keys, old_keys)
    forbidden = problem.get("forbidden")
    if forbidden is not None and len(forbidden):
        pairs = np.asarray(forbidden, np.int64).reshape(-1, 2)
        added &= ~np.isin(new_keys, pairs[:, 0] * width + pairs[:, 1])
    if not added.any():
        return True
    cert = result.certificate
    profit = cert.reduced_profit(rows[new.row[added]], new.col[added], new.data[added])
    return bool(profit.max() <= cert.tolerance)


def _stopper(should_stop: Callable[[], bool] | None) -> Callable[[SolveProgress], bool] | None:
    """The solver's progress callback that stops it when ``should_stop`` says so."""
    if should_stop is None:
        return None
    return lambda _progress: should_stop()


def _row_min(matrix: sp.csr_array) -> FloatArray:
    """Smallest stored value per row (0 for empty rows)."""
    out = np.zeros(matrix.shape[0])
    nonempty = np.diff(matrix.indptr) > 0
    out[nonempty] = np.minimum.reduceat(matrix.data, matrix.indptr[:-1][nonempty])
    return out
