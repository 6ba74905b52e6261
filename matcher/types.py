"""Frozen result types of the assignment solver: the assignment and its optimality certificate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Assignment", "Certificate"]

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
