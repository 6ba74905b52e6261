"""A vectorised auction in which providers bid for demands: near-optimal pairs and dual prices.

With mixed wanted numbers the demands want more providers than there is capacity, so a demand-side
auction must raise prices until the marginal demands drop out (thousands of rounds). Turned around,
the scarce side bids: provider ``j`` fills its ``capacity[j]`` units with distinct demands (so a pair
is never taken twice), demand ``i`` keeps the ``wanted[i]`` highest bids, and its price is the lowest
bid it keeps once it is full (0 before). A provider with ``f`` free units bids for its ``f`` most
profitable demands (affinity minus price) above ``eps``, each raised by the gap to its next option
plus ``eps`` (Jacobi bidding: all waiting providers bid at once; once few wait, one at a time). One
phase from zero prices; a demand's copies never fall vacant. At the end no pair left out is worth more
than ``eps`` above its prices, a demand with a free copy costs 0 and a provider with a free unit
costs 0. A chosen pair can sit more than ``eps`` below its prices (a provider that lost a demand and
won it back paid for its other demands against a runner-up that excluded it); the solver's exact
finish repairs that, and whatever a coarse increment left, before it certifies the answer.

Each round looks only at each bidder's best ``f + 1`` options, read from a window of its best
candidates (moved to the head of its list once, by a partition per provider) or, when the window
cannot decide, from the whole list; candidate lists are laid out as padded rows (grouped by length so
the padding stays below half) and ``argpartition`` picks them, instead of sorting every candidate of
every bidder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher._auction import _ranges

__all__ = ["ProviderAuction", "provider_auction"]

# Below this many waiting providers a round bids one provider at a time (see _sequential_round).
_SEQUENTIAL_BELOW = 16
# A bid first reads a provider's capacity + 1 + this many best candidates (see ProviderAuction._bids).
_WINDOW_SLACK = 32
# A price war grows the increment tenfold after this many bids per unit of capacity, at most this much.
_BIDS_PER_UNIT = 8.0
_COARSEST_FACTOR = 100.0

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _starts(counts: IntArray) -> IntArray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


@dataclass(frozen=True, eq=False)
class _Bids:
    pairs: IntArray
    amounts: FloatArray


@dataclass(eq=False)
class ProviderAuction:
    """Candidate pairs grouped by provider, who holds what, and the prices of demand copies.

    Attributes
    ----------
    held : ndarray of bool
        Chosen pairs, in the order given to :meth:`start`.
    demand_price : ndarray of float
        Lowest kept bid of each full demand, 0 for a demand with a free copy.
    """

    order: IntArray  # position of each provider-sorted pair in the caller's order
    provider: IntArray
    demand: IntArray
    vals: FloatArray
    starts: IntArray
    window: IntArray  # per provider: how many candidates lead its list, best ones (see _windows)
    beyond: FloatArray  # per provider: best affinity after the window (-inf if none)
    capacity: IntArray
    count: IntArray  # units held per provider
    held_sorted: BoolArray
    usable: BoolArray  # pairs whose demand wants someone
    copy_start: IntArray
    copy_pair: IntArray  # provider-sorted pair holding each demand copy, -1 when vacant
    copy_price: FloatArray
    price: FloatArray  # per demand

    @classmethod
    def start(
        cls, rows: IntArray, cols: IntArray, vals: FloatArray, wanted: IntArray, capacity: IntArray
    ) -> ProviderAuction:
        """Empty assignment and zero prices for the candidate pairs ``(rows[k], cols[k])``.

        Parameters
        ----------
        rows, cols : ndarray of int
            Demand and provider of each candidate pair (no pair listed twice).
        vals : ndarray of float
            Affinity of each pair.
        wanted, capacity : ndarray of int
            Most providers per demand, most demands per provider.

        Returns
        -------
        ProviderAuction
            The state before the first bid.
        """
        order, starts = _by_provider(cols, capacity.shape[0])
        window, beyond = _windows(order, starts, vals, capacity)
        copy_start = _starts(wanted)
        total = int(copy_start[-1])
        return cls(
            order,
            cols[order],
            rows[order],
            vals[order],
            starts,
            window,
            beyond,
            capacity,
            np.zeros(capacity.shape[0], np.int64),
            np.zeros(rows.shape[0], bool),
            wanted[rows[order]] > 0,
            copy_start,
            np.full(total, -1, np.int64),
            np.zeros(total),
            np.zeros(wanted.shape[0]),
        )

    @property
    def held(self) -> BoolArray:
        """Chosen pairs, in the caller's order."""
        out = np.zeros(self.held_sorted.shape[0], bool)
        out[self.order] = self.held_sorted
        return out

    @property
    def demand_price(self) -> FloatArray:
        """Per demand: the lowest bid it keeps when full, else 0."""
        return self.price

    def provider_price(self) -> FloatArray:
        """Per provider: 0 with a free unit, else the best profit of a demand it does not hold (>= 0)."""
        profit = np.where(self.held_sorted, -np.inf, self.vals - self.price[self.demand])
        best = np.zeros(self.capacity.shape[0])
        nonempty = np.flatnonzero(self.starts[1:] > self.starts[:-1])
        if nonempty.size:
            best[nonempty] = np.maximum(np.maximum.reduceat(profit, self.starts[nonempty]), 0.0)
        return np.where(self.count < self.capacity, 0.0, best)

    def run(self, eps: float, coarsest: float | None = None, bids_per_level: int | None = None) -> float:
        """Bid until no provider with a free unit finds a demand worth more than the increment (in place).

        A price war (many providers chasing the same few demands by tiny steps, as on real cosine
        scores) can take millions of bids at a fine increment. After ``bids_per_level`` bids the
        increment grows tenfold, up to ``coarsest``: the answer is then only ``coarsest``-optimal
        and the exact finish has more to repair, but the bidding ends.

        Parameters
        ----------
        eps : float
            First bid increment (> 0).
        coarsest : float, optional
            Largest increment (default ``eps``: never grows).
        bids_per_level : int, optional
            Bids allowed at each increment before it grows (default: unbounded).

        Returns
        -------
        float
            The increment in force at the end (the open-pair condition holds within it).
        """
        coarsest = eps if coarsest is None else max(coarsest, eps)
        budget = bids_per_level if bids_per_level is not None else np.iinfo(np.int64).max
        waiting, spent = np.flatnonzero(self.count < self.capacity), 0
        while waiting.size:
            if spent > budget and eps < coarsest:
                eps, spent = min(eps * 10, coarsest), 0
            if waiting.size <= _SEQUENTIAL_BELOW:
                waiting, made = self._sequential_round(waiting.tolist(), eps)
                spent += made
                continue
            bids = self._bids(waiting, eps)
            if bids.pairs.size == 0:
                break
            spent += bids.pairs.size
            displaced = self._settle(bids)
            waiting = _distinct(
                np.concatenate([self.provider[bids.pairs], displaced]), self.capacity.shape[0]
            )
            waiting = waiting[self.count[waiting] < self.capacity[waiting]]
        return eps

    def _sequential_round(self, bidders: list[int], eps: float) -> tuple[IntArray, int]:
        """Bidders one after another, each seeing the prices the previous ones set (Gauss-Seidel).

        The last rounds of an auction are price wars among a handful of providers, where the fixed
        cost of a vectorised round dominates; here each bid is settled at once. Returns the providers
        that still have a free unit and bid or lost a unit in this round, and the number of bids.
        """
        again: set[int] = set()
        made = 0
        for j in bidders:
            for pair, amount in self._bids_of(j, eps):
                loser = self._settle_one(pair, amount)
                made += 1
                again.add(j)
                if loser >= 0:
                    again.add(loser)
        out = np.fromiter(sorted(again), np.int64, len(again))
        return out[self.count[out] < self.capacity[out]], made

    def _bids_of(self, j: int, eps: float) -> list[tuple[int, float]]:
        """One provider's bids: its ``free`` best demands above ``eps``, each at the runner-up margin."""
        first, stop = int(self.starts[j]), int(self.starts[j + 1])
        free = int(self.capacity[j] - self.count[j])
        if free <= 0 or stop == first:
            return []
        window = first + int(self.window[j])
        bids = self._span_bids(first, window, free, eps)
        return bids if bids is not None else self._span_bids(first, stop, free, eps) or []

    def _span_bids(self, first: int, stop: int, free: int, eps: float) -> list[tuple[int, float]] | None:
        """Bids from candidates ``first:stop`` of one provider; None if the candidates past ``stop``
        could matter (see ``_bids``)."""
        span = slice(first, stop)
        profit = self.vals[span] - self.price[self.demand[span]]
        profit[self.held_sorted[span] | ~self.usable[span]] = -np.inf
        size = stop - first
        top = np.argpartition(-profit, free)[: free + 1] if size > free + 1 else np.arange(size)
        top = top[np.argsort(-profit[top])]
        runner_up = max(float(profit[top[free]]), 0.0) if top.shape[0] > free else 0.0
        j = int(self.provider[first])
        if stop < int(self.starts[j + 1]) and float(self.beyond[j]) > runner_up:
            return None
        return [
            (first + int(t), float(self.price[self.demand[first + t]] + profit[t] - runner_up + eps))
            for t in top[:free]
            if profit[t] > eps
        ]

    def _settle_one(self, pair: int, amount: float) -> int:
        """The bid takes the demand's cheapest copy; returns the provider it displaced, or -1."""
        i = int(self.demand[pair])
        lo, hi = int(self.copy_start[i]), int(self.copy_start[i + 1])
        copy = lo + int(np.argmin(self.copy_price[lo:hi]))
        old = int(self.copy_pair[copy])
        loser = -1
        if old >= 0:
            self.held_sorted[old] = False
            loser = int(self.provider[old])
            self.count[loser] -= 1
        self.copy_pair[copy], self.copy_price[copy] = pair, amount
        self.held_sorted[pair] = True
        self.count[self.provider[pair]] += 1
        self.price[i] = float(self.copy_price[lo:hi].min()) if (self.copy_pair[lo:hi] >= 0).all() else 0.0
        return loser

    def _bids(self, bidders: IntArray, eps: float) -> _Bids:
        """Bids of every bidder, read from the head of its candidate list where that is enough.

        Candidates are sorted by affinity and prices are >= 0, so no candidate past a window can
        offer more profit than the affinity just past it. When that bound does not exceed the
        runner-up found inside the window, the window decides; otherwise the whole list is read.
        """
        length = self.starts[bidders + 1] - self.starts[bidders]
        bidders, length = bidders[length > 0], length[length > 0]
        window = self.window[bidders]
        first, unsure = self._grouped_bids(bidders, window, eps)
        full, _ = self._grouped_bids(bidders[unsure], length[unsure], eps)
        return _Bids(np.concatenate([first.pairs, full.pairs]), np.concatenate([first.amounts, full.amounts]))

    def _grouped_bids(self, bidders: IntArray, width: IntArray, eps: float) -> tuple[_Bids, BoolArray]:
        """Bids from the first ``width`` candidates of each bidder, rows grouped by width (padding
        below half); also which bidders the window could not decide."""
        group = np.ceil(np.log2(np.maximum(width, 1))).astype(np.int64)
        pairs, amounts = [np.zeros(0, np.int64)], [np.zeros(0)]
        unsure = np.zeros(bidders.shape[0], bool)
        for g in np.unique(group):
            members = np.flatnonzero(group == g)
            bids, unsure[members] = self._window_bids(bidders[members], width[members], eps)
            pairs.append(bids.pairs)
            amounts.append(bids.amounts)
        return _Bids(np.concatenate(pairs), np.concatenate(amounts)), unsure

    def _window_bids(self, bidders: IntArray, length: IntArray, eps: float) -> tuple[_Bids, BoolArray]:
        first = self.starts[bidders]
        width = int(length.max(initial=0))
        free = self.capacity[bidders] - self.count[bidders]
        cells = first[:, None] + np.arange(width)[None, :]
        inside = np.arange(width)[None, :] < length[:, None]
        cells = np.where(inside, cells, 0)
        profit = np.where(
            inside & self.usable[cells] & ~self.held_sorted[cells],
            self.vals[cells] - self.price[self.demand[cells]],
            -np.inf,
        )
        top = min(int(free.max()), width - 1)
        if top < width - 1:
            part = np.argpartition(-profit, top, axis=1)[:, : top + 1]
        else:
            part = np.broadcast_to(np.arange(width), profit.shape)
        best = np.take_along_axis(profit, part, axis=1)
        ranked = np.argsort(-best, axis=1)
        part, best = np.take_along_axis(part, ranked, axis=1), np.take_along_axis(best, ranked, axis=1)
        row = np.arange(bidders.shape[0])
        kth = np.where(free < best.shape[1], best[row, np.minimum(free, best.shape[1] - 1)], -np.inf)
        runner_up = np.maximum(kth, 0.0)
        stop = self.starts[bidders + 1]
        beyond = np.where(first + length < stop, self.beyond[bidders], -np.inf)
        unsure = beyond > runner_up
        take = (np.arange(best.shape[1])[None, :] < free[:, None]) & (best > eps) & ~unsure[:, None]
        r, c = np.nonzero(take)
        pairs = cells[r, part[r, c]]
        amounts = self.price[self.demand[pairs]] + best[r, c] - runner_up[r] + eps
        return _Bids(pairs, amounts), unsure

    def _settle(self, bids: _Bids) -> IntArray:
        """Each demand keeps its ``wanted`` highest prices among its copies and the new bids.

        Returns the providers that lost a unit to a higher bid (one entry per lost unit).
        """
        demands = _distinct(self.demand[bids.pairs], self.price.shape[0])
        cidx, cseg = _ranges(self.copy_start[demands], self.copy_start[demands + 1])
        seg = np.concatenate([cseg, np.searchsorted(demands, self.demand[bids.pairs])])
        value = np.concatenate([self.copy_price[cidx], bids.amounts])
        who = np.concatenate([self.copy_pair[cidx], bids.pairs])
        fresh = np.concatenate([np.zeros(cidx.shape[0], bool), np.ones(bids.pairs.shape[0], bool)])
        order = np.lexsort((-value, seg))
        seg, value, who, fresh = seg[order], value[order], who[order], fresh[order]
        rank = np.arange(seg.shape[0]) - np.searchsorted(seg, seg)
        keep = rank < (self.copy_start[demands + 1] - self.copy_start[demands])[seg]
        lost = who[~keep & ~fresh & (who >= 0)]
        gained = who[keep & fresh]
        self.held_sorted[lost] = False
        self.held_sorted[gained] = True
        np.subtract.at(self.count, self.provider[lost], 1)
        np.add.at(self.count, self.provider[gained], 1)
        self.copy_price[cidx] = value[keep]  # cidx is in demand order, as is the kept block
        self.copy_pair[cidx] = who[keep]
        full = np.minimum.reduceat(np.where(who[keep] >= 0, value[keep], -np.inf), _group_firsts(seg[keep]))
        self.price[demands] = np.maximum(full, 0.0)
        return np.asarray(self.provider[lost], np.int64)


def _distinct(ids: IntArray, size: int) -> IntArray:
    """Sorted distinct values of ``ids`` (all in ``range(size)``): a mask beats hashing at this size."""
    seen = np.zeros(size, bool)
    seen[ids] = True
    return np.flatnonzero(seen)


def _by_provider(cols: IntArray, m: int) -> tuple[IntArray, IntArray]:
    """Order of the pairs grouped by provider, and where each provider's group starts."""
    keys = cols.astype(np.int16) if m <= np.iinfo(np.int16).max else cols  # 16-bit keys: radix sort
    order = np.asarray(np.argsort(keys, kind="stable"), np.int64)
    return order, np.searchsorted(cols[order], np.arange(m + 1))


def _windows(
    order: IntArray, starts: IntArray, vals: FloatArray, capacity: IntArray
) -> tuple[IntArray, FloatArray]:
    """Move each provider's ``capacity + 1 + _WINDOW_SLACK`` best candidates to the head of its group,
    best first (``order`` in place); return the window lengths and the best affinity after each window.

    A partition per provider (padded rows grouped by length), not a sort of every candidate.
    """
    length = np.diff(starts)
    window = np.minimum(length, capacity + 1 + _WINDOW_SLACK)
    beyond = np.full(capacity.shape[0], -np.inf)
    long = length > window
    group = np.ceil(np.log2(np.maximum(length, 1))).astype(np.int64)
    for g in np.unique(group[long]):
        members = np.flatnonzero(long & (group == g))
        beyond[members] = _partition_heads(order, starts[members], length[members], window[members], vals)
    return window, beyond


def _partition_heads(
    order: IntArray, first: IntArray, length: IntArray, window: IntArray, vals: FloatArray
) -> FloatArray:
    """For each group ``order[first:first + length]``: its ``window`` best first, sorted; returns the best
    affinity after the window."""
    width, top = int(length.max()), int(window.max())
    row = np.arange(first.shape[0])[:, None]
    inside = np.arange(width)[None, :] < length[:, None]
    cells = np.where(inside, first[:, None] + np.arange(width)[None, :], 0)
    values = np.where(inside, vals[order[cells]], -np.inf)
    perm = np.argpartition(-values, top - 1, axis=1)
    head = perm[:, :top]
    head = np.take_along_axis(head, np.argsort(-values[row, head], axis=1), axis=1)
    perm = np.concatenate([head, perm[:, top:]], axis=1)
    ranked = values[row, perm]
    rest = ranked[:, top:].max(axis=1) if width > top else np.full(first.shape[0], -np.inf)
    beyond = np.where(window < top, ranked[np.arange(first.shape[0]), np.minimum(window, top - 1)], rest)
    keep = inside[row, perm]
    order[cells[inside]] = order[cells[row, perm][keep]]
    return np.asarray(beyond, np.float64)


def _group_firsts(sorted_seg: IntArray) -> IntArray:
    return np.flatnonzero(np.concatenate([[True], sorted_seg[1:] != sorted_seg[:-1]]))


def provider_auction(
    rows: IntArray,
    cols: IntArray,
    vals: FloatArray,
    wanted: IntArray,
    capacity: IntArray,
    eps: float,
    coarsest: float | None = None,
    bids_per_unit: float | None = None,
) -> tuple[BoolArray, FloatArray]:
    """Run the provider-side auction; return the pairs it holds and node potentials for the finish.

    Parameters
    ----------
    rows, cols : ndarray of int
        Demand and provider of each candidate pair (no pair listed twice).
    vals : ndarray of float
        Affinity of each pair (>= 0).
    wanted, capacity : ndarray of int
        Most providers per demand, most demands per provider.
    eps : float
        First bid increment (> 0).
    coarsest : float, optional
        Largest increment a price war may push it to (default ``_COARSEST_FACTOR * eps``).
    bids_per_unit : float, optional
        Bids allowed per unit of capacity at each increment before it grows tenfold
        (default ``_BIDS_PER_UNIT``).

    Returns
    -------
    held : ndarray of bool
        The pairs chosen, in the given order.
    potentials : ndarray of float, shape (n_demands + n_providers,)
        Potentials of the demand nodes, then of the provider nodes, of the flow network
        ``root -> demand -> provider -> root`` (cost ``-affinity`` on pair arcs): a demand's price,
        then minus a provider's price: a start for the exact finish (see the module docstring for
        the conditions they meet).
    """
    state = ProviderAuction.start(rows, cols, vals, wanted, capacity)
    coarsest = _COARSEST_FACTOR * eps if coarsest is None else coarsest
    units = int(np.minimum(capacity, np.bincount(cols, minlength=capacity.shape[0])).sum())
    per_unit = _BIDS_PER_UNIT if bids_per_unit is None else bids_per_unit
    state.run(eps, coarsest, int(per_unit * max(units, 1)))
    return state.held, np.concatenate([state.demand_price, -state.provider_price()])
