"""Independent check of an assignment and its certificate: feasibility and complementary slackness."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from matcher.solver._problem import (
    BoolArray,
    FloatArray,
    IntArray,
    _positions,
    _Problem,
    _Residual,
    _residual,
    _validate,
    _within_row_rank,
)
from matcher.types import Assignment, Certificate


def certificate_violation(
    assignment: Assignment,
    affinity: Any,
    capacity: ArrayLike,
    max_per_demand: ArrayLike = 1,
    *,
    min_per_demand: ArrayLike | None = None,
    forbidden: ArrayLike | None = None,
    locked: ArrayLike | None = None,
    depth_discount: ArrayLike | None = None,
) -> float:
    """Largest violation of feasibility or of the optimality conditions of ``assignment``.

    Takes the same problem arguments as :func:`assign`. Returns ``inf`` if the assignment breaks a
    constraint (capacity, wanted number, forbidden, locked, repeated or non-candidate pair), else the
    largest violation of complementary slackness by its certificate. A value at most
    ``assignment.certificate.tolerance`` proves the assignment optimal over the candidates.

    Parameters
    ----------
    assignment : Assignment
        The answer to check (typically from :func:`assign`).
    affinity, capacity, max_per_demand, min_per_demand, forbidden, locked, depth_discount
        The problem, as passed to :func:`assign`.

    Returns
    -------
    float
        The violation; ``<= tolerance`` means certified optimal.
    """
    prob = _validate(affinity, capacity, max_per_demand, min_per_demand, forbidden, locked, depth_discount)
    chosen = _chosen_mask(prob, assignment.pairs)
    if chosen is None:
        return float("inf")
    res, _ = _residual(prob)
    if not _coverage_is_maximal(prob, res, chosen):
        return float("inf")
    cert = assignment.certificate
    return max(_pair_violation(prob, res, chosen, cert), _node_violation(prob, res, chosen, cert))


def _chosen_mask(prob: _Problem, pairs: IntArray) -> BoolArray | None:
    """Mask of chosen free candidates, or None when the pairs break a constraint."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    width = max(prob.m, 1)
    keys = pairs[:, 0] * width + pairs[:, 1]
    if np.unique(keys).shape[0] != keys.shape[0]:
        return None
    free = np.isin(keys, prob.rows * width + prob.cols)
    is_locked = np.isin(keys, prob.locked[:, 0] * width + prob.locked[:, 1])
    if not (free | is_locked).all() or int(is_locked.sum()) != prob.locked.shape[0]:
        return None
    if (np.bincount(pairs[:, 0], minlength=prob.n) > prob.wanted).any():
        return None
    if (np.bincount(pairs[:, 1], minlength=prob.m) > prob.capacity).any():
        return None
    return np.isin(prob.rows * width + prob.cols, keys)


def _coverage_is_maximal(prob: _Problem, res: _Residual, chosen: BoolArray) -> bool:
    if prob.floors is None:
        return True
    counts = np.bincount(np.concatenate([prob.rows[chosen], prob.locked[:, 0]]), minlength=prob.n)
    locked_d = np.bincount(prob.locked[:, 0], minlength=prob.n)
    best = res.coverage + (0 if res.keeps_locked else int(np.minimum(locked_d, prob.floors).sum()))
    return int(np.minimum(counts, prob.floors).sum()) >= best


def _network_pairs(
    prob: _Problem, res: _Residual, chosen: BoolArray
) -> tuple[IntArray, IntArray, FloatArray, BoolArray, BoolArray]:
    """All free candidates (and locked pairs when the network keeps them) with their chosen flags."""
    rows, cols, vals, fixed = prob.rows, prob.cols, prob.vals, np.zeros(prob.rows.shape[0], bool)
    if res.keeps_locked:
        rows = np.concatenate([rows, prob.locked[:, 0]])
        cols = np.concatenate([cols, prob.locked[:, 1]])
        vals = np.concatenate([vals, prob.locked_vals])
        fixed = np.concatenate([fixed, np.ones(prob.locked.shape[0], bool)])
        chosen = np.concatenate([chosen, np.ones(prob.locked.shape[0], bool)])
    return rows, cols, vals, fixed, chosen


def _pair_violation(prob: _Problem, res: _Residual, chosen: BoolArray, cert: Certificate) -> float:
    rows, cols, vals, fixed, picked = _network_pairs(prob, res, chosen)
    active = np.concatenate([res.active, np.ones(rows.shape[0] - res.active.shape[0], bool)])
    unchosen = np.flatnonzero(active & ~picked)
    worst = float(cert.reduced_profit(rows[unchosen], cols[unchosen], vals[unchosen]).max(initial=-np.inf))
    used = np.flatnonzero(picked)
    depth = _positions(rows, vals, picked, prob.n)[used] if prob.weights is not None else np.zeros_like(used)
    weighted = vals[used, None] * cert.depth_weights[None, :] - cert.slot_price[rows[used]]
    at_depth = weighted[np.arange(used.shape[0]), depth]
    worst = max(worst, float((weighted.max(axis=1) - at_depth).max(initial=-np.inf)))
    free = ~fixed[used]
    return max(worst, float((cert.provider_price[cols[used]][free] - at_depth[free]).max(initial=-np.inf)))


def _node_violation(prob: _Problem, res: _Residual, chosen: BoolArray, cert: Certificate) -> float:
    rows, cols, _, _, picked = _network_pairs(prob, res, chosen)
    counts = np.bincount(rows[picked], minlength=prob.n)
    loads = np.bincount(cols[picked], minlength=prob.m)
    on = res.slots > 0
    pi_d, pi_h = cert.demand_price[on], -cert.floor_price
    floors = res.floors[on] if res.floors is not None else np.zeros(int(on.sum()), np.int64)
    served = np.minimum(counts[on], floors)
    extra = counts[on] - served
    checks = [
        np.where(extra < res.slots[on] - floors, pi_d, -np.inf),
        np.where(extra > 0, -pi_d, -np.inf),
        np.where(served < floors, pi_d - pi_h, -np.inf),
        np.where(served > 0, pi_h - pi_d, -np.inf),
    ]
    if res.floors is not None:
        checks.append(np.array([pi_h if served.sum() < floors.sum() else -np.inf]))
        checks.append(np.array([-pi_h if served.sum() > res.coverage else -np.inf]))
    open_ = res.capacity > 0
    price = cert.provider_price[open_]
    checks += [
        np.where(loads[open_] < res.capacity[open_], price, -np.inf),
        np.where(loads[open_] > 0, -price, -np.inf),
    ]
    if prob.weights is not None:
        checks += _slot_checks(res.slots, counts, cert)
    return float(max(c.max(initial=-np.inf) for c in checks))


def _slot_checks(slots: IntArray, counts: IntArray, cert: Certificate) -> list[FloatArray]:
    owner = np.repeat(np.arange(slots.shape[0]), slots)
    depth = _within_row_rank(owner, slots.shape[0])
    pi_t, pi_d = cert.slot_price[owner, depth], cert.demand_price[owner]
    used = depth < counts[owner]
    return [np.where(used, pi_d - pi_t, -np.inf), np.where(~used, pi_t - pi_d, -np.inf)]
