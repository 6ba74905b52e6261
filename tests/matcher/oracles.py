"""Reference solvers for the assignment tests: exhaustive search and HiGHS mixed-integer programs."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from functools import cache

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp


def brute_force(
    affinity: np.ndarray,
    candidate: np.ndarray,
    capacity: np.ndarray,
    wanted: np.ndarray,
    floors: np.ndarray,
    weights: np.ndarray,
) -> tuple[int, float]:
    """Best (floor coverage, discounted affinity) by dynamic programming over demands."""
    n, m = affinity.shape

    @cache
    def best(i: int, left: tuple[int, ...]) -> tuple[int, float]:
        if i == n:
            return (0, 0.0)
        top = (-1, -np.inf)
        options = [j for j in range(m) if candidate[i, j]]
        for size in range(int(wanted[i]) + 1):
            for chosen in itertools.combinations(options, size):
                if any(left[j] == 0 for j in chosen):
                    continue
                rest = tuple(c - (j in chosen) for j, c in enumerate(left))
                cov, val = best(i + 1, rest)
                scores = sorted((affinity[i, j] for j in chosen), reverse=True)
                gain = sum(w * s for w, s in zip(weights, scores, strict=False))
                top = max(top, (cov + min(size, int(floors[i])), val + gain))
        return top

    return best(0, tuple(int(c) for c in capacity))


def milp_optimum(
    affinity: sp.coo_array,
    capacity: np.ndarray,
    wanted: np.ndarray,
    floors: np.ndarray,
    forbidden: np.ndarray,
    locked: np.ndarray,
) -> tuple[int, float]:
    """Lexicographic (coverage, affinity) optimum with HiGHS: x per candidate pair, y per floor unit."""
    n, m = affinity.shape
    e = affinity.nnz
    rows, cols = affinity.row, affinity.col
    lo, hi = np.zeros(e), np.ones(e)
    keys = rows * m + cols
    lo[np.isin(keys, locked[:, 0] * m + locked[:, 1])] = 1
    hi[np.isin(keys, forbidden[:, 0] * m + forbidden[:, 1])] = 0
    demand = sp.csr_array((np.ones(e), (rows, np.arange(e))), shape=(n, e))
    provider = sp.csr_array((np.ones(e), (cols, np.arange(e))), shape=(m, e))
    cover = sp.hstack([-demand, sp.eye_array(n)])  # y_i <= sum_j x_ij
    base = [
        LinearConstraint(sp.hstack([demand, sp.csr_array((n, n))]), -np.inf, wanted),
        LinearConstraint(sp.hstack([provider, sp.csr_array((m, n))]), -np.inf, capacity),
        LinearConstraint(cover, -np.inf, 0),
    ]
    bounds = Bounds(np.concatenate([lo, np.zeros(n)]), np.concatenate([hi, floors]))
    options = {"mip_rel_gap": 0.0}
    first = milp(
        np.concatenate([np.zeros(e), -np.ones(n)]),
        constraints=base,
        bounds=bounds,
        integrality=np.ones(e + n),
        options=options,
    )
    coverage = round(-first.fun)
    keep = LinearConstraint(np.concatenate([np.zeros(e), np.ones(n)])[None, :], coverage, np.inf)
    second = milp(
        np.concatenate([-affinity.data, np.zeros(n)]),
        constraints=[*base, keep],
        bounds=bounds,
        integrality=np.ones(e + n),
        options=options,
    )
    return coverage, -second.fun


def milp_value(affinity: sp.coo_array, problem: Mapping[str, np.ndarray]) -> float:
    """HiGHS optimum of a problem without floors, given as ``assign``'s keyword arguments."""
    wanted = np.asarray(problem["max_per_demand"])
    zero_floors = np.zeros(affinity.shape[0], np.int64)
    _, value = milp_optimum(
        affinity, problem["capacity"], wanted, zero_floors, problem["forbidden"], problem["locked"]
    )
    return value
