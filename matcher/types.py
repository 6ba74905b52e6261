"""Frozen inputs and results of matching: providers and demands as the index reads them, the
assignment and its optimality certificate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Assignment",
    "Certificate",
    "DemandInput",
    "MatchResult",
    "PairScore",
    "Problem",
    "ProviderInput",
    "Relaxation",
    "Unserved",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Certificate:
    """Dual prices proving that an assignment is optimal over its candidate pairs.

    The prices are node potentials of the min-cost-flow network behind the assignment. A demand's
    k-th slot is priced at ``slot_price[i, k]`` (the value of the affinity it already secures at the
    margin), a provider's capacity at ``provider_price[j]``. A pair (i, j) with affinity ``a`` could
    improve the objective only if its *reduced profit*
    ``max_k(depth_weights[k] * a - slot_price[i, k]) - provider_price[j]`` is positive; for every
    candidate pair that was not chosen it is at most ``tolerance``, for every chosen pair at least
    ``-tolerance``. That is the linear-programming complementary slackness condition, so no
    assignment over the same candidates has a larger objective.

    Attributes
    ----------
    slot_price : ndarray of float, shape (n_demands, n_slots)
        Potential of each demand slot; ``inf`` where a demand has no free slot in the network.
    provider_price : ndarray of float, shape (n_providers,)
        Price of one unit of provider capacity; positive only for providers that are full.
    demand_price : ndarray of float, shape (n_demands,)
        Potential of each demand node (equals ``slot_price[:, 0]`` without a depth discount).
    floor_price : float
        Price of one unit of floor coverage (0 when no floors were given).
    depth_weights : ndarray of float, shape (n_slots,)
        Weight of a demand's 1st, 2nd, ... provider (all ones without a depth discount).
    tolerance : float
        Absolute slack allowed in the reduced-cost conditions (float rounding).
    """

    slot_price: FloatArray
    provider_price: FloatArray
    demand_price: FloatArray
    floor_price: float
    depth_weights: FloatArray
    tolerance: float

    def reduced_profit(
        self, demands: NDArray[np.integer], providers: NDArray[np.integer], affinities: FloatArray
    ) -> FloatArray:
        """Gain per unit from forcing each pair (demand, provider) into the assignment.

        Parameters
        ----------
        demands, providers : array_like of int, shape (n,)
            Pair indices; the pairs need not be candidates.
        affinities : array_like of float, shape (n,)
            Affinity each pair would have.

        Returns
        -------
        ndarray of float, shape (n,)
            Positive values mark pairs that could raise the objective; a value <= 0 explains
            "why not this provider": the demand's slots and the provider's capacity are worth more.
        """
        demands = np.asarray(demands, dtype=np.int64)
        affinities = np.asarray(affinities, dtype=np.float64)
        weighted = affinities[:, None] * self.depth_weights[None, :] - self.slot_price[demands]
        return np.asarray(weighted.max(axis=1) - self.provider_price[np.asarray(providers)], np.float64)


@dataclass(frozen=True, eq=False)
class Assignment:
    """An optimal capacity-constrained assignment of providers to demands.

    Attributes
    ----------
    pairs : ndarray of int64, shape (n_pairs, 2)
        Chosen (demand, provider) index pairs, sorted by demand then provider; no pair repeats.
    objective : float
        Sum of the chosen pairs' affinities (before any depth discount).
    demand_counts : ndarray of int64, shape (n_demands,)
        Number of providers given to each demand.
    provider_counts : ndarray of int64, shape (n_providers,)
        Number of demands served by each provider.
    unmet_floors : ndarray of int64, shape (n_demands,)
        How far each demand stays below its floor (all zero when every floor is met or none given).
    certificate : Certificate
        Dual prices proving optimality over the candidate pairs.
    """

    pairs: IntArray
    objective: float
    demand_counts: IntArray
    provider_counts: IntArray
    unmet_floors: IntArray
    certificate: Certificate

    @property
    def n_pairs(self) -> int:
        """Number of chosen pairs."""
        return int(self.pairs.shape[0])


@dataclass(frozen=True)
class ProviderInput:
    """One provider as the index reads it.

    Attributes
    ----------
    id : int
        The provider's id (kept in the index's column order).
    name : str
        Its name (tokenized when the index is fitted; it weighs as a field of the profile).
    capacity : int
        How many demands it can take in a round, by default.
    documents : tuple of str
        Its texts (remit, an expert's papers, a society's branches' scopes).
    tokens : tuple of tuple of str, optional
        The stored terms of each document (tokenized at intake); None tokenizes the documents.
    chunks : tuple of (str, bytes), optional
        The sentence-encoded chunks of its documents (text, float32 vector bytes), encoded once when
        the documents were written; None (or empty) when not encoded (yet).
    """

    id: int
    name: str
    capacity: int
    documents: tuple[str, ...]
    tokens: tuple[tuple[str, ...], ...] | None = None
    chunks: tuple[tuple[str, bytes], ...] | None = None


@dataclass(frozen=True)
class DemandInput:
    """One demand as the index reads it: its stored terms and, for the character model, its texts.

    Attributes
    ----------
    tokens : mapping of str to sequence of str
        Field name -> terms (fields of ``features.profiles.DEMAND``, tokenized at intake).
    texts : mapping of str to str or None
        Field name -> raw text; read only by score components that read text (the character SVM).
    vector : bytes, optional
        Its sentence vector (float32 bytes), encoded once after intake; None while pending: the
        dense component then leaves its ranking to the sparse scores.
    key : int, optional
        The demand's id among decided demands (``matcher.feedback``): its own decisions never move its
        own ranking.
    """

    tokens: Mapping[str, Sequence[str]]
    texts: Mapping[str, str | None] = field(default_factory=dict)
    vector: bytes | None = None
    key: int | None = None


def _pairs(values: ArrayLike | None) -> IntArray:
    return np.asarray(values if values is not None else [], dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True, eq=False)
class Problem:
    """What a round asks of the matcher, in index space (demand rows, provider columns).

    Build it with :meth:`build`, which takes plain sequences.

    Attributes
    ----------
    wanted : ndarray of int64, shape (n_demands,)
        Providers wanted per demand.
    capacity : ndarray of int64, shape (n_providers,)
        Capacity of each provider in this round.
    forbidden, locked, preferred, previous : ndarray of int64, shape (n, 2)
        Pairs never proposed; pairs always kept (commitments: they are honoured even beyond a
        capacity or wanted number); pairs the enterprise prefers (``preference_bonus``); pairs
        proposed by the previous round (``stability_bonus``).
    depth_discount : ndarray of float64 or None
        Weight of a demand's 1st, 2nd ... provider (the last one repeats).
    candidates : int
        Candidates fetched per demand at first (widened where the certificate says it may pay).
    min_score : float
        A provider scoring less is no candidate.
    preference_bonus, stability_bonus : float
        Added to the affinity of preferred and previously proposed pairs.
    max_widenings : int
        Most widenings after the first solve.
    """

    wanted: IntArray
    capacity: IntArray
    forbidden: IntArray
    locked: IntArray
    preferred: IntArray
    previous: IntArray
    depth_discount: FloatArray | None = None
    candidates: int = 20
    min_score: float = 0.0
    preference_bonus: float = 0.0
    stability_bonus: float = 0.0
    max_widenings: int = 4

    @classmethod
    def build(
        cls,
        *,
        wanted: ArrayLike,
        capacity: ArrayLike,
        forbidden: ArrayLike | None = None,
        locked: ArrayLike | None = None,
        preferred: ArrayLike | None = None,
        previous: ArrayLike | None = None,
        depth_discount: ArrayLike | None = None,
        candidates: int = 20,
        min_score: float = 0.0,
        preference_bonus: float = 0.0,
        stability_bonus: float = 0.0,
        max_widenings: int = 4,
    ) -> Problem:
        """A problem from plain sequences (lists of ints, of (row, column) pairs, of floats).

        Parameters
        ----------
        wanted, capacity, forbidden, locked, preferred, previous, depth_discount, candidates, min_score,
        preference_bonus, stability_bonus, max_widenings
            As the attributes.

        Returns
        -------
        Problem
        """
        depth = None if depth_discount is None else np.asarray(depth_discount, dtype=np.float64)
        return cls(
            wanted=np.asarray(wanted, dtype=np.int64).ravel(),
            capacity=np.asarray(capacity, dtype=np.int64).ravel(),
            forbidden=_pairs(forbidden),
            locked=_pairs(locked),
            preferred=_pairs(preferred),
            previous=_pairs(previous),
            depth_discount=depth if depth is None or depth.size else None,
            candidates=int(candidates),
            min_score=float(min_score),
            preference_bonus=float(preference_bonus),
            stability_bonus=float(stability_bonus),
            max_widenings=int(max_widenings),
        )


@dataclass(frozen=True)
class PairScore:
    """One chosen pair: demand row, provider column, its ranking score."""

    row: int
    col: int
    score: float


@dataclass(frozen=True)
class Unserved:
    """Why a demand got no provider.

    ``reason`` is ``no_candidate`` (no provider passes the threshold), ``forbidden`` (every candidate is
    forbidden) or ``capacity`` (every allowed candidate is full).
    """

    row: int
    reason: str
    candidates: int


@dataclass(frozen=True)
class Relaxation:
    """One more unit of a full provider's capacity, and whom it would serve.

    ``serves`` holds (demand row, gain) of the unserved demands waiting for it, the largest gain first;
    ``price`` is the certificate's price of one unit of its capacity.
    """

    col: int
    capacity: int
    price: float
    gain: float
    serves: tuple[tuple[int, float], ...]
    waiting: int


@dataclass(frozen=True, eq=False)
class MatchResult:
    """The outcome of :func:`matcher.match`.

    Attributes
    ----------
    assignment : Assignment
        Optimal over the candidates, certified.
    scores : scipy.sparse.csr_matrix, shape (n_demands, n_providers)
        The ranking score of every candidate pair (the score a match list shows).
    affinity : scipy.sparse.csr_matrix
        ``scores`` plus the preference and stability bonuses: what the assignment maximises.
    capacity, wanted : ndarray of int64
        Capacities and wanted numbers solved with (commitments included).
    gap_bound : float
        Upper bound on what the objective could still gain from every pair left out of the
        candidates; 0 when nothing left out could help.
    widenings : int
        Candidate widenings after the first solve.
    certified : bool
        Whether ``gap_bound`` is within tolerance.
    timings : dict of str to float
        Seconds per step (``vectorize``, ``candidates``, ``solve``).
    """

    assignment: Assignment
    scores: Any
    affinity: Any
    capacity: IntArray
    wanted: IntArray
    gap_bound: float
    widenings: int
    certified: bool
    timings: dict[str, float]

    def chosen(self) -> list[PairScore]:
        """The chosen pairs with their ranking scores, by demand row then score (best first)."""
        pairs = self.assignment.pairs
        if pairs.size == 0:
            return []
        rows, cols = pairs[:, 0], pairs[:, 1]
        values = np.asarray(self.scores[rows, cols], dtype=np.float64).ravel()
        order = np.lexsort((cols, -values, rows))
        return [PairScore(int(rows[i]), int(cols[i]), float(values[i])) for i in order]
