"""A vectorised epsilon-scaling auction for the b-matching: near-optimal pairs and dual prices.

Demands bid for providers. Provider ``j`` has ``capacity[j]`` copies, each priced at the bid of
its holder (a vacated copy keeps its last price); the provider's price is its cheapest copy. Every
round, each demand with free slots and ``f`` of them free bids for its ``f`` most profitable
providers it does not hold yet (so a pair is never taken twice), raising each by the gap to the
next option plus ``eps`` (Jacobi bidding). Each provider keeps its ``capacity`` highest bids. In one
phase a copy is priced above 0 only while held, so a provider that is not full costs 0, and the
result satisfies eps-complementary slackness; the solver turns it into an exact, certified optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["AuctionState", "auction"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(eq=False)
class AuctionState:
    """Pairs grouped by demand (CSR ``starts``), who holds what, and the copy prices of providers."""

    rows: IntArray
    cols: IntArray
    vals: FloatArray
    starts: IntArray
    slots: IntArray
    copy_start: IntArray
    held: BoolArray
    bid: FloatArray  # price paid by each held pair
    count: IntArray  # pairs held per demand
    copy_price: FloatArray
    copy_pair: IntArray  # pair holding each copy, -1 when vacant
    price: FloatArray  # cheapest copy per provider

    @classmethod
    def start(
        cls, rows: IntArray, cols: IntArray, vals: FloatArray, n: int, slots: IntArray, capacity: IntArray
    ) -> AuctionState:
        """Empty assignment, all prices 0; ``rows`` must be sorted."""
        starts = np.searchsorted(rows, np.arange(n + 1))
        copy_start = np.concatenate([[0], np.cumsum(capacity)])
        total = int(copy_start[-1])
        return cls(
            rows,
            cols,
            vals,
            starts,
            slots,
            copy_start,
            np.zeros(rows.shape[0], bool),
            np.zeros(rows.shape[0]),
            np.zeros(n, np.int64),
            np.zeros(total),
            np.full(total, -1, np.int64),
            np.zeros(capacity.shape[0]),
        )

    def best_open_profit(self) -> FloatArray:
        """Per demand, the best profit of a provider it does not hold (at least 0: a slot may stay empty)."""
        profit = np.where(self.held, -np.inf, self.vals - self.price[self.cols])
        return _segment_max(profit, self.starts)

    def demand_price(self) -> FloatArray:
        """Price of a demand's slots: 0 with a free slot, else the best profit it forgoes."""
        return np.where(self.count < self.slots, 0.0, self.best_open_profit())


def _segment_max(values: FloatArray, starts: IntArray) -> FloatArray:
    out = np.zeros(starts.shape[0] - 1)
    nonempty = np.flatnonzero(starts[1:] > starts[:-1])
    if nonempty.size:
        out[nonempty] = np.maximum(np.maximum.reduceat(values, starts[nonempty]), 0.0)
    return out


def _ranges(starts: IntArray, stops: IntArray) -> tuple[IntArray, IntArray]:
    """Concatenated index ranges and, for each index, the number of its range."""
    lens = stops - starts
    seg = np.repeat(np.arange(lens.shape[0]), lens)
    idx = np.arange(seg.shape[0]) - np.repeat(np.cumsum(lens) - lens, lens) + starts[seg]
    return idx, seg


def _bids(state: AuctionState, bidders: IntArray, eps: float) -> tuple[IntArray, FloatArray, IntArray]:
    """Each bidder's bids: pair, amount, and the bidders that found nothing worth bidding for."""
    idx, seg = _ranges(state.starts[bidders], state.starts[bidders + 1])
    if idx.shape[0] == 0:
        return idx, np.zeros(0), bidders
    profit = np.where(state.held[idx], -np.inf, state.vals[idx] - state.price[state.cols[idx]])
    if (state.count[bidders] + 1 == state.slots[bidders]).all():
        return _single_bids(state, bidders, idx, seg, profit, eps)
    return _sorted_bids(state, bidders, idx, seg, profit, eps)


def _sorted_bids(
    state: AuctionState, bidders: IntArray, idx: IntArray, seg: IntArray, profit: FloatArray, eps: float
) -> tuple[IntArray, FloatArray, IntArray]:
    """``_bids`` for any number of free slots: each bidder's options sorted by profit."""
    order = np.lexsort((-profit, seg))
    idx, seg, profit = idx[order], seg[order], profit[order]
    first = np.searchsorted(seg, np.arange(bidders.shape[0]))
    rank = np.arange(seg.shape[0]) - first[seg]
    free = (state.slots - state.count)[bidders]
    lens = np.bincount(seg, minlength=bidders.shape[0])
    runner_up = np.where(free < lens, profit[np.minimum(first + free, seg.shape[0] - 1)], 0.0)
    runner_up = np.maximum(runner_up, 0.0)
    take = (rank < free[seg]) & (profit > eps)
    pairs = idx[take]
    amounts = state.price[state.cols[pairs]] + profit[take] - runner_up[seg[take]] + eps
    idle = bidders[np.bincount(seg[take], minlength=bidders.shape[0]) == 0]
    return pairs, amounts, idle


def _single_bids(
    state: AuctionState, bidders: IntArray, idx: IntArray, seg: IntArray, profit: FloatArray, eps: float
) -> tuple[IntArray, FloatArray, IntArray]:
    """``_bids`` when every bidder has one free slot: best and second-best profit by segment maxima.

    The same bids as sorting every bidder's options (the first of tied best options wins), without the
    sort, which dominated the auction's time.
    """
    lens = np.bincount(seg, minlength=bidders.shape[0])
    starts = np.cumsum(lens) - lens
    best, second = np.full(lens.shape[0], -np.inf), np.full(lens.shape[0], -np.inf)
    some = np.flatnonzero(lens > 0)
    best[some] = np.maximum.reduceat(profit, starts[some])
    tops = np.flatnonzero(profit == best[seg])
    tops = tops[np.concatenate([[True], seg[tops[1:]] != seg[tops[:-1]]])] if tops.size else tops
    profit = profit.copy()
    profit[tops] = -np.inf
    second[some] = np.maximum.reduceat(profit, starts[some])
    top_seg = seg[tops]
    take = best[top_seg] > eps
    pairs, won = idx[tops[take]], top_seg[take]
    amounts = state.price[state.cols[pairs]] + best[won] - np.maximum(second[won], 0.0) + eps
    idle = bidders[np.bincount(won, minlength=bidders.shape[0]) == 0]
    return pairs, amounts, idle


def _settle(state: AuctionState, pairs: IntArray, amounts: FloatArray) -> IntArray:
    """Each provider keeps its ``capacity`` highest prices among its copies and the new bids.

    Returns the demands that lost a pair to a higher bid.
    """
    providers = np.unique(state.cols[pairs])
    cidx, cseg = _ranges(state.copy_start[providers], state.copy_start[providers + 1])
    bseg = np.searchsorted(providers, state.cols[pairs])
    seg = np.concatenate([cseg, bseg])
    value = np.concatenate([state.copy_price[cidx], amounts])
    who = np.concatenate([state.copy_pair[cidx], pairs])
    fresh = np.concatenate([np.zeros(cidx.shape[0], bool), np.ones(pairs.shape[0], bool)])
    order = np.lexsort((-value, seg))
    seg, value, who, fresh = seg[order], value[order], who[order], fresh[order]
    rank = np.arange(seg.shape[0]) - np.searchsorted(seg, seg)
    caps = state.copy_start[providers + 1] - state.copy_start[providers]
    keep = rank < caps[seg]
    lost = who[~keep & ~fresh & (who >= 0)]
    state.held[lost] = False
    np.subtract.at(state.count, state.rows[lost], 1)
    won = who[keep]
    gained = who[keep & fresh]
    state.held[gained] = True
    np.add.at(state.count, state.rows[gained], 1)
    state.copy_price[cidx] = value[keep]  # cidx is in provider order, as is the kept block
    state.copy_pair[cidx] = won
    state.bid[won[won >= 0]] = value[keep][won >= 0]
    state.price[providers] = np.minimum.reduceat(
        value[keep], np.searchsorted(seg[keep], np.arange(providers.shape[0]))
    )
    return np.asarray(state.rows[lost], np.int64)


def _phase(state: AuctionState, eps: float, max_scans: float) -> bool:
    waiting = np.flatnonzero(state.count < state.slots)
    scans = 0
    while scans <= max_scans:
        if waiting.size == 0:
            return True
        scans += int((state.starts[waiting + 1] - state.starts[waiting]).sum())
        pairs, amounts, _ = _bids(state, waiting, eps)
        if pairs.size == 0:
            return True
        displaced = _settle(state, pairs, amounts)
        bidders = np.unique(state.rows[pairs])
        waiting = np.union1d(bidders, displaced)
        waiting = waiting[state.count[waiting] < state.slots[waiting]]
    return False


def auction(state: AuctionState, eps: float, max_scans: float = np.inf) -> bool:
    """Bid until no demand with a free slot finds a provider worth more than ``eps`` (in place).

    ``max_scans`` bounds the work: the candidate entries the bidders look at, summed over the rounds.
    Returns False when the auction stopped there, unfinished (a price war).

    One phase at a small ``eps``: epsilon-scaling would shorten price wars, but each new phase
    releases pairs and leaves vacant copies priced above 0, which the exact finish must then undo
    one negative cycle at a time (measured slower on every profile of the benchmark grid). Scaling with
    reverse bids by vacant copies (their prices fall back to 0 each phase) keeps the prices consistent,
    but on near-equal scores the Jacobi rounds per phase still grow as 1 / eps (measured slower too).
    """
    return _phase(state, eps, max_scans)
