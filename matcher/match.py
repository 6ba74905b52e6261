"""One call from demands to a certified assignment: ``match(index, demands, problem) -> MatchResult``.

Steps: demand vectors (``matcher.index``), each demand's top-k candidates over the index (the
threshold applies to the score shown), the pairs that are candidates whatever their rank (locked,
preferred, proposed by the previous round) at their exact score, the bonuses, then the exact solve with
certified widening (``matcher.widening.widen``): candidates are fetched again, twice as many, only for
demands whose dual prices say a pruned pair may pay. :func:`diagnose` explains the demands left
without a provider from the same result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from matcher.errors import ShapeMismatchError
from matcher.index import DemandVectors, ProviderIndex, demand_vectors, pair_scores, top_candidates
from matcher.types import DemandInput, MatchResult, Problem, Relaxation, Unserved
from matcher.widening import TopKFromMatrix, widen

__all__ = ["RELAXATIONS_SHOWN", "diagnose", "match"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# A forced pair that shares nothing with its demand keeps this tiny affinity, so it stays a candidate.
FORCED_FLOOR = 1e-9
GAP_TOLERANCE = 1e-9
RELAXATIONS_SHOWN = 20
DEMANDS_PER_RELAXATION = 5
# The first scoring keeps 2 ** KEPT_DOUBLINGS times the candidates asked for: on the 5,000 x 2,000
# round widening doubles k twice for some demands, and keeping 4x costs the top-k step little.
KEPT_DOUBLINGS = 2
# ... but at most this many per demand (memory: 100,000 demands x 100 pairs is about 120 MB in CSR).
KEPT_MOST = 100


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def match(
    index: ProviderIndex,
    demands: Sequence[DemandInput] | DemandVectors,
    problem: Problem,
    *,
    should_stop: Callable[[], bool] | None = None,
) -> MatchResult:
    """Match demands to the index's providers: candidates, bonuses, exact solve, certified widening.

    Parameters
    ----------
    index : ProviderIndex
    demands : sequence of DemandInput, or DemandVectors
        The demands (rows of the problem), or their vectors already made.
    problem : Problem
        Wanted numbers, capacities, pair constraints and bonuses in index space.
    should_stop : callable, optional
        Asked between steps and blocks; True raises :class:`matcher.errors.SolveCancelled`.

    Returns
    -------
    MatchResult
    """
    timings: dict[str, float] = {}
    with _timed(timings, "vectorize"):
        vectors = demands if isinstance(demands, DemandVectors) else demand_vectors(index, demands)
    _check(index, vectors, problem)
    n, m = vectors.n, index.n_providers
    capacity, wanted = _committed(problem, n, m)
    with _timed(timings, "candidates"):
        forced, bonus = _forced(index, vectors, problem, (n, m))

    def fetch(demands: IntArray, k: IntArray) -> sp.csr_matrix:
        return _fetch(index, vectors, demands, k, problem.min_score, should_stop)

    with _timed(timings, "candidates"):
        kept = _KeptCandidates(
            fetch, n, max(problem.candidates, min(problem.candidates << KEPT_DOUBLINGS, KEPT_MOST))
        )

    def source(demands: IntArray, k: IntArray) -> sp.csr_matrix:
        with _timed(timings, "candidates"):
            return kept(demands, k)

    fetching_before, solve_start = timings["candidates"], time.perf_counter()
    widening = widen(
        source,
        n,
        capacity,
        wanted,
        initial_k=problem.candidates,
        max_rounds=problem.max_widenings + 1,
        tolerance=GAP_TOLERANCE,
        forced=forced,
        bonus=bonus,
        should_stop=should_stop,
        forbidden=problem.forbidden if problem.forbidden.size else None,
        locked=problem.locked if problem.locked.size else None,
        depth_discount=_depth(problem, wanted),
    )
    # widen fetches candidates between solves: that time is the candidates step's, not the solver's
    timings["solve"] = time.perf_counter() - solve_start - (timings["candidates"] - fetching_before)
    return MatchResult(
        assignment=widening.assignment,
        scores=sp.csr_matrix(widening.candidates),
        affinity=sp.csr_matrix(widening.affinity),
        capacity=capacity,
        wanted=wanted,
        gap_bound=widening.gap_bound,
        widenings=widening.rounds - 1,
        certified=widening.certified,
        timings={name: round(value, 4) for name, value in timings.items()},
    )


class _KeptCandidates:
    """A candidate source that scores every demand once, keeping ``2 ** KEPT_DOUBLINGS`` times the
    first request's candidates: widening doubles ``k`` for the demands that need it, and those rows are
    then cut from what is kept (the same top-k) instead of being scored again. Requests beyond what is
    kept are scored anew."""

    def __init__(self, fetch: Callable[[IntArray, IntArray], sp.csr_matrix], n: int, k: int) -> None:
        self.fetch, self.k = fetch, k
        self.table = TopKFromMatrix(fetch(np.arange(n, dtype=np.int64), np.full(n, k, np.int64)))

    def __call__(self, demands: IntArray, k: IntArray) -> sp.csr_matrix:
        """Rows ``demands`` holding their ``k`` best candidates."""
        shape = (demands.size, self.table.shape[1])
        inside = np.flatnonzero(k <= self.k)
        if inside.size == demands.size:
            return sp.csr_matrix(self.table(demands, k))
        beyond = np.flatnonzero(k > self.k)
        parts = [(inside, sp.coo_matrix(self.table(demands[inside], k[inside])))]
        parts.append((beyond, sp.coo_matrix(self.fetch(demands[beyond], k[beyond]))))
        r, c, v = (
            np.concatenate(x) for x in zip(*((at[m.row], m.col, m.data) for at, m in parts), strict=True)
        )
        return sp.csr_matrix((v, (r, c)), shape=shape)


def _check(index: ProviderIndex, vectors: DemandVectors, problem: Problem) -> None:
    n, m = vectors.n, index.n_providers
    if problem.wanted.shape != (n,):
        raise ShapeMismatchError(f"wanted has {problem.wanted.size} entries but there are {n} demands")
    if problem.capacity.shape != (m,):
        raise ShapeMismatchError(f"capacity has {problem.capacity.size} entries but there are {m} providers")
    for name in ("forbidden", "locked", "preferred", "previous"):
        pairs = getattr(problem, name)
        if pairs.size and (pairs.min() < 0 or pairs[:, 0].max() >= n or pairs[:, 1].max() >= m):
            raise ShapeMismatchError(f"{name} holds a pair outside {n} demands x {m} providers")


def _committed(problem: Problem, n: int, m: int) -> tuple[IntArray, IntArray]:
    """Capacities and wanted numbers raised to what locked pairs already hold (commitments)."""
    held_by_provider = np.bincount(problem.locked[:, 1], minlength=m) if problem.locked.size else 0
    held_by_demand = np.bincount(problem.locked[:, 0], minlength=n) if problem.locked.size else 0
    capacity = np.maximum(problem.capacity, held_by_provider).astype(np.int64)
    wanted = np.maximum(problem.wanted, held_by_demand).astype(np.int64)
    return capacity, wanted


def _depth(problem: Problem, wanted: IntArray) -> FloatArray | None:
    """The depth weights of the slots that exist: as many as the largest wanted number, the last weight
    repeated. Weights past it weigh no slot; dropping them lets every demand that wants one provider
    take the solver's undiscounted path."""
    weights = problem.depth_discount
    if weights is None or weights.size == 0:
        return None
    longest = max(int(wanted.max(initial=1)), 1)
    padded = np.concatenate([weights, np.full(max(longest - weights.size, 0), weights[-1])])
    return np.asarray(padded[:longest], dtype=np.float64)


def _key_set(pairs: IntArray) -> set[tuple[int, int]]:
    return {(int(r), int(c)) for r, c in pairs}


def _forced(
    index: ProviderIndex, vectors: DemandVectors, problem: Problem, shape: tuple[int, int]
) -> tuple[sp.csr_matrix | None, sp.csr_matrix | None]:
    """Scores of the pairs that are candidates whatever their rank, and the bonuses on them."""
    forbidden = _key_set(problem.forbidden) - _key_set(problem.locked)
    forced = (_key_set(problem.locked) | _key_set(problem.preferred) | _key_set(problem.previous)) - forbidden
    if not forced:
        return None, None
    pairs = np.array(sorted(forced), dtype=np.int64)
    rows, cols = pairs[:, 0], pairs[:, 1]
    exact = np.maximum(pair_scores(index, vectors, rows, cols), FORCED_FLOOR)
    scores = sp.csr_matrix((exact, (rows, cols)), shape=shape)
    bonus = np.zeros(rows.size)
    for group, amount in (
        (problem.preferred, problem.preference_bonus),
        (problem.previous, problem.stability_bonus),
    ):
        if group.size and amount:
            keys = rows * shape[1] + cols
            bonus += amount * np.isin(keys, group[:, 0] * shape[1] + group[:, 1])
    return scores, sp.csr_matrix((bonus, (rows, cols)), shape=shape) if bonus.any() else None


def _fetch(
    index: ProviderIndex,
    vectors: DemandVectors,
    rows: IntArray,
    k: IntArray,
    min_score: float,
    should_stop: Callable[[], bool] | None,
) -> sp.csr_matrix:
    """Top ``k[r]`` candidates of demand ``rows[r]``, as rows of a (len(rows), n_providers) matrix."""
    parts: list[tuple[IntArray, IntArray, FloatArray]] = []
    for value in np.unique(k):
        chosen = np.flatnonzero(k == value)
        found = top_candidates(
            index, vectors.rows(rows[chosen]), int(value), min_score, should_stop=should_stop
        )
        coo = found.tocoo()
        parts.append((chosen[coo.row], coo.col.astype(np.int64), coo.data.astype(np.float64)))
    shape = (rows.size, index.n_providers)
    if not parts:
        return sp.csr_matrix(shape, dtype=np.float64)
    r, c, v = (np.concatenate(column) for column in zip(*parts, strict=True))
    return sp.csr_matrix((v, (r, c)), shape=shape)


def diagnose(result: MatchResult, problem: Problem) -> tuple[list[Unserved], list[Relaxation]]:
    """Why each unserved demand got no provider, and which capacity increases would serve whom.

    A demand with no candidate at all (no provider passes the threshold) is ``no_candidate``; one whose
    candidates are all forbidden is ``forbidden``; else every allowed candidate is full (``capacity``).
    Raising a full provider's capacity by one lets it take its best waiting demand, a feasible gain of
    that pair's affinity; relaxations are listed by that gain.

    Parameters
    ----------
    result : MatchResult
    problem : Problem
        The problem ``result`` solved.

    Returns
    -------
    unserved : list of Unserved
    relaxations : list of Relaxation
        At most ``RELAXATIONS_SHOWN``, the largest gain first.
    """
    affinity = sp.csr_matrix(result.affinity)
    forbidden = _key_set(problem.forbidden) - _key_set(problem.locked)
    full = result.assignment.provider_counts >= result.capacity
    unserved: list[Unserved] = []
    waiting: dict[int, list[tuple[float, int]]] = {}
    for row in np.flatnonzero(result.assignment.demand_counts == 0):
        start, stop = affinity.indptr[row], affinity.indptr[row + 1]
        cols, values = affinity.indices[start:stop], affinity.data[start:stop]
        allowed = [
            (int(c), float(v))
            for c, v in zip(cols, values, strict=True)
            if (int(row), int(c)) not in forbidden
        ]
        reason = "no_candidate" if cols.size == 0 else "forbidden" if not allowed else "capacity"
        unserved.append(Unserved(int(row), reason, int(cols.size)))
        for col, value in allowed if reason == "capacity" else []:
            if full[col]:
                waiting.setdefault(col, []).append((value, int(row)))
    relaxations = [
        Relaxation(
            col=col,
            capacity=int(result.capacity[col]),
            price=float(result.assignment.certificate.provider_price[col]),
            gain=max(demands)[0],
            serves=tuple((row, gain) for gain, row in sorted(demands, reverse=True)[:DEMANDS_PER_RELAXATION]),
            waiting=len(demands),
        )
        for col, demands in waiting.items()
    ]
    relaxations.sort(key=lambda item: (-item.gain, item.col))
    return unserved, relaxations[:RELAXATIONS_SHOWN]
