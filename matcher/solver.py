"""Exact capacity-constrained assignment of providers to demands, certified by dual prices.

The problem is a maximum-weight b-matching: demand ``i`` takes at most ``max_per_demand[i]``
providers, provider ``j`` serves at most ``capacity[j]`` demands, each candidate pair at most once.
It is a min-cost circulation on the network

    root -> demand_i (cap wanted_i) -> provider_j (cap 1, cost -affinity) -> root (cap capacity_j)

where the root doubles as source, sink and slack arc, so pruned candidates never make it infeasible.
Floors add a hub (root -> hub -> demand, lower bound = the best coverage, found by a maximum flow);
a depth discount adds one node per demand slot and per pair, so that a demand's k-th provider is
weighted ``depth_discount[k]`` and still no pair is used twice. A discount that weighs every depth
alike (always so when every demand wants at most one provider) only scales the objective: such calls
(without floors) are solved undiscounted and the certificate is scaled to the discounted problem.

How it is solved, in numpy and scipy.

Demands wanting one provider each (no floors, no discount): a measured rule (``_wanted_one_engine``:
ties, spread of each demand's scores, size) picks the auction below or the restricted problem after it;
an auction that runs into a price war (its work guard) hands over to the restricted problem.

a. A vectorised Jacobi auction (``matcher._auction``) finds an eps-optimal assignment and prices.
b. The prices, turned into node potentials, are relaxed by label correcting in the residual network
   of that assignment; a cycle among the predecessor arcs is a negative cycle and is cancelled by one
   unit of flow. When labels settle they are feasible potentials: an exact optimality certificate.

Demands wanting several providers (no floors, no uneven discount): the providers bid for demands
(``matcher._provider_auction``: the providers are the scarce side, each fills its capacity with
distinct demands, so no pair is taken twice and nothing is copied), then the same exact finish (b)
from their prices.

Otherwise (floors, uneven depth discounts), and for the wanted-one calls the rule gives it, on a
restricted problem:

1. Start from each demand's few best candidates (a restricted problem).
2. Solve the restricted problem exactly: ``min_weight_full_bipartite_matching`` (LAPJVsp) on a graph
   with one row per demand and one column per provider *slot* (demands wanting one provider); HiGHS
   (``linprog``) when floors or a depth discount are given.
3. Price the solution: node potentials are shortest-path distances in the residual network
   (``bellman_ford``). They are dual prices satisfying complementary slackness on the restricted
   problem.
4. Check every candidate pair that was left out against the prices; any with positive reduced profit
   joins the restricted problem and step 2 repeats. When none remains the prices prove optimality
   over all candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components, maximum_flow
from scipy.sparse.csgraph import min_weight_full_bipartite_matching as lapjvsp

from matcher._auction import AuctionState, _ranges, auction
from matcher._provider_auction import provider_auction
from matcher.errors import (
    CandidatePairError,
    CapacityError,
    ConflictError,
    DemandBoundError,
    DepthDiscountError,
    InvalidAffinityError,
    PairListError,
    ShapeMismatchError,
    SolverError,
)
from matcher.types import Assignment, Certificate

__all__ = ["assign", "certificate_violation"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# Slack of the reduced-cost conditions, relative to the largest affinity. Shortest paths are run
# on costs raised by a tenth of it, so cycles of zero cost (ties) never look negative to rounding.
_RELATIVE_TOLERANCE = 1e-11
_EXTRA_CANDIDATES = 4  # restricted problem: wanted + this many best candidates per demand
# Demands wanting one provider also take their best candidates until these offer this many slots: each
# pricing round re-solves from scratch, and with so many alternatives one round mostly suffices
# (5,000 x 2,000 real cosines: 1 solve instead of 5; 10,000 x 2,000 tfidf: 1 instead of 3).
_SLOT_BUDGET = 64
_MAX_ROUNDS = 50
_MAX_CANCELLED = 1_000_000
_RELAX_CHUNK = 1 << 19  # arcs per label-correcting chunk: bounds the temporaries at large sizes
# Auction eps relative to the largest affinity. Smaller means more bidding rounds, larger leaves
# negative cycles for the exact finish; on 10,000 x 2,000 uniform 1e-6 leaves none, 1e-5 one.
_AUCTION_EPS = 1e-6
# Engine for demands wanting one provider (no floors, no discount), a rule measured on the benchmark
# grid and on the service's own cosine scores (benchmarks/README.md, "Assignment solver"). The auction
# wins while its bids settle in a few hundred rounds: scores on a few levels (ties settle at once),
# widely spread scores, and any scores at 100,000 demands, where LAPJVsp grows superlinearly
# (tfidf: auction 7.3 s, matching 66.5 s, OR-Tools 7.5 s). Near-equal scores on hot providers (the
# service's cosines: a demand's candidates within ~15 % of its best) start a price war (38-60 s
# against 1.2 s for matching); below _LARGE_PROBLEM they go to matching, above it the guard catches them.
_WANTED_ONE_ENGINE = "auto"  # or "auction" / "matching" (tests force an engine)
_TIED_SHARE = 0.05  # scores taking at most this share of distinct values are ties
_AUCTION_SPREAD = 0.8  # median (best - worst candidate) / largest affinity above which the auction runs
# ... and above this one when demands have few candidates (the auction's work grows with the candidates,
# the restricted problem's does not: tfidf 10,000 x 2,000 k = 20 auction 0.27-0.38 s vs 0.43-0.79 s,
# k = 50 auction 0.76-0.80 s vs 0.55-0.63 s)
_AUCTION_SPREAD_FEW = 0.5
_FEW_CANDIDATES = 25  # mean candidates per demand
_LARGE_PROBLEM = 50_000  # demands from which the auction always runs first
# Guard: once its bidders have looked at this many candidate entries per candidate pair, the auction
# is in a price war and yields to the matching engine. Measured: uniform 2.1, tied 2.5 (10,000 x 2,000,
# k = 50), synthetic tfidf 6.6; the service's real cosines pass 49 within 500 rounds and never settle.
_AUCTION_SCANS = 5.0
# Bid increment of the provider-side auction (mixed wanted numbers), relative to the largest affinity;
# the exact finish repairs what a coarser increment leaves. On 10,000 x 2,000, k = 50: 1e-6 leaves no
# cycle but bids longest, 1e-3 leaves 470-730 changed pairs to the finish; 1e-4 is the fastest sum.
_PROVIDER_AUCTION_EPS = 1e-4


# --------------------------------------------------------------------------------------------
# Validated problem
# --------------------------------------------------------------------------------------------


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


def _as_sparse_coo(affinity: Any) -> sp.coo_array:
    if not sp.issparse(affinity):
        raise InvalidAffinityError(
            f"affinity must be a scipy.sparse matrix or array, got {type(affinity).__name__}"
        )
    if affinity.ndim != 2:
        raise InvalidAffinityError(f"affinity must be 2-D, got {affinity.ndim}-D")
    coo = sp.coo_array(affinity)
    if not np.issubdtype(coo.dtype, np.number) or np.issubdtype(coo.dtype, np.complexfloating):
        raise InvalidAffinityError(f"affinity must hold real numbers, got dtype {coo.dtype}")
    return coo


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


def _canonical_pairs(affinity: Any) -> tuple[int, int, IntArray, IntArray, FloatArray]:
    """Stored entries sorted by demand then affinity (best first); duplicates are an error."""
    coo = _as_sparse_coo(affinity)
    n, m = (int(s) for s in coo.shape)
    rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    vals = coo.data.astype(np.float64)
    _check_values(rows, cols, vals)
    order = _by_demand_best_first(rows, vals)
    rows, cols, vals = rows[order], cols[order], vals[order]
    if not (affinity.format in ("csr", "csc") and affinity.has_canonical_format):  # else none is repeated
        _reject_duplicate_pairs(rows, cols, m, "affinity", InvalidAffinityError)
    return n, m, rows, cols, vals


def _by_demand_best_first(rows: IntArray, vals: FloatArray) -> IntArray:
    """Order grouping entries by demand, larger affinities first within a demand.

    One sort on a float key, the demand plus a fraction in [0, 1/2] that falls as the affinity rises
    (two stable sorts cost three times as much). Affinities closer than the key's resolution (1e-11
    relative at 100,000 demands) may come out in either order: within-demand order only guides the
    restricted problem and the engine choice, never the answer.
    """
    top = float(vals.max(initial=0.0))
    fraction = 0.5 - 0.5 * vals / top if top > 0 else np.zeros_like(vals)
    return np.asarray(np.argsort(rows + fraction), np.int64)


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
) -> _Problem:
    n, m, rows, cols, vals = _canonical_pairs(affinity)
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


# --------------------------------------------------------------------------------------------
# The flow network of a restricted problem
# --------------------------------------------------------------------------------------------

_ROOT, _HUB = 0, 1


@dataclass(frozen=True, eq=False)
class _Network:
    """Arcs of the circulation; ``blocks`` names the arc ranges, pairs are network-local."""

    n_nodes: int
    tail: IntArray
    head: IntArray
    lower: IntArray
    upper: IntArray
    cost: FloatArray
    blocks: dict[str, slice]
    pair_rows: IntArray
    pair_cols: IntArray
    pair_vals: FloatArray
    pair_fixed: BoolArray
    slot_start: IntArray  # first slot node offset of each demand (discount only)
    n_demands: int
    n_providers: int

    def demand_node(self, i: IntArray) -> IntArray:
        return 2 + i

    def provider_node(self, j: IntArray) -> IntArray:
        return 2 + self.n_demands + j

    @property
    def first_slot_node(self) -> int:
        return 2 + self.n_demands + self.n_providers


class _ArcList:
    """Accumulates named blocks of arcs."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, IntArray, IntArray, IntArray, IntArray, FloatArray]] = []

    def add(
        self,
        name: str,
        tail: ArrayLike,
        head: ArrayLike,
        lower: ArrayLike,
        upper: ArrayLike,
        cost: ArrayLike = 0.0,
    ) -> None:
        t = np.asarray(tail, np.int64)
        size = t.shape[0]
        self.parts.append(
            (
                name,
                t,
                np.broadcast_to(np.asarray(head, np.int64), (size,)),
                np.broadcast_to(np.asarray(lower, np.int64), (size,)),
                np.broadcast_to(np.asarray(upper, np.int64), (size,)),
                np.broadcast_to(np.asarray(cost, np.float64), (size,)),
            )
        )

    def arrays(self) -> tuple[dict[str, slice], list[Any]]:
        blocks, start = {}, 0
        for part in self.parts:
            blocks[part[0]] = slice(start, start + part[1].shape[0])
            start += part[1].shape[0]
        return blocks, [np.concatenate([p[k] for p in self.parts]) for k in range(1, 6)]


def _network(prob: _Problem, res: _Residual, subset: IntArray) -> _Network:
    rows, cols, vals = prob.rows[subset], prob.cols[subset], prob.vals[subset]
    fixed = np.zeros(subset.shape[0], bool)
    if res.keeps_locked:
        rows = np.concatenate([rows, prob.locked[:, 0]])
        cols = np.concatenate([cols, prob.locked[:, 1]])
        vals = np.concatenate([vals, prob.locked_vals])
        fixed = np.concatenate([fixed, np.ones(prob.locked.shape[0], bool)])
    n, m = prob.n, prob.m
    demand, provider = 2 + np.arange(n), 2 + n + np.arange(m)
    arcs = _ArcList()
    floors = res.floors if res.floors is not None else np.zeros(n, np.int64)
    arcs.add("extra", np.full(n, _ROOT), demand, 0, res.slots - floors)
    if res.floors is not None:
        arcs.add("floor", np.full(n, _HUB), demand, 0, floors)
        arcs.add("hub", [_ROOT], [_HUB], [res.coverage], [int(floors.sum())])
    slot_start = np.zeros(n + 1, np.int64)
    if prob.weights is None:
        arcs.add("pair", demand[rows], provider[cols], 0, 1, -vals)
        n_nodes = 2 + n + m
    else:
        n_nodes = _discount_arcs(arcs, prob.weights, res.slots, rows, cols, vals, fixed, slot_start, n, m)
    arcs.add("provider", provider, np.full(m, _ROOT), 0, res.capacity)
    blocks, (tail, head, lower, upper, cost) = arcs.arrays()
    return _Network(
        n_nodes, tail, head, lower, upper, cost, blocks, rows, cols, vals, fixed, slot_start, n, m
    )


def _discount_arcs(
    arcs: _ArcList,
    weights: FloatArray,
    slots: IntArray,
    rows: IntArray,
    cols: IntArray,
    vals: FloatArray,
    fixed: BoolArray,
    slot_start: IntArray,
    n: int,
    m: int,
) -> int:
    """Demand -> slot -> pair node -> provider arcs, so that a demand's t-th provider weighs weights[t]."""
    np.cumsum(slots, out=slot_start[1:])
    first_slot = 2 + n + m
    first_pair = first_slot + int(slot_start[-1])
    owner = np.repeat(np.arange(n), slots)
    arcs.add("slot", 2 + owner, first_slot + np.arange(owner.shape[0]), 0, 1)
    per_pair = slots[rows]
    pair_of = np.repeat(np.arange(rows.shape[0]), per_pair)
    depth = np.arange(pair_of.shape[0]) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    arcs.add(
        "position",
        first_slot + slot_start[rows[pair_of]] + depth,
        first_pair + pair_of,
        0,
        1,
        -weights[depth] * vals[pair_of],
    )
    arcs.add("pair", first_pair + np.arange(rows.shape[0]), 2 + n + cols, fixed.astype(np.int64), 1)
    return int(first_pair + rows.shape[0])


def _positions(rows: IntArray, vals: FloatArray, chosen: BoolArray, n: int) -> IntArray:
    """Depth of each chosen pair within its demand (best affinity first); -1 for others."""
    idx = np.flatnonzero(chosen)
    order = idx[np.lexsort((-vals[idx], rows[idx]))]
    depth = np.full(rows.shape[0], -1, np.int64)
    depth[order] = _within_row_rank(rows[order], n)
    return depth


def _canonical_flow(net: _Network, res: _Residual, chosen: BoolArray) -> IntArray:
    """The flow of an assignment: floors served first, a demand's best pair at its first slot."""
    n = net.n_demands
    flow = np.zeros(net.tail.shape[0], np.int64)
    counts = np.bincount(net.pair_rows[chosen], minlength=n)
    served = np.minimum(counts, res.floors) if res.floors is not None else np.zeros(n, np.int64)
    flow[net.blocks["extra"]] = counts - served
    if res.floors is not None:
        flow[net.blocks["floor"]] = served
        flow[net.blocks["hub"]] = served.sum()
    flow[net.blocks["pair"]] = chosen
    flow[net.blocks["provider"]] = np.bincount(net.pair_cols[chosen], minlength=net.n_providers)
    if "slot" in net.blocks:
        flow[net.blocks["slot"]] = _within_row_rank(np.repeat(np.arange(n), res.slots), n) < np.repeat(
            counts, res.slots
        )
        depth = _positions(net.pair_rows, net.pair_vals, chosen, n)
        per_pair = res.slots[net.pair_rows]
        starts = np.cumsum(per_pair) - per_pair
        used = np.flatnonzero(chosen)
        flow[net.blocks["position"].start + starts[used] + depth[used]] = 1
    return flow


# --------------------------------------------------------------------------------------------
# Exact engines for the restricted problem
# --------------------------------------------------------------------------------------------


def _solve_by_matching(net: _Network, res: _Residual) -> BoolArray:
    """Exact b-matching of one-slot demands via LAPJVsp: a row per demand, a column per provider slot.

    A demand row has arcs to every slot of its candidate providers and a private dummy column, so a
    full matching always exists; costs are shifted to stay > 0. Demands wanting several providers
    never come here (the provider-side auction or HiGHS serves them), so no pair can be taken twice.
    """
    rows, cols, vals = net.pair_rows, net.pair_cols, net.pair_vals
    n, m = net.n_demands, net.n_providers
    if rows.shape[0] == 0:
        return np.zeros(0, bool)
    slots_p = np.minimum(res.capacity, np.bincount(cols, minlength=m))
    slot_start = np.concatenate([[0], np.cumsum(slots_p)])
    slots_d = np.minimum(res.slots, np.bincount(rows, minlength=n))
    if int(slots_d.max(initial=0)) > 1:
        raise SolverError("the matching engine serves demands wanting one provider only")
    row_start = np.concatenate([[0], np.cumsum(slots_d)])
    n_slots, n_demand_rows = int(slot_start[-1]), int(row_start[-1])
    shift = float(vals.max()) + 1.0
    to_slots = _to_slots(row_start[rows], cols, slot_start, slots_p, shift - vals)
    dummies = np.arange(n_demand_rows), n_slots + np.arange(n_demand_rows), np.full(n_demand_rows, shift)
    r, c, w = (np.concatenate([to_slots[k], dummies[k]]) for k in range(3))
    matched_rows, matched_cols = lapjvsp(
        sp.csr_array((w, (r, c)), shape=(n_demand_rows, n_slots + n_demand_rows))
    )
    chosen = np.zeros(rows.shape[0], bool)
    chosen[_single_pairs(rows, cols, slots_d, slot_start, matched_rows, matched_cols, m)] = True
    return chosen


def _single_pairs(
    rows: IntArray,
    cols: IntArray,
    slots_d: IntArray,
    slot_start: IntArray,
    matched_rows: IntArray,
    matched_cols: IntArray,
    m: int,
) -> IntArray:
    """The pairs a matching of one-slot demand rows chose: row -> demand, slot column -> provider.

    Looks the pairs up among the candidates instead of among the (far more) slot arcs.
    """
    real = matched_cols < slot_start[-1]  # the rest are the rows' private dummy columns
    demand = np.flatnonzero(slots_d)[matched_rows[real]]
    provider = np.searchsorted(slot_start, matched_cols[real], side="right") - 1
    keys = rows * max(m, 1) + cols
    order = np.argsort(keys)
    return np.asarray(order[np.searchsorted(keys, demand * max(m, 1) + provider, sorter=order)], np.int64)


def _to_slots(
    from_rows: IntArray,
    providers: IntArray,
    slot_start: IntArray,
    slots_p: IntArray,
    weight: FloatArray,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Arcs from each row to every slot of its provider."""
    reps = slots_p[providers]
    offset = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    return (
        np.repeat(from_rows, reps),
        np.repeat(slot_start[providers], reps) + offset,
        np.repeat(weight, reps),
    )


def _solve_by_lp(net: _Network, scale: float) -> BoolArray:
    """Exact min-cost circulation with HiGHS; the network matrix is totally unimodular."""
    n_arcs = net.tail.shape[0]
    arcs = np.arange(n_arcs)
    incidence = sp.csr_array(
        (
            np.concatenate([np.ones(n_arcs), -np.ones(n_arcs)]),
            (np.concatenate([net.head, net.tail]), np.concatenate([arcs, arcs])),
        ),
        shape=(net.n_nodes, n_arcs),
    )[1:]
    result = linprog(
        net.cost / scale,
        A_eq=incidence,
        b_eq=np.zeros(net.n_nodes - 1),
        bounds=np.column_stack([net.lower, net.upper]),
        method="highs-ds",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if result.status != 0:
        raise SolverError(f"HiGHS could not solve the restricted problem: {result.message}")
    flow = np.asarray(result.x)[net.blocks["pair"]]
    if np.abs(flow - np.round(flow)).max(initial=0.0) > 1e-6:
        raise SolverError("HiGHS returned a fractional flow on a network problem")
    return np.asarray(np.round(flow) > 0.5)


# --------------------------------------------------------------------------------------------
# Pricing: node potentials from shortest paths in the residual network
# --------------------------------------------------------------------------------------------


def _potentials(net: _Network, flow: IntArray, slack: float) -> FloatArray:
    """Shortest-path distances in the residual network, root at 0; they are optimal dual prices."""
    forward, backward = flow < net.upper, flow > net.lower
    tail = np.concatenate([net.tail[forward], net.head[backward]])
    head = np.concatenate([net.head[forward], net.tail[backward]])
    cost = np.concatenate([net.cost[forward] + slack, slack - net.cost[backward]])
    dist = _bellman_ford(net.n_nodes, tail, head, cost)
    return np.asarray(dist - dist[_ROOT], np.float64)


def _bellman_ford(n_nodes: int, tail: IntArray, head: IntArray, cost: FloatArray) -> FloatArray:
    """Distances from a virtual node joined to every node at cost 0, relaxing only arcs whose tail moved.

    ``scipy.sparse.csgraph.bellman_ford`` always runs all ``n_nodes`` rounds; here a round touches only
    the arcs leaving nodes improved in the previous round, and the loop stops when nothing improves.
    """
    order = np.argsort(tail, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    starts = np.searchsorted(tail, np.arange(n_nodes + 1))
    dist = np.zeros(n_nodes)
    moved = np.arange(n_nodes)
    for _ in range(n_nodes + 1):
        counts = starts[moved + 1] - starts[moved]
        arcs = np.repeat(starts[moved] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        if arcs.shape[0] == 0:
            return dist
        reach = dist[tail[arcs]] + cost[arcs]
        better = reach < dist[head[arcs]]
        if not better.any():
            return dist
        targets, values = head[arcs][better], reach[better]
        np.minimum.at(dist, targets, values)
        flagged = np.zeros(n_nodes, bool)  # the improved nodes, sorted, without np.unique's sort
        flagged[targets] = True
        moved = np.flatnonzero(flagged)
    raise SolverError("the restricted solution is not optimal: its residual network has a negative cycle")


# --------------------------------------------------------------------------------------------
# Exact finish: feasible potentials from a warm start, cancelling the negative cycles met on the way
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _ResidualGraph:
    """Both directions of every network arc, sorted by tail; a flow decides which are present.

    ``arc`` and ``step`` say which network arc a residual arc moves and in which direction;
    ``where`` locates the forward (column 0) and backward (column 1) copies of each network arc.
    """

    tail: NDArray[Any]
    head: NDArray[Any]
    cost: FloatArray
    arc: NDArray[Any]
    step: NDArray[np.int8]
    starts: IntArray
    where: NDArray[Any]

    @classmethod
    def of(cls, net: _Network, slack: float) -> _ResidualGraph:
        n_arcs = net.tail.shape[0]
        index = np.int32 if max(2 * n_arcs, net.n_nodes) < 2**31 else np.int64  # halves the memory
        tails = np.concatenate([net.tail.astype(index), net.head.astype(index)])
        order = np.argsort(tails, kind="stable").astype(index)
        tail = tails[order]
        del tails  # temporaries as long as the arc list add up at this size
        where = np.empty(2 * n_arcs, index)
        where[order] = np.arange(2 * n_arcs, dtype=index)
        arc = order.copy()
        step = np.where(arc < n_arcs, 1, -1).astype(np.int8)
        arc[arc >= n_arcs] -= n_arcs
        head = np.concatenate([net.head.astype(index), net.tail.astype(index)])[order]
        cost = np.concatenate([net.cost + slack, slack - net.cost])[order]
        return cls(
            tail,
            head,
            cost,
            arc,
            step,
            np.searchsorted(tail, np.arange(net.n_nodes + 1)),
            where.reshape(2, n_arcs).T,
        )

    def present(self, net: _Network, flow: IntArray, arcs: NDArray[Any], out: BoolArray) -> None:
        """Refresh which copies of the network ``arcs`` are residual arcs under ``flow``."""
        out[self.where[arcs, 0]] = flow[arcs] < net.upper[arcs]
        out[self.where[arcs, 1]] = flow[arcs] > net.lower[arcs]


def _relax(
    graph: _ResidualGraph, present: BoolArray, dist: FloatArray, pred: IntArray, moved: IntArray
) -> IntArray:
    """One pass over the residual arcs leaving ``moved``, in chunks of about ``_RELAX_CHUNK`` arcs
    (so the temporaries stay small); returns the nodes whose label dropped."""
    ends = np.cumsum(graph.starts[moved + 1] - graph.starts[moved])
    cuts = np.searchsorted(ends, np.arange(_RELAX_CHUNK, int(ends[-1]) if ends.size else 0, _RELAX_CHUNK))
    bounds = np.unique(np.concatenate([[0], cuts, [moved.shape[0]]]))
    parts = [
        _relax_chunk(graph, present, dist, pred, moved[bounds[c] : bounds[c + 1]])
        for c in range(bounds.shape[0] - 1)
    ]
    return np.unique(np.concatenate(parts)) if len(parts) > 1 else parts[0] if parts else moved[:0]


def _relax_chunk(
    graph: _ResidualGraph, present: BoolArray, dist: FloatArray, pred: IntArray, moved: IntArray
) -> IntArray:
    """A Jacobi pass over the residual arcs leaving ``moved``."""
    arcs, _ = _ranges(graph.starts[moved], graph.starts[moved + 1])
    arcs = arcs[present[arcs]]
    reach = dist[graph.tail[arcs]] + graph.cost[arcs]
    better = reach < dist[graph.head[arcs]]
    arcs, reach = arcs[better], reach[better]
    if arcs.shape[0] == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((reach, graph.head[arcs]))
    arcs, reach = arcs[order], reach[order]
    targets, first = np.unique(graph.head[arcs], return_index=True)
    dist[targets] = reach[first]
    pred[targets] = arcs[first]
    return targets


def _pred_cycles(graph: _ResidualGraph, pred: IntArray) -> list[IntArray]:
    """Negative cycles among the predecessor arcs, as arrays of residual arcs (node-disjoint).

    Each node has at most one predecessor, so the strong components of more than one node in the
    predecessor graph are exactly its cycles; scipy finds them in one pass over the nodes instead of a
    walk in Python (N = 10,000, k = 20, mixed: 1.4 ms -> 0.3 ms per label-correcting pass).
    """
    count, component = connected_components(_parent_graph(graph, pred), directed=True, connection="strong")
    if count == pred.shape[0]:
        return []
    size = np.bincount(component, minlength=count)
    on_cycle = np.flatnonzero(size[component] > 1)
    cost = np.bincount(component[on_cycle], weights=graph.cost[pred[on_cycle]], minlength=count)
    negative = on_cycle[cost[component[on_cycle]] < 0]
    negative = negative[np.argsort(component[negative], kind="stable")]
    cuts = np.flatnonzero(np.diff(component[negative])) + 1
    return [np.asarray(pred[nodes], np.int64) for nodes in np.split(negative, cuts)] if negative.size else []


def _parent_graph(graph: _ResidualGraph, pred: IntArray) -> sp.csr_array:
    """Node -> tail of its predecessor arc; a node without one points to itself (a loop, no cycle)."""
    n_nodes = pred.shape[0]
    index = np.int32 if n_nodes < 2**31 else np.int64
    parent = np.where(pred >= 0, graph.tail[np.maximum(pred, 0)], np.arange(n_nodes)).astype(index)
    return sp.csr_array(
        (np.ones(n_nodes, np.int8), parent, np.arange(n_nodes + 1, dtype=index)), shape=(n_nodes, n_nodes)
    )


def _optimal_flow(
    net: _Network, flow: IntArray, start: FloatArray, slack: float
) -> tuple[IntArray, FloatArray]:
    """Cancel negative residual cycles until ``start`` relaxes into feasible potentials; both returned.

    Label correcting from a warm start: labels only drop, so a cycle among the predecessor arcs has
    negative cost. It is cancelled by one unit of flow, which reverses its arcs; the search resumes
    from the current labels with the cycle's nodes to re-scan. Feasible potentials prove the flow
    optimal (complementary slackness).
    """
    graph = _ResidualGraph.of(net, slack)
    present = np.zeros(graph.tail.shape[0], bool)
    graph.present(net, flow, np.arange(net.tail.shape[0]), present)
    dist, pred = start.copy(), np.full(net.n_nodes, -1, np.int64)
    moved, cancelled = np.arange(net.n_nodes), 0
    while moved.shape[0]:
        moved = _relax(graph, present, dist, pred, moved)
        cycles = _pred_cycles(graph, pred) if moved.shape[0] else []
        if not cycles:
            continue
        cancelled += len(cycles)
        if cancelled > _MAX_CANCELLED:
            raise SolverError(f"more than {_MAX_CANCELLED} negative cycles to cancel")
        used = np.concatenate(cycles)
        np.add.at(flow, graph.arc[used], graph.step[used])
        graph.present(net, flow, graph.arc[used], present)
        nodes = graph.head[used]
        pred[nodes] = -1
        moved = np.union1d(moved, nodes)
    return flow, np.asarray(dist - dist[_ROOT], np.float64)


def _certificate(net: _Network, res: _Residual, prob: _Problem, pot: FloatArray, tol: float) -> Certificate:
    n, m = prob.n, prob.m
    demand_price = pot[2 : 2 + n].copy()
    provider_price = -pot[2 + n : 2 + n + m]
    provider_price[res.capacity == 0] = np.inf
    if prob.weights is None:
        weights = np.ones(1)
        demand_price[res.slots == 0] = np.inf
        slot_price = demand_price[:, None].copy()
    else:
        weights = prob.weights
        slot_price = np.full((n, weights.shape[0]), np.inf)
        owner = np.repeat(np.arange(n), res.slots)
        depth = _within_row_rank(owner, n)
        slot_price[owner, depth] = pot[net.first_slot_node : net.first_slot_node + owner.shape[0]]
    floor_price = float(-pot[_HUB]) if res.floors is not None else 0.0
    return Certificate(slot_price, provider_price, demand_price, floor_price, weights, tol)


# --------------------------------------------------------------------------------------------
# The solve loop: restricted problem, prices, add the pairs the prices reject, repeat
# --------------------------------------------------------------------------------------------


def _initial_subset(prob: _Problem, res: _Residual, carried: BoolArray, *, matching: bool) -> BoolArray:
    subset = res.active & (prob.rank < res.slots[prob.rows] + _EXTRA_CANDIDATES)
    if matching:  # HiGHS keeps the smaller problem
        subset |= res.active & (_slots_ahead(prob, res) < _SLOT_BUDGET)
    return subset | carried


def _slots_ahead(prob: _Problem, res: _Residual) -> IntArray:
    """Per candidate, the capacity of the providers its demand ranks higher."""
    capacity = res.capacity[prob.cols]
    total = np.cumsum(capacity) - capacity
    starts = np.searchsorted(prob.rows, np.arange(prob.n))
    return np.asarray(total - total[starts[prob.rows]], np.int64)


def _wanted_one_engine(prob: _Problem) -> str:
    """``"auction"`` or ``"matching"`` for demands wanting one provider (see ``_WANTED_ONE_ENGINE``)."""
    if _WANTED_ONE_ENGINE != "auto":
        return _WANTED_ONE_ENGINE
    if prob.n >= _LARGE_PROBLEM:
        return "auction"
    if float(prob.vals.max(initial=0.0)) <= 0.0:
        return "matching"
    sample = prob.vals[:: max(1, prob.vals.shape[0] // 100_000)]  # ties show as well in a sample
    if np.unique(sample).shape[0] <= _TIED_SHARE * sample.shape[0]:
        return "auction"
    starts = np.searchsorted(prob.rows, np.arange(prob.n + 1))
    several = np.flatnonzero(starts[1:] - starts[:-1] >= 2)
    spread = prob.vals[starts[several]] - prob.vals[starts[several + 1] - 1]
    median = float(np.median(spread)) / float(prob.vals.max()) if spread.size else 0.0
    few = prob.vals.shape[0] <= _FEW_CANDIDATES * prob.n
    return "auction" if median >= (_AUCTION_SPREAD_FEW if few else _AUCTION_SPREAD) else "matching"


def _solve_by_auction(prob: _Problem, res: _Residual, tol: float) -> tuple[BoolArray, Certificate] | None:
    """Auction over every candidate for a near-optimal flow and prices, then cancel what is left.

    None when the auction runs past its work guard (``_AUCTION_SCANS``): the caller solves otherwise.
    """
    idx = np.flatnonzero(res.active)
    state = AuctionState.start(
        prob.rows[idx], prob.cols[idx], prob.vals[idx], prob.n, res.slots, res.capacity
    )
    if not auction(state, prob.scale * _AUCTION_EPS, _AUCTION_SCANS * idx.shape[0]):
        return None
    net = _network(prob, res, idx)
    flow = _canonical_flow(net, res, state.held)
    load = np.bincount(state.cols[state.held], minlength=prob.m)
    start = np.zeros(net.n_nodes)
    start[2 : 2 + prob.n] = state.demand_price()
    start[2 + prob.n : 2 + prob.n + prob.m] = -np.where(load < res.capacity, 0.0, state.price)
    del state  # its arrays are as long as the candidate list; the residual graph is next
    flow, pot = _optimal_flow(net, flow, start, tol / 10)
    chosen = np.zeros(prob.rows.shape[0], bool)
    chosen[idx] = flow[net.blocks["pair"]] > 0
    return chosen, _certificate(net, res, prob, pot, tol)


def _priced(net: _Network, res: _Residual, local: BoolArray, slack: float) -> tuple[BoolArray, FloatArray]:
    """Potentials of the engine's answer; if rounding left it short of optimal, cancel the cycles first.

    HiGHS stops within its optimality tolerance (1e-10), which can exceed the slack of the prices.
    """
    try:
        return local, _potentials(net, _canonical_flow(net, res, local), slack)
    except SolverError:
        flow, _ = _optimal_flow(net, _canonical_flow(net, res, local), np.zeros(net.n_nodes), slack)
        local = np.asarray(flow[net.blocks["pair"]] > 0)
        return local, _potentials(net, _canonical_flow(net, res, local), slack)


def _uniform_discount(prob: _Problem) -> bool:
    """A discount that weighs every depth alike (always so when demands want one provider each).

    It scales every chosen pair by the same positive weight, so the optimal pairs are those of the
    undiscounted problem; floors keep the discounted network, whose floor conditions count locked pairs.
    """
    weights = prob.weights
    return weights is not None and prob.floors is None and bool(np.all(weights == weights[0]))


def _discounted_certificate(prob: _Problem, cert: Certificate) -> Certificate:
    """Lift the certificate of the undiscounted problem to the discounted one (uniform weights).

    Prices scale by the weight; every slot of a demand takes the demand's price. A demand whose
    slots locked pairs fill has no price in the undiscounted network; its best affinity, weighted,
    is a price that no pair of it can beat.
    """
    assert prob.weights is not None
    weight = float(prob.weights[0])
    demand_price = cert.demand_price * weight
    full = np.isinf(demand_price) & (prob.wanted > 0)
    best = np.zeros(prob.n)
    np.maximum.at(best, prob.rows, prob.vals)
    np.maximum.at(best, prob.locked[:, 0], prob.locked_vals)
    demand_price[full] = weight * best[full]
    depth = np.arange(prob.weights.shape[0])
    slot_price = np.where(depth[None, :] < prob.wanted[:, None], demand_price[:, None], np.inf)
    return Certificate(
        slot_price,
        cert.provider_price * weight,
        demand_price,
        cert.floor_price * weight,
        prob.weights,
        cert.tolerance * weight,
    )


def _solve_by_provider_auction(prob: _Problem, res: _Residual, tol: float) -> tuple[BoolArray, Certificate]:
    """Mixed wanted numbers: providers (the scarce side) bid, then the exact finish from their prices."""
    idx = np.flatnonzero(res.active)
    held, start = provider_auction(
        prob.rows[idx],
        prob.cols[idx],
        prob.vals[idx],
        res.slots,
        res.capacity,
        prob.scale * _PROVIDER_AUCTION_EPS,
    )
    net = _network(prob, res, idx)
    flow, pot = _optimal_flow(
        net, _canonical_flow(net, res, held), np.concatenate([[0.0, 0.0], start]), tol / 10
    )
    chosen = np.zeros(prob.rows.shape[0], bool)
    chosen[idx] = flow[net.blocks["pair"]] > 0
    return chosen, _certificate(net, res, prob, pot, tol)


def _solve(prob: _Problem) -> tuple[BoolArray, Certificate]:
    if _uniform_discount(prob):
        chosen, cert = _solve(replace(prob, weights=None))
        return chosen, _discounted_certificate(prob, cert)
    res, carried = _residual(prob)
    tol = _RELATIVE_TOLERANCE * prob.scale
    use_lp = prob.weights is not None or res.floors is not None
    if not use_lp and int(res.slots.max(initial=0)) >= 2:
        return _solve_by_provider_auction(prob, res, tol)
    if not use_lp and _wanted_one_engine(prob) == "auction":
        solved = _solve_by_auction(prob, res, tol)
        if solved is not None:
            return solved
    # From here: the restricted problem, by HiGHS (floors, discounts) or LAPJVsp (one-slot demands).
    subset = _initial_subset(prob, res, carried, matching=not use_lp)
    for _ in range(_MAX_ROUNDS):
        idx = np.flatnonzero(subset)
        net = _network(prob, res, idx)
        local = _solve_by_lp(net, prob.scale) if use_lp else _solve_by_matching(net, res)
        local, pot = _priced(net, res, local, tol / 10)
        cert = _certificate(net, res, prob, pot, tol)
        outside = np.flatnonzero(res.active & ~subset)
        gain = cert.reduced_profit(prob.rows[outside], prob.cols[outside], prob.vals[outside])
        rejected = outside[gain > tol]
        if rejected.size == 0:
            chosen = np.zeros(prob.rows.shape[0], bool)
            chosen[idx] = local[: idx.shape[0]]
            return chosen, cert
        subset[rejected] = True
    raise SolverError(f"candidate pricing did not settle within {_MAX_ROUNDS} rounds")


def _assignment(prob: _Problem, chosen: BoolArray, cert: Certificate) -> Assignment:
    pairs = np.concatenate([np.column_stack([prob.rows[chosen], prob.cols[chosen]]), prob.locked])
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))].astype(np.int64)
    objective = float(prob.vals[chosen].sum() + prob.locked_vals.sum())
    demand_counts = np.bincount(pairs[:, 0], minlength=prob.n).astype(np.int64)
    provider_counts = np.bincount(pairs[:, 1], minlength=prob.m).astype(np.int64)
    floors = prob.floors if prob.floors is not None else np.zeros(prob.n, np.int64)
    unmet = np.maximum(floors - demand_counts, 0).astype(np.int64)
    return Assignment(pairs.reshape(-1, 2), objective, demand_counts, provider_counts, unmet, cert)


def assign(
    affinity: Any,
    capacity: ArrayLike,
    max_per_demand: ArrayLike = 1,
    *,
    min_per_demand: ArrayLike | None = None,
    forbidden: ArrayLike | None = None,
    locked: ArrayLike | None = None,
    depth_discount: ArrayLike | None = None,
) -> Assignment:
    """Assign providers to demands with the largest total affinity, exactly.

    Parameters
    ----------
    affinity : scipy.sparse matrix or array, shape (n_demands, n_providers)
        Every stored entry is a candidate pair with its affinity (>= 0; a stored 0 is a candidate of
        zero value). Absent entries are not candidates.
    capacity : array_like of int, shape (n_providers,)
        Most demands each provider can serve (>= 0).
    max_per_demand : int or array_like of int, shape (n_demands,), default 1
        Most providers each demand takes (its wanted number).
    min_per_demand : int or array_like of int, optional
        Floors. Coverage comes first: the assignment serves as many floor units as capacity allows,
        then maximises affinity; floors left unmet are reported in ``unmet_floors``.
    forbidden : array_like of int, shape (n, 2), optional
        (demand, provider) pairs that must not be chosen.
    locked : array_like of int, shape (n, 2), optional
        Candidate pairs that must be chosen; they use capacity and wanted numbers.
    depth_discount : array_like of float, optional
        Positive, non-increasing weights of a demand's 1st, 2nd, ... provider (e.g. ``[1, 0.8, 0.6]``);
        the solver maximises the discounted sum, so breadth comes before depth. When every demand
        wants at most one provider (or all weights are equal) the discount only scales the objective
        and the pairs are those of the undiscounted problem.

    Returns
    -------
    Assignment
        The chosen pairs, their total affinity (undiscounted), counts, unmet floors and the dual
        certificate proving optimality over the candidate pairs.

    Raises
    ------
    MatcherError
        A precise subclass for malformed input or contradictory locked pairs.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_array([[0.9, 0.5], [0.8, 0.0]])
    >>> assign(a, capacity=[1, 1]).pairs.tolist()
    [[0, 1], [1, 0]]
    """
    prob = _validate(affinity, capacity, max_per_demand, min_per_demand, forbidden, locked, depth_discount)
    chosen, cert = _solve(prob)
    return _assignment(prob, chosen, cert)


# --------------------------------------------------------------------------------------------
# Independent check of an assignment and its certificate
# --------------------------------------------------------------------------------------------


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
