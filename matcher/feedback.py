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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.errors import MatcherError

__all__ = ["Adjustment", "Decision", "FeedbackConfig", "adjustments", "feedback_scores"]

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FeedbackConfig:
    """How much decisions move the ranking; the defaults were chosen by simulation on the demo demands.

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

    weight: float = 1.0
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


def _votes(
    queries: FloatArray, decisions: Sequence[Decision], config: FeedbackConfig, exclude: Sequence[int] | None
) -> tuple[FloatArray, list[int]]:
    """Per demand, the vote (0 or 1/neighbours) of each decided demand, and the decided demands' ids."""
    decided = list(dict.fromkeys(d.demand_id for d in decisions))
    first = {d.demand_id: d.vector for d in reversed(decisions)}
    examples = np.stack([first[i] for i in decided]).astype(np.float32)
    if examples.shape[1] != queries.shape[1]:
        raise MatcherError(f"decision vectors have dimension {examples.shape[1]}, demands {queries.shape[1]}")
    similarity = queries @ examples.T
    if exclude is not None:
        similarity[np.asarray(exclude)[:, None] == np.asarray(decided)[None, :]] = -np.inf
    k = min(config.neighbours, len(decided))
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    votes = np.zeros_like(similarity)
    rows = np.arange(queries.shape[0])[:, None]
    votes[rows, nearest] = 1.0 / config.neighbours
    votes[similarity < config.threshold] = 0.0
    return votes, decided


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
    columns = np.asarray([d.column for d in decisions], dtype=np.int64)
    if columns.min() < 0 or columns.max() >= n_providers:
        raise MatcherError(f"a decision names provider column {columns.max()} of {n_providers}")
    votes, decided = _votes(queries, decisions, config, exclude)
    row_of = {demand_id: i for i, demand_id in enumerate(decided)}
    outcome = np.zeros((len(decided), n_providers), dtype=np.float32)
    rows = np.asarray([row_of[d.demand_id] for d in decisions], dtype=np.int64)
    np.add.at(outcome, (rows, columns), _signs(decisions, config))
    out: FloatArray = (config.weight * votes @ outcome).astype(np.float32)
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
