"""Learning from staff decisions: accepted pairings strengthen a provider for similar demands.

Every decided pairing is an example: the demand's vector, the provider, and a sign (+1 when staff
accepted it, arranged contact (对接) or signed an agreement (签约); a fraction of -1 when they rejected
it). For a new demand, the ``neighbours`` most similar decided demands vote (each 1/``neighbours``) for
the providers their decisions name; a decided demand less similar than ``threshold`` does not vote.
Nearest neighbours, not an absolute kernel: e5 cosines of unrelated Chinese demands already sit around
0.85-0.9, so only the rank of a similarity says "similar". The votes, times ``weight``, are added to
the standardised fused score: a provider accepted for all of a demand's neighbours moves by ``weight``
standard deviations.

Nothing is learned in place: the examples are read from the decisions each time, so switching the
feature off, or undoing a decision, restores the ranking exactly, and every adjustment can be listed
with the decisions behind it (``adjustments``).

In the ranking, the decisions of one provider level are a :class:`FeedbackComponent` of the
:class:`matcher.index.ProviderIndex` (``matcher.index.with_feedback``): match lists, rounds and
``huiqi evaluate`` add it to the standardised mix in ``matcher.index.fuse``, before the calibration,
so the 匹配度 shown moves with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from matcher.errors import MatcherError

__all__ = [
    "Adjustment",
    "Decision",
    "FeedbackComponent",
    "FeedbackConfig",
    "Influence",
    "adjustments",
    "decision",
    "feedback_component",
    "feedback_scores",
    "influence",
]

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
# The id a demand without one (or without a vector) carries in the component's features.
NO_ID = -1


@dataclass(frozen=True)
class FeedbackConfig:
    """How much decisions move the ranking; the defaults were chosen by simulation on the demo demands
    through the service's ranking (``benchmarks/feedback_simulation.py``: weights 2, 3 and 4 reach the
    same acc@1 after three rounds, 2 the best hit@5; 1 gains about half as much).

    Parameters
    ----------
    weight : float
        Standard deviations added when every neighbour accepted the provider (0 switches learning off).
    neighbours : int
        Decided demands that vote for a new demand.
    threshold : float
        Cosine between demands below which a decided demand does not vote.
    reject_weight : float
        A rejection counts this share of an acceptance, negatively.
    """

    weight: float = 2.0
    neighbours: int = 10
    threshold: float = 0.85
    reject_weight: float = 0.5

    def __post_init__(self) -> None:
        valid = self.weight >= 0 and 0 <= self.reject_weight <= 1 and -1 <= self.threshold < 1
        if not valid or self.neighbours < 1:
            raise MatcherError(
                f"feedback needs weight >= 0, neighbours >= 1, reject_weight in [0, 1] and threshold in "
                f"[-1, 1); got {self.weight}, {self.neighbours}, {self.reject_weight}, {self.threshold}"
            )


@dataclass(frozen=True)
class Decision:
    """One decided pairing: the demand's vector, the provider column, accepted (True) or rejected."""

    demand_id: int
    vector: FloatArray
    column: int
    accepted: bool


@dataclass(frozen=True)
class Adjustment:
    """What one earlier decision adds to one provider's score for one demand."""

    column: int
    demand_id: int
    accepted: bool
    similarity: float
    amount: float


def _signs(decisions: Sequence[Decision], config: FeedbackConfig) -> FloatArray:
    return np.asarray([1.0 if d.accepted else -config.reject_weight for d in decisions], dtype=np.float32)


def _examples(decisions: Sequence[Decision]) -> tuple[FloatArray, IntArray]:
    """The decided demands' vectors (each demand once, its first vector) and their ids, in first order."""
    decided = list(dict.fromkeys(d.demand_id for d in decisions))
    first = {d.demand_id: d.vector for d in reversed(decisions)}
    examples = np.stack([np.asarray(first[i], dtype=np.float32) for i in decided]).astype(np.float32)
    return examples, np.asarray(decided, dtype=np.int64)


def _vote_matrix(
    queries: FloatArray, examples: FloatArray, decided: IntArray, config: FeedbackConfig, exclude: Any
) -> FloatArray:
    """Per demand (row), the vote (0 or 1/neighbours) of each decided demand (column).

    A demand never votes for itself (``exclude``: per row its own id, or ``NO_ID``).
    """
    if examples.shape[1] != queries.shape[1]:
        raise MatcherError(f"decision vectors have dimension {examples.shape[1]}, demands {queries.shape[1]}")
    similarity = np.asarray(queries @ examples.T, dtype=np.float32)
    if exclude is not None:
        similarity[np.asarray(exclude, dtype=np.int64)[:, None] == decided[None, :]] = -np.inf
    votes = np.zeros_like(similarity)
    if similarity.size == 0:
        return votes
    k = min(config.neighbours, decided.size)
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    rows = np.arange(queries.shape[0])[:, None]
    votes[rows, nearest] = 1.0 / config.neighbours
    votes[similarity < config.threshold] = 0.0
    return votes


def _votes(
    queries: FloatArray, decisions: Sequence[Decision], config: FeedbackConfig, exclude: Sequence[int] | None
) -> tuple[FloatArray, list[int]]:
    """Per demand, the vote (0 or 1/neighbours) of each decided demand, and the decided demands' ids."""
    examples, decided = _examples(decisions)
    return _vote_matrix(queries, examples, decided, config, exclude), [int(i) for i in decided]


def _outcome(
    decisions: Sequence[Decision], decided: IntArray, n_providers: int, config: FeedbackConfig
) -> sp.csr_matrix:
    """Decided demands x providers: the signs of their decisions (+1 accepted, -reject_weight rejected)."""
    columns = np.asarray([d.column for d in decisions], dtype=np.int64)
    if columns.min() < 0 or columns.max() >= n_providers:
        raise MatcherError(f"a decision names provider column {columns.max()} of {n_providers}")
    row_of = {int(demand_id): i for i, demand_id in enumerate(decided)}
    rows = np.asarray([row_of[d.demand_id] for d in decisions], dtype=np.int64)
    shape = (decided.size, n_providers)
    return sp.csr_matrix((_signs(decisions, config), (rows, columns)), shape=shape, dtype=np.float32)


def feedback_scores(
    queries: FloatArray,
    decisions: Sequence[Decision],
    n_providers: int,
    config: FeedbackConfig,
    exclude: Sequence[int] | None = None,
) -> FloatArray:
    """The adjustment of every provider for every demand, in standard deviations of the fused score.

    Parameters
    ----------
    queries : numpy.ndarray, shape (n_demands, dim)
        Unit vectors of the demands ranked.
    decisions : sequence of Decision
        Decided pairings.
    n_providers : int
        Columns of the result.
    config : FeedbackConfig
        Weight, neighbours and similarity threshold.
    exclude : sequence of int, optional
        Per ranked demand, its own id: a demand's own decisions never adjust its own ranking.

    Returns
    -------
    numpy.ndarray, shape (n_demands, n_providers), float32
    """
    if not decisions or config.weight == 0 or queries.shape[0] == 0:
        return np.zeros((queries.shape[0], n_providers), dtype=np.float32)
    examples, decided = _examples(decisions)
    outcome = _outcome(decisions, decided, n_providers, config)
    votes = _vote_matrix(queries.astype(np.float32), examples, decided, config, exclude)
    out: FloatArray = (config.weight * np.asarray((sp.csr_matrix(votes) @ outcome).toarray())).astype(
        np.float32
    )
    return out


def adjustments(
    query: FloatArray, decisions: Sequence[Decision], column: int, config: FeedbackConfig
) -> list[Adjustment]:
    """The decisions that move one provider for one demand, largest first (for the audit of a list).

    Parameters
    ----------
    query : numpy.ndarray, shape (dim,)
        The demand's unit vector.
    decisions : sequence of Decision
        Decided pairings.
    column : int
        The provider.
    config : FeedbackConfig
        Weight, neighbours and similarity threshold.

    Returns
    -------
    list of Adjustment
        Only decisions with a non-zero effect; their amounts add up to ``feedback_scores``.
    """
    if not decisions or config.weight == 0:
        return []
    votes, decided = _votes(query[None, :].astype(np.float32), decisions, config, None)
    vote = dict(zip(decided, votes[0], strict=True))
    signs = _signs(decisions, config)
    found = [
        Adjustment(
            column,
            d.demand_id,
            d.accepted,
            float(d.vector @ query),
            float(config.weight * vote[d.demand_id] * sign),
        )
        for d, sign in zip(decisions, signs, strict=True)
        if d.column == column and vote[d.demand_id] > 0
    ]
    return sorted(found, key=lambda a: -abs(a.amount))


@dataclass(frozen=True)
class Influence:
    """What one decided demand's decisions do now: how many ranked demands it votes for, and the
    largest amount it adds to (or takes from) one provider's score."""

    demand_id: int
    demands: int
    largest: float


def decision(demand_id: int, vector: bytes, column: int, accepted: bool) -> Decision:
    """A decision from a stored demand vector (float32 bytes, as ``matcher.dense`` stores them).

    Parameters
    ----------
    demand_id : int
        The decided demand.
    vector : bytes
        Its sentence vector.
    column : int
        The provider's column in the index.
    accepted : bool
        Accepted (or 对接, 签约) rather than rejected.

    Returns
    -------
    Decision
    """
    return Decision(demand_id, np.frombuffer(vector, dtype="<f4").astype(np.float32), column, accepted)


def influence(
    queries: FloatArray | Sequence[bytes],
    ids: Sequence[int],
    decisions: Sequence[Decision],
    config: FeedbackConfig,
) -> list[Influence]:
    """For each decided demand, the demands (of ``queries``) whose ranking its decisions move.

    Parameters
    ----------
    queries : numpy.ndarray, shape (n_demands, dim), or sequence of bytes
        Unit vectors of the demands that may be ranked (a demand's own decisions never count for it),
        or their stored float32 bytes.
    ids : sequence of int
        Their ids.
    decisions : sequence of Decision
        Decided pairings.
    config : FeedbackConfig
        Weight, neighbours and similarity threshold.

    Returns
    -------
    list of Influence
        One per decided demand, in the order of first appearance in ``decisions``; ``largest`` is
        ``weight / neighbours`` times the sign of its decision (an acceptance outweighs a rejection).
    """
    if not decisions:
        return []
    examples, decided = _examples(decisions)
    if not isinstance(queries, np.ndarray):
        stacked = [np.frombuffer(v, dtype="<f4") for v in queries]
        queries = np.stack(stacked) if stacked else np.zeros((0, examples.shape[1]), dtype=np.float32)
    if queries.shape[0] == 0 or config.weight == 0:
        votes = np.zeros((0, decided.size), dtype=np.float32)
    else:
        votes = _vote_matrix(np.asarray(queries, dtype=np.float32), examples, decided, config, ids)
    moved = np.count_nonzero(votes, axis=0)
    strongest: dict[int, float] = {}
    for decision, sign in zip(decisions, _signs(decisions, config), strict=True):
        amount = float(sign) * config.weight / config.neighbours
        kept = strongest.get(decision.demand_id)
        if kept is None or abs(amount) > abs(kept):
            strongest[decision.demand_id] = amount
    return [
        Influence(int(i), int(n), strongest[int(i)] if n else 0.0)
        for i, n in zip(decided, moved, strict=True)
    ]


# Field names of the features a FeedbackComponent reads per demand (a structured array: row-sliceable).
_FEATURES = ("vector", "id")


@dataclass(frozen=True, eq=False)
class FeedbackComponent:
    """Staff decisions of one provider level as a score component of the index.

    Unlike the other components its scores are not a share of the mix: they are added to it, in
    standard deviations of the mix (``matcher.index.fuse``, ``offsets``).

    Attributes
    ----------
    examples : ndarray of float32, shape (n_decided, dim)
        Unit vectors of the decided demands.
    decided : ndarray of int64, shape (n_decided,)
        Their ids.
    outcome : scipy.sparse.csr_matrix, shape (n_decided, n_providers)
        Signs of their decisions per provider.
    config : FeedbackConfig
    name : str
    """

    examples: FloatArray
    decided: IntArray
    outcome: sp.csr_matrix
    config: FeedbackConfig
    name: str = "staff_decisions"

    @property
    def weight(self) -> float:
        """Standard deviations a provider moves when every neighbour accepted it (not a share)."""
        return self.config.weight

    @property
    def dim(self) -> int:
        """Vector length."""
        return int(self.examples.shape[1])

    def encode(self, demands: Sequence[Any]) -> npt.NDArray[np.void]:
        """Each demand's stored vector and id (``DemandInput.vector`` / ``key``); zeros and ``NO_ID``
        for a demand without them: it gets no votes."""
        out = np.zeros(
            len(demands), dtype=[(_FEATURES[0], np.float32, (self.dim,)), (_FEATURES[1], np.int64)]
        )
        out[_FEATURES[1]] = NO_ID
        for row, demand in enumerate(demands):
            vector = getattr(demand, "vector", None)
            if vector is not None and len(vector) == 4 * self.dim:
                out[_FEATURES[0]][row] = np.frombuffer(vector, dtype="<f4")
            key = getattr(demand, "key", None)
            if key is not None:
                out[_FEATURES[1]][row] = key
        return out

    def scores(self, features: Any) -> FloatArray:
        """What the decisions add to each row's providers, in standard deviations of the mix."""
        queries = np.asarray(features[_FEATURES[0]], dtype=np.float32)
        votes = _vote_matrix(queries, self.examples, self.decided, self.config, features[_FEATURES[1]])
        out: FloatArray = (
            self.config.weight * np.asarray((sp.csr_matrix(votes) @ self.outcome).toarray())
        ).astype(np.float32)
        return out

    def restrict(self, rows: IntArray) -> FeedbackComponent:
        """The component over the providers ``rows`` only."""
        return replace(self, outcome=sp.csr_matrix(self.outcome[:, np.asarray(rows, dtype=np.int64)]))


def feedback_component(
    decisions: Sequence[Decision], n_providers: int, config: FeedbackConfig
) -> FeedbackComponent | None:
    """The decisions as a component of an index of ``n_providers`` providers; None when they cannot
    move anything (no decisions, or weight 0).

    Parameters
    ----------
    decisions : sequence of Decision
        Decided pairings; ``column`` is the provider's column in the index.
    n_providers : int
        Columns of the index.
    config : FeedbackConfig
        Weight, neighbours and similarity threshold.

    Returns
    -------
    FeedbackComponent or None
    """
    if not decisions or config.weight == 0:
        return None
    examples, decided = _examples(decisions)
    return FeedbackComponent(examples, decided, _outcome(decisions, decided, n_providers, config), config)
