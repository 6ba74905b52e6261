"""The min-cost-flow network of a (restricted) problem, on integer costs, and its dual certificate.

Nodes: the root (0), the floor hub (1), demands, providers; with a depth discount also one node per
demand slot and one per candidate pair. Each demand supplies its free slots; the root absorbs them all:

    demand -> root        cap slots - floors      a slot left empty
    demand -> hub -> root cap floors / sum(floors) - best coverage   (floors only)
    demand -> provider    cap 1, cost -affinity   a pair (no discount)
    demand -> slot -> pair node -> provider      slot t of a demand weighs depth_discount[t]
    provider -> root      cap capacity

A provider of capacity c is one node. The structural arcs come first and the pair arcs are appended
round by round, so the flow of one pricing round is a prefix of the next one's (warm start).
Affinities are scaled by a power of two and rounded to int64, as large as the kernel's potentials
allow (about 2**-44 of the largest affinity): the kernel is exact on these integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from matcher.solver._flow import Auction
from matcher.solver._options import Progress, SolverOptions
from matcher.solver._problem import BoolArray, IntArray, _Problem, _Residual, _within_row_rank
from matcher.types import Certificate

ROOT, HUB = 0, 1


def cost_scale(prob: _Problem, n_nodes: int) -> float:
    """Power of two turning affinities into integer costs whose path sums fit in int64."""
    top = max(float(prob.vals.max(initial=0.0)), float(prob.locked_vals.max(initial=0.0)))
    if prob.weights is not None:
        top *= float(prob.weights.max())
    if top <= 0.0:
        return 1.0
    room = 2.0**62 / (8.0 * (n_nodes + 2))  # potentials stay within n_nodes path lengths
    return float(2.0 ** math.floor(math.log2(room / top)))


@dataclass(eq=False)
class Network:
    """Arcs (growing by pair blocks), supplies, node layout and the flow state between rounds."""

    prob: _Problem
    res: _Residual
    scale: float
    n_nodes: int
    first_slot: int
    first_pair: int
    slot_start: IntArray
    tail: list[IntArray] = field(default_factory=list)
    head: list[IntArray] = field(default_factory=list)
    lower: list[IntArray] = field(default_factory=list)
    upper: list[IntArray] = field(default_factory=list)
    cost: list[IntArray] = field(default_factory=list)
    pair_arc: list[IntArray] = field(default_factory=list)  # per pair block: arc carrying the pair
    pair_index: list[IntArray] = field(default_factory=list)  # per pair block: candidate index
    n_arcs: int = 0
    provider_arcs: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # provider -> root

    @property
    def n(self) -> int:
        return self.prob.n

    def add(
        self,
        tail: IntArray,
        head: IntArray | int,
        upper: IntArray,
        cost: IntArray | int = 0,
        lower: IntArray | int = 0,
    ) -> IntArray:
        size = tail.shape[0]
        self.tail.append(np.asarray(tail, np.int64))
        self.head.append(np.broadcast_to(np.asarray(head, np.int64), (size,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, np.int64), (size,)))
        self.cost.append(np.broadcast_to(np.asarray(cost, np.int64), (size,)))
        self.lower.append(np.broadcast_to(np.asarray(lower, np.int64), (size,)))
        first = self.n_arcs
        self.n_arcs += size
        return np.arange(first, self.n_arcs, dtype=np.int64)

    def arrays(self) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
        return tuple(  # type: ignore[return-value]
            np.ascontiguousarray(np.concatenate(part), np.int64)
            for part in (self.tail, self.head, self.lower, self.upper, self.cost)
        )

    def supply(self) -> IntArray:
        out = np.zeros(self.n_nodes, np.int64)
        out[2 : 2 + self.n] = self.res.slots
        out[ROOT] = -int(self.res.slots.sum())
        return out

    def start_potentials(
        self, idx: IntArray, options: SolverOptions, progress: Progress, scaled: bool
    ) -> tuple[IntArray, IntArray | None]:
        """Start prices and a start assignment from a forward auction over candidates ``idx``.

        The auction runs one phase at the final increment, or with ``scaled`` by epsilon-scaling
        phases: on all candidates of a contended problem the one-phase auction fights a price war
        that only coarse phases settle cheaply; elsewhere the extra phases cost more than they save.

        A provider's price is its auction price; a demand that holds all its wanted number is priced
        at the smallest margin it holds (every held pair starts tight), one with an empty slot at its
        best margin among the pairs it does not hold, at least 0 (its empty slots start tight): the
        pairs the auction left within its increment of the prices are the only ones the kernel
        repairs. Any start is correct (the kernel saturates the arcs it prices
        negative); one near the optimum keeps its searches short. Returns the potentials and which
        candidates the auction holds, sorted (None with a depth discount: no auction there).
        """
        prob, res, pot = self.prob, self.res, np.zeros(self.n_nodes, np.int64)
        if prob.weights is not None:
            return self._discounted_start(pot), None
        rows, cols = prob.rows[idx], prob.cols[idx]
        vals = np.rint(prob.vals[idx] * self.scale).astype(np.int64)
        progress.report("start")
        starts = np.searchsorted(rows, np.arange(prob.n + 1)).astype(np.int64)
        auction = Auction(starts, rows, cols, vals, res.slots, res.capacity)
        first = options.start_first_eps_bits if scaled else options.start_eps_bits
        budget = int(options.start_bids_per_pair * idx.shape[0])
        _run_auction(auction, int(vals.max(initial=0)), first, budget, options, progress)
        price, held = auction.prices(), auction.holds()
        progress.report("start")
        low, high = np.iinfo(np.int64).min, np.iinfo(np.int64).max
        margin = np.where(res.capacity[cols] > 0, vals - price[cols], low)
        some = np.flatnonzero(starts[1:] > starts[:-1])  # demands with candidates (segments of idx)
        best_free = np.zeros(prob.n, np.int64)  # an empty slot is worth 0
        best_free[some] = np.maximum(np.maximum.reduceat(np.where(held, low, margin), starts[some]), 0)
        smallest_held = np.full(prob.n, high, np.int64)
        smallest_held[some] = np.minimum.reduceat(np.where(held, margin, high), starts[some])
        full = np.bincount(rows[held], minlength=prob.n) >= res.slots
        pot[2 : 2 + prob.n] = np.where(full, np.maximum(smallest_held, 0), best_free)
        pot[2 + prob.n : 2 + prob.n + prob.m] = -price
        return pot, idx[held]

    def start_flow(self, holds: IntArray) -> IntArray:
        """Flow of the held candidates ``holds`` (sorted, all in the network's only pair block so far)
        and of their providers."""
        flow = np.concatenate(self.lower).astype(np.int64)
        (arcs,), (idx,) = self.pair_arc, self.pair_index
        flow[arcs[np.searchsorted(idx, holds)]] = 1
        served = np.bincount(self.prob.cols[holds], minlength=self.prob.m)
        flow[self.provider_arcs] = np.maximum(flow[self.provider_arcs], served)
        return flow

    def _discounted_start(self, pot: IntArray) -> IntArray:
        """A demand (and its slots) priced at its best affinity: its best pair starts tight."""
        prob = self.prob
        assert prob.weights is not None
        best = np.zeros(prob.n)
        np.maximum.at(best, prob.rows, prob.vals)
        if prob.locked.shape[0]:
            np.maximum.at(best, prob.locked[:, 0], prob.locked_vals)
        w = prob.weights
        pot[2 : 2 + prob.n] = np.rint(best * w[0] * self.scale)
        owner = np.repeat(np.arange(prob.n), self.res.slots)
        depth = _within_row_rank(owner, prob.n)
        pot[self.first_slot : self.first_pair] = np.rint(best[owner] * w[depth] * self.scale)
        return pot

    def add_pairs(self, idx: IntArray, fixed: bool = False) -> None:
        """Append the arcs of candidates ``idx`` (indices into the problem's candidates, or locked)."""
        prob, res = self.prob, self.res
        rows, cols, vals = (
            (prob.locked[idx, 0], prob.locked[idx, 1], prob.locked_vals[idx])
            if fixed
            else (prob.rows[idx], prob.cols[idx], prob.vals[idx])
        )
        provider = 2 + prob.n + cols
        if prob.weights is None:
            arcs = self.add(
                2 + rows,
                provider,
                np.ones(idx.shape[0], np.int64),
                -np.rint(vals * self.scale).astype(np.int64),
            )
        else:
            node = self.first_pair + idx + (prob.rows.shape[0] if fixed else 0)
            per = res.slots[rows]
            pair_of = np.repeat(np.arange(idx.shape[0]), per)
            depth = np.arange(pair_of.shape[0]) - np.repeat(np.cumsum(per) - per, per)
            weight = np.rint(prob.weights[depth] * vals[pair_of] * self.scale).astype(np.int64)
            self.add(
                self.first_slot + self.slot_start[rows[pair_of]] + depth,
                node[pair_of],
                np.ones(pair_of.shape[0], np.int64),
                -weight,
            )
            arcs = self.add(node, provider, np.ones(idx.shape[0], np.int64), 0, int(fixed))
        if not fixed:
            self.pair_arc.append(arcs)
            self.pair_index.append(np.asarray(idx, np.int64))


def build(prob: _Problem, res: _Residual) -> Network:
    """The structural arcs (no pair yet; locked pairs too when the network keeps them)."""
    n, m = prob.n, prob.m
    slot_start = np.zeros(n + 1, np.int64)
    first_slot = 2 + n + m
    if prob.weights is not None:
        np.cumsum(res.slots, out=slot_start[1:])
    first_pair = first_slot + int(slot_start[-1])
    n_nodes = first_pair + (prob.rows.shape[0] + prob.locked.shape[0] if prob.weights is not None else 0)
    net = Network(prob, res, cost_scale(prob, n_nodes), n_nodes, first_slot, first_pair, slot_start)
    demand = 2 + np.arange(n, dtype=np.int64)
    floors = res.floors if res.floors is not None else np.zeros(n, np.int64)
    net.add(demand, ROOT, res.slots - floors)
    if res.floors is not None:
        net.add(demand, HUB, floors)
        net.add(np.array([HUB]), ROOT, np.array([int(floors.sum()) - res.coverage]))
    net.provider_arcs = net.add(2 + n + np.arange(m, dtype=np.int64), ROOT, res.capacity)
    if prob.weights is not None:
        owner = np.repeat(np.arange(n), res.slots)
        net.add(2 + owner, first_slot + np.arange(owner.shape[0]), np.ones(owner.shape[0], np.int64))
        if res.keeps_locked and prob.locked.shape[0]:
            net.add_pairs(np.arange(prob.locked.shape[0]), fixed=True)
    return net


def certificate(net: Network, pot: IntArray, tol: float) -> Certificate:
    """Float dual prices from the kernel's integer potentials (root at 0)."""
    prob, res = net.prob, net.res
    n, m = prob.n, prob.m
    p = (pot - pot[ROOT]).astype(np.float64) / net.scale
    demand_price = p[2 : 2 + n].copy()
    # A capacity's dual is never negative. The kernel leaves a provider without network load at any
    # price its arc to the root allows (a start price below zero stays there); raising it to zero
    # only makes that provider's unchosen pairs less attractive, so every other condition still holds.
    provider_price = np.maximum(-p[2 + n : 2 + n + m], 0.0)
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
        slot_price[owner, depth] = p[net.first_slot : net.first_pair]
    floor_price = float(-p[HUB]) if res.floors is not None else 0.0
    return Certificate(slot_price, provider_price, demand_price, floor_price, weights, tol)


def integer_gain(net: Network, pot: IntArray, idx: IntArray) -> IntArray:
    """Exact (integer) gain of adding candidates ``idx``: positive means the prices reject leaving it out."""
    prob = net.prob
    rows, cols, vals = prob.rows[idx], prob.cols[idx], prob.vals[idx]
    provider_pot = pot[2 + prob.n + cols]
    if prob.weights is None:
        return np.rint(vals * net.scale).astype(np.int64) - pot[2 + rows] + provider_pot
    best = np.full(idx.shape[0], np.iinfo(np.int64).min, np.int64)
    for t in range(prob.weights.shape[0]):
        has = net.res.slots[rows] > t
        slot_pot = pot[net.first_slot + net.slot_start[rows[has]] + t]
        w = np.rint(prob.weights[t] * vals[has] * net.scale).astype(np.int64)
        best[has] = np.maximum(best[has], w - slot_pot)
    return np.where(best == np.iinfo(np.int64).min, -1, best + provider_pot)


def chosen_mask(net: Network, flow: IntArray) -> BoolArray:
    """Which candidates the flow chose."""
    chosen = np.zeros(net.prob.rows.shape[0], bool)
    for arcs, idx in zip(net.pair_arc, net.pair_index, strict=True):
        chosen[idx] = flow[arcs] > 0
    return chosen


def _run_auction(
    auction: Auction, top: int, first: int, budget: int, options: SolverOptions, progress: Progress
) -> None:
    """Phases of increment top / 2**b for b = ``first``, then every ``start_eps_step_bits`` more,
    down to ``start_eps_bits``; in slices, reporting between them. ``budget`` bids in all (a price
    war that no phase settles ends there)."""
    bits = min(first, options.start_eps_bits)
    while True:
        auction.phase(max(1, top >> bits), options.start_backoff)
        while not auction.run(options.slice_seconds, budget):
            progress.report("start")
            if auction.bids >= budget:
                return
        if bits >= options.start_eps_bits:
            return
        progress.report("start")
        bits = min(bits + options.start_eps_step_bits, options.start_eps_bits)
