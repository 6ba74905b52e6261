"""Validated input of the solver and what the optimisation still decides once locked pairs are placed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from matcher.errors import (
    CandidatePairError,
    CapacityError,
    ConflictError,
    DemandBoundError,
    DepthDiscountError,
    InvalidAffinityError,
    PairListError,
    ShapeMismatchError,
)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class _Problem:
    """Validated input; candidate pairs exclude forbidden and locked pairs, grouped by demand."""

    n: int
    m: int
    rows: IntArray
    cols: IntArray
    vals: FloatArray
    rank: IntArray  # position of each candidate within its demand, best first
    locked: IntArray  # (n_locked, 2)
    locked_vals: FloatArray
    wanted: IntArray
    floors: IntArray | None
    capacity: IntArray
    weights: FloatArray | None

    @property
    def scale(self) -> float:
        top = max(float(self.vals.max(initial=0.0)), float(self.locked_vals.max(initial=0.0)))
        return max(top, 1.0)


def _entries(
    affinity: Any, report: Callable[[str], None], block: int
) -> tuple[tuple[int, int], IntArray, IntArray, FloatArray]:
    """Entries as int64 rows and columns and float64 values; CSR input is unpacked by blocks."""
    if not sp.issparse(affinity):
        raise InvalidAffinityError(
            f"affinity must be a scipy.sparse matrix or array, got {type(affinity).__name__}"
        )
    if affinity.ndim != 2:
        raise InvalidAffinityError(f"affinity must be 2-D, got {affinity.ndim}-D")
    if not np.issubdtype(affinity.dtype, np.number) or np.issubdtype(affinity.dtype, np.complexfloating):
        raise InvalidAffinityError(f"affinity must hold real numbers, got dtype {affinity.dtype}")
    if affinity.format != "csr":
        coo = sp.coo_array(affinity)
        return coo.shape, coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
    indptr = np.asarray(affinity.indptr, np.int64)
    size = int(indptr[-1])
    rows, cols, vals = np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size, np.float64)
    step = max(1, block * affinity.shape[0] // max(size, 1))  # about ``block`` entries per step
    for first in range(0, affinity.shape[0], step):
        last = min(first + step, affinity.shape[0])
        lo, hi = int(indptr[first]), int(indptr[last])
        rows[lo:hi] = np.repeat(np.arange(first, last, dtype=np.int64), np.diff(indptr[first : last + 1]))
        cols[lo:hi] = affinity.indices[lo:hi]
        vals[lo:hi] = affinity.data[lo:hi]
        report("validate")
    return affinity.shape, rows, cols, vals


def _check_values(rows: IntArray, cols: IntArray, vals: FloatArray) -> None:
    bad = ~np.isfinite(vals)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvalidAffinityError(f"affinity holds {vals[k]} at ({rows[k]}, {cols[k]}); it must be finite")
    negative = vals < 0
    if negative.any():
        k = int(np.flatnonzero(negative)[0])
        raise InvalidAffinityError(
            f"affinity holds the negative value {vals[k]} at ({rows[k]}, {cols[k]}); affinities must be >= 0"
        )


def _canonical_pairs(
    affinity: Any, report: Callable[[str], None], block: int
) -> tuple[int, int, IntArray, IntArray, FloatArray]:
    """Stored entries sorted by demand then affinity (best first); duplicates are an error.

    Every step runs over blocks of about ``block`` entries with a progress report (a chance to cancel)
    after each: at 5 million candidates one pass over them all takes longer than a report may wait.
    """
    shape, rows, cols, vals = _entries(affinity, report, block)
    n, m = int(shape[0]), int(shape[1])
    top, grouped = 0.0, True
    for start in range(0, rows.shape[0], block):
        part = vals[start : start + block]
        _check_values(rows[start : start + block], cols[start : start + block], part)
        top = max(top, float(part.max(initial=0.0)))
        grouped = grouped and bool((np.diff(rows[max(start - 1, 0) : start + block]) >= 0).all())
        report("validate")
    order = _by_demand_best_first(rows, vals, top, grouped, report, block)
    rows, cols, vals = _take(order, (rows, cols, vals), report, block)
    if not (affinity.format in ("csr", "csc") and affinity.has_canonical_format):  # else none is repeated
        _reject_duplicate_pairs(rows, cols, m, "affinity", InvalidAffinityError)
    return n, m, rows, cols, vals


def _take(
    order: IntArray, arrays: tuple[IntArray, IntArray, FloatArray], report: Callable[[str], None], block: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """``a[order]`` for each array, by blocks of ``order``."""
    out = tuple(np.empty(order.shape[0], a.dtype) for a in arrays)
    for start in range(0, order.shape[0], block):
        part = order[start : start + block]
        for a, o in zip(arrays, out, strict=True):
            o[start : start + block] = a[part]
        report("validate")
    return out  # type: ignore[return-value]


def _by_demand_best_first(
    rows: IntArray, vals: FloatArray, top: float, grouped: bool, report: Callable[[str], None], block: int
) -> IntArray:
    """Order grouping entries by demand, larger affinities first within a demand.

    One sort on a float key, the demand plus a fraction in [0, 1/2] that falls as the affinity rises
    (two stable sorts cost three times as much). Affinities closer than the key's resolution (1e-11
    relative at 100,000 demands) may come out in either order: within-demand order only guides the
    restricted problem and the engine choice, never the answer. Entries already grouped by demand
    (CSR input, ``grouped``) are sorted in blocks of whole demands, with a progress report after each
    block; ``top`` is the largest affinity.
    """
    scale = 0.5 / top if top > 0 else 0.0
    if rows.shape[0] <= block or not grouped:
        return np.asarray(np.argsort(rows + (0.5 - scale * vals)), np.int64)
    order = np.empty(rows.shape[0], np.int64)
    cuts = np.searchsorted(rows, rows[::block][1:], side="left")
    for start, stop in zip(np.r_[0, cuts], np.r_[cuts, rows.shape[0]], strict=True):
        order[start:stop] = start + np.argsort(rows[start:stop] + (0.5 - scale * vals[start:stop]))
        report("validate")
    return order


def _reject_duplicate_pairs(
    rows: IntArray, cols: IntArray, m: int, name: str, error: type[Exception]
) -> None:
    keys = rows * max(m, 1) + cols
    uniq, counts = np.unique(keys, return_counts=True)
    if (counts > 1).any():
        key = int(uniq[np.flatnonzero(counts > 1)[0]])
        raise error(f"{name} stores the pair ({key // max(m, 1)}, {key % max(m, 1)}) more than once")


def _int_vector(
    value: ArrayLike, length: int, name: str, columns_of: str, error: type[Exception]
) -> IntArray:
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = np.full(length, arr)
    if arr.ndim != 1:
        raise error(f"{name} must be a scalar or 1-D, got {arr.ndim}-D")
    if arr.shape[0] != length:
        raise ShapeMismatchError(f"{name} has {arr.shape[0]} entries but affinity has {length} {columns_of}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise error(f"{name} must hold integers, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        raise error(f"{name} must hold whole numbers")
    out = arr.astype(np.int64)
    if (out < 0).any():
        k = int(np.flatnonzero(out < 0)[0])
        raise error(f"{name}[{k}] is {out[k]}; it must be >= 0")
    return out


def _pair_list(value: ArrayLike | None, n: int, m: int, name: str) -> IntArray:
    if value is None:
        return np.zeros((0, 2), dtype=np.int64)
    arr = np.asarray(value)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise PairListError(f"{name} must have shape (n, 2), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise PairListError(f"{name} must hold integer indices, got dtype {arr.dtype}")
    pairs = arr.astype(np.int64)
    outside = (pairs[:, 0] < 0) | (pairs[:, 0] >= n) | (pairs[:, 1] < 0) | (pairs[:, 1] >= m)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        raise PairListError(
            f"{name}[{k}] = ({pairs[k, 0]}, {pairs[k, 1]}) is out of range for affinity of shape ({n}, {m})"
        )
    _reject_duplicate_pairs(pairs[:, 0], pairs[:, 1], m, name, PairListError)
    return pairs


def _member(rows: IntArray, cols: IntArray, pairs: IntArray, m: int) -> BoolArray:
    """Which (rows, cols) appear in ``pairs``."""
    width = max(m, 1)
    return np.isin(rows * width + cols, pairs[:, 0] * width + pairs[:, 1])


def _depth_weights(depth_discount: ArrayLike | None, wanted: IntArray) -> FloatArray | None:
    if depth_discount is None:
        return None
    w = np.asarray(depth_discount, dtype=np.float64)
    if w.ndim != 1:
        raise DepthDiscountError(f"depth_discount must be 1-D, got {w.ndim}-D")
    most = int(wanted.max(initial=0))
    if w.shape[0] < most:
        raise DepthDiscountError(f"depth_discount has {w.shape[0]} entries but max_per_demand reaches {most}")
    if not np.all(np.isfinite(w)) or (w <= 0).any():
        raise DepthDiscountError("depth_discount must hold finite weights > 0")
    if (np.diff(w) > 0).any():
        raise DepthDiscountError("depth_discount must be non-increasing (breadth before depth)")
    return w[: max(most, 1)]


def _check_locked(locked: IntArray, forbidden: IntArray, rows: IntArray, cols: IntArray, m: int) -> BoolArray:
    """Validate locked pairs; return the mask of candidates that are locked."""
    if locked.shape[0] and forbidden.shape[0]:
        both = _member(locked[:, 0], locked[:, 1], forbidden, m)
        if both.any():
            i, j = locked[np.flatnonzero(both)[0]]
            raise ConflictError(f"pair ({i}, {j}) is both locked and forbidden")
    is_locked = _member(rows, cols, locked, m)
    if int(is_locked.sum()) != locked.shape[0]:
        known = _member(locked[:, 0], locked[:, 1], np.column_stack([rows, cols]), m)
        i, j = locked[np.flatnonzero(~known)[0]]
        raise CandidatePairError(
            f"locked pair ({i}, {j}) is not a candidate: affinity stores no entry for it"
        )
    return is_locked


def _check_locked_counts(locked: IntArray, n: int, m: int, wanted: IntArray, capacity: IntArray) -> None:
    per_demand = np.bincount(locked[:, 0], minlength=n)
    per_provider = np.bincount(locked[:, 1], minlength=m)
    over = np.flatnonzero(per_provider > capacity)
    if over.size:
        j = int(over[0])
        raise ConflictError(f"provider {j} has {per_provider[j]} locked pairs but capacity {capacity[j]}")
    over = np.flatnonzero(per_demand > wanted)
    if over.size:
        i = int(over[0])
        raise ConflictError(f"demand {i} has {per_demand[i]} locked pairs but max_per_demand {wanted[i]}")


def _within_row_rank(rows: IntArray, n: int) -> IntArray:
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=starts[1:])
    return np.arange(rows.shape[0], dtype=np.int64) - starts[rows]


def _validate(
    affinity: Any,
    capacity: ArrayLike,
    max_per_demand: ArrayLike,
    min_per_demand: ArrayLike | None,
    forbidden: ArrayLike | None,
    locked: ArrayLike | None,
    depth_discount: ArrayLike | None,
    report: Callable[[str], None] = lambda stage: None,
    block: int = 1 << 18,
) -> _Problem:
    n, m, rows, cols, vals = _canonical_pairs(affinity, report, block)
    report("validate")  # the sort above is the longest step before the solve: a chance to cancel
    cap = _int_vector(capacity, m, "capacity", "columns", CapacityError)
    wanted = _int_vector(max_per_demand, n, "max_per_demand", "rows", DemandBoundError)
    floors = (
        None
        if min_per_demand is None
        else _int_vector(min_per_demand, n, "min_per_demand", "rows", DemandBoundError)
    )
    if floors is not None and (floors > wanted).any():
        i = int(np.flatnonzero(floors > wanted)[0])
        raise DemandBoundError(f"min_per_demand[{i}] is {floors[i]} but max_per_demand[{i}] is {wanted[i]}")
    weights = _depth_weights(depth_discount, wanted)
    forbidden_pairs = _pair_list(forbidden, n, m, "forbidden")
    locked_pairs = _pair_list(locked, n, m, "locked")
    is_locked = _check_locked(locked_pairs, forbidden_pairs, rows, cols, m)
    _check_locked_counts(locked_pairs, n, m, wanted, cap)
    keep = ~is_locked
    if forbidden_pairs.shape[0]:
        keep &= ~_member(rows, cols, forbidden_pairs, m)
    locked_pairs = np.column_stack([rows[is_locked], cols[is_locked]])
    locked_vals = vals[is_locked]
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    report("validate")
    if floors is not None and not floors.any():
        floors = None
    return _Problem(
        n=n,
        m=m,
        rows=rows,
        cols=cols,
        vals=vals,
        rank=_within_row_rank(rows, n),
        locked=locked_pairs,
        locked_vals=locked_vals,
        wanted=wanted,
        floors=floors,
        capacity=cap,
        weights=weights,
    )


# --------------------------------------------------------------------------------------------
# What the optimisation still decides once locked pairs are placed
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Residual:
    """Slots, capacities and floors of the network; locked pairs stay inside it only with a discount."""

    slots: IntArray
    capacity: IntArray
    floors: IntArray | None
    coverage: int
    keeps_locked: bool
    active: BoolArray  # candidates that can still be chosen


def _residual(prob: _Problem) -> tuple[_Residual, BoolArray]:
    """Residual state and the candidates carrying a maximum floor coverage."""
    locked_d = np.bincount(prob.locked[:, 0], minlength=prob.n)
    locked_p = np.bincount(prob.locked[:, 1], minlength=prob.m)
    free_slots, free_capacity = prob.wanted - locked_d, prob.capacity - locked_p
    keeps = prob.weights is not None
    slots, capacity = (prob.wanted, prob.capacity) if keeps else (free_slots, free_capacity)
    active = (free_slots[prob.rows] > 0) & (free_capacity[prob.cols] > 0)
    if prob.floors is None:
        return _Residual(slots, capacity, None, 0, keeps, active), np.zeros(prob.rows.shape[0], bool)
    free_floors = np.maximum(prob.floors - locked_d, 0)
    covered, carried = _max_coverage(prob, free_floors, free_capacity, active)
    floors = prob.floors if keeps else free_floors
    coverage = covered + (int(np.minimum(locked_d, prob.floors).sum()) if keeps else 0)
    return _Residual(slots, capacity, floors, coverage, keeps, active), carried


def _max_coverage(
    prob: _Problem, floors: IntArray, capacity: IntArray, active: BoolArray
) -> tuple[int, BoolArray]:
    """Most floor units the free candidates can serve (a maximum flow), and the pairs carrying it."""
    from scipy.sparse.csgraph import maximum_flow  # loads scipy.linalg (0.3 s): only floors need it

    n, m = prob.n, prob.m
    source, sink = n + m, n + m + 1
    idx = np.flatnonzero(active)
    tails = np.concatenate([np.full(n, source), prob.rows[idx], n + np.arange(m)])
    heads = np.concatenate([np.arange(n), n + prob.cols[idx], np.full(m, sink)])
    caps = np.concatenate([floors, np.ones(idx.size, np.int64), capacity]).astype(np.int32)
    graph = sp.csr_array((caps, (tails, heads)), shape=(n + m + 2, n + m + 2))
    result = maximum_flow(graph, source, sink)
    flow = sp.coo_array(result.flow)
    pos = (flow.data > 0) & (flow.row < n) & (flow.col >= n) & (flow.col < n + m)
    carried = np.zeros(prob.rows.shape[0], bool)
    width = n + m + 2
    carried[idx] = np.isin(prob.rows[idx] * width + n + prob.cols[idx], flow.row[pos] * width + flow.col[pos])
    return int(result.flow_value), carried


def _positions(rows: IntArray, vals: FloatArray, chosen: BoolArray, n: int) -> IntArray:
    """Depth of each chosen pair within its demand (best affinity first); -1 for others."""
    idx = np.flatnonzero(chosen)
    order = idx[np.lexsort((-vals[idx], rows[idx]))]
    depth = np.full(rows.shape[0], -1, np.int64)
    depth[order] = _within_row_rank(rows[order], n)
    return depth
