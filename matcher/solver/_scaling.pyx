# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cost-scaling push-relabel min-cost flow (Goldberg and Tarjan), on integer costs, in compiled code.

The kernel multiplies every cost by ``n_nodes + 1`` and keeps int64 prices whose reduced costs
``cost + price[tail] - price[head]`` are >= -eps on every residual arc (eps-optimality). Each phase
(a "refine") divides eps by ``alpha``, saturates the arcs priced below -eps and discharges the
resulting excesses by pushes along admissible arcs (reduced cost < 0, scanned from each node's
current arc) and relabels (a node's price drops until one of its arcs turns admissible). When eps
reaches 1 on the multiplied costs, every residual cycle has a cost >= 0 and the flow is optimal. Two
heuristics keep the refines short: the look-ahead (before pushing into a node with no excess, relabel
it first if it has no admissible arc, so no flow is pushed into a dead end) and the global price
update (a bucket search from the deficits that lowers every price at once by its distance in units
of eps, run at the start of a refine and after every ``n_nodes`` relabels). Last, the prices divided
by ``n_nodes + 1`` are corrected by a label-correcting pass into integer potentials that certify the
flow exactly on the original costs. Work runs in slices of a given duration without the GIL.
"""

import numpy as np
from libc.stdint cimport int32_t, int64_t
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC

cdef int64_t PRICE_LIMIT = 2305843009213693952  # 2**61: |price| stays below, so sums never overflow
cdef int64_t INF = 4611686018427387903  # 2**62 - 1

# Stages of the state machine that ``run`` advances slice by slice.
cdef enum:
    LAYOUT = 4
    START_EPS = 5
    NEXT_REFINE = 0
    DISCHARGE = 1
    POTENTIALS = 2
    DONE = 3

# Status codes of ``run``.
FINISHED, TIME_UP, INFEASIBLE, OVERFLOW = 1, 0, -1, -2


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + 1e-9 * ts.tv_nsec


cdef inline int64_t _floor_div(int64_t a, int64_t b) noexcept nogil:
    """Floor of a / b for b > 0 (C division truncates toward zero)."""
    cdef int64_t q = a / b
    if q * b > a:
        q -= 1
    return q


cdef class ScalingKernel:
    """Cost-scaling min-cost flow state: residual arcs, prices, excesses, active stack, buckets.

    Parameters
    ----------
    tail, head, lower, upper, cost : ndarray of int64, shape (n_arcs,)
        The arcs; ``lower <= upper``; ``|cost| * (n_nodes + 1) <= 2**59`` (the wrapper checks it).
    supply : ndarray of int64, shape (n_nodes,)
        Net supply of each node; the supplies sum to zero.
    flow : ndarray of int64, shape (n_arcs,)
        Starting flow within the bounds; holds the kernel's flow after :meth:`flows`.
    pot : ndarray of int64, shape (n_nodes,)
        Starting potentials (``|pot| * (n_nodes + 1) <= 2**60``); the exact optimal potentials once
        :meth:`run` returned 1.
    alpha : int
        Factor by which eps shrinks between refines (>= 2).
    price_update : bool
        Run the global price update heuristic.
    look_ahead : bool
        Run the look-ahead heuristic.

    Each arc is stored twice, leaving its tail and leaving its head, next to the other arcs leaving
    the same node; ``mate`` links the two copies.
    """

    cdef readonly int64_t n_nodes, n_arcs, refines, total_refines, pushes, relabels, updates, corrections
    cdef readonly int64_t eps, multiplier, scanned, root_relabels
    cdef int64_t alpha, stage, stack_size, since_update, q_head, q_tail
    cdef bint price_update, look_ahead
    cdef int64_t[::1] flow, pot, lower, upper
    cdef const int64_t[::1] tail, head, cost
    cdef int64_t[::1] price, excess, adj_start, adj_res, adj_cost, forward, rank, buckets
    cdef int32_t[::1] adj_head, adj_mate, cur, stack, bucket_next, bucket_prev, queue
    cdef signed char[::1] queued

    def __init__(self, tail, head, lower, upper, cost, supply, flow, pot, alpha=5, price_update=True,
                 look_ahead=True):
        self.flow, self.pot, self.lower, self.upper = flow, pot, lower, upper
        self.n_nodes = supply.shape[0]
        self.n_arcs = tail.shape[0]
        self.alpha = alpha
        self.price_update = price_update
        self.look_ahead = look_ahead
        n, e = self.n_nodes, self.n_arcs
        self.multiplier = n + 1
        self.excess = np.array(supply, dtype=np.int64)
        self.price = np.asarray(pot, dtype=np.int64) * self.multiplier
        self.adj_start = np.zeros(n + 1, np.int64)
        self.adj_head = np.empty(2 * e, np.int32)
        self.adj_mate = np.empty(2 * e, np.int32)
        self.adj_res = np.empty(2 * e, np.int64)
        self.adj_cost = np.empty(2 * e, np.int64)
        self.forward = np.empty(e, np.int64)
        self.cur = np.zeros(n, np.int32)
        self.stack = np.empty(n, np.int32)
        self.rank = np.zeros(n, np.int64)
        self.buckets = np.empty(alpha * n + 2, np.int64)
        self.bucket_next = np.empty(n + 1, np.int32)
        self.bucket_prev = np.empty(n + 1, np.int32)
        self.queue = np.empty(n, np.int32)
        self.queued = np.zeros(n, np.int8)
        self.refines = self.pushes = self.relabels = self.updates = self.corrections = 0
        self.scanned = self.root_relabels = 0
        self.stack_size = self.since_update = 0
        self.tail, self.head, self.cost = tail, head, cost
        self.eps = 0
        self.total_refines = 1
        self.stage = LAYOUT  # laid out in the first slice, without the GIL

    cdef void _build(self) noexcept nogil:
        """Lay out the residual arcs of the starting flow (costs multiplied)."""
        cdef int64_t a, v, f, i, j, n = self.n_nodes, e = self.n_arcs, mult = self.multiplier
        cdef const int64_t[::1] tail = self.tail, head = self.head, cost = self.cost
        cdef int64_t[::1] fill = self.rank  # scratch: next free position per node
        for a in range(e):
            self.adj_start[tail[a] + 1] += 1
            self.adj_start[head[a] + 1] += 1
        for v in range(n):
            self.adj_start[v + 1] += self.adj_start[v]
            fill[v] = self.adj_start[v]
        for a in range(e):
            f = self.flow[a]
            self.excess[tail[a]] -= f
            self.excess[head[a]] += f
            i = fill[tail[a]]
            fill[tail[a]] += 1
            j = fill[head[a]]
            fill[head[a]] += 1
            self.adj_head[i], self.adj_res[i], self.adj_cost[i], self.adj_mate[i] = head[a], self.upper[a] - f, cost[a] * mult, j
            self.adj_head[j], self.adj_res[j], self.adj_cost[j], self.adj_mate[j] = tail[a], f - self.lower[a], -cost[a] * mult, i
            self.forward[a] = i
        for v in range(n):
            self.cur[v] = self.adj_start[v]

    cdef int64_t _violation(self) noexcept nogil:
        """Largest negative reduced cost of a residual arc (0 when the prices are optimal already)."""
        cdef int64_t u, k, rc, worst = 0, pu
        for u in range(self.n_nodes):
            pu = self.price[u]
            for k in range(self.adj_start[u], self.adj_start[u + 1]):
                if self.adj_res[k] > 0:
                    rc = self.adj_cost[k] + pu - self.price[self.adj_head[k]]
                    if -rc > worst:
                        worst = -rc
        return worst

    cdef int64_t _count_refines(self) noexcept nogil:
        cdef int64_t eps = self.eps, count = 0
        while True:
            eps = eps // self.alpha if eps // self.alpha > 1 else 1
            count += 1
            if eps == 1:
                return count

    @property
    def fraction(self):
        """Share of the refines done (the last ones are usually the shortest)."""
        return min(1.0, self.refines / max(self.total_refines, 1))

    def flows(self):
        """Write the current flow into the ``flow`` array given at construction."""
        cdef int64_t a
        for a in range(self.n_arcs):
            self.flow[a] = self.upper[a] - self.adj_res[self.forward[a]]

    def min_reduced_cost(self):
        """Smallest reduced cost, on the original costs and potentials, of a residual arc."""
        cdef int64_t v, k, rc, worst = INF, mult = self.multiplier
        for v in range(self.n_nodes):
            for k in range(self.adj_start[v], self.adj_start[v + 1]):
                if self.adj_res[k] > 0:
                    rc = self.adj_cost[k] // mult + self.pot[v] - self.pot[self.adj_head[k]]
                    if rc < worst:
                        worst = rc
        return worst

    def run(self, double seconds):
        """Work for about ``seconds``: 1 when optimal, 0 when time ran out, -1 if infeasible, -2 when a
        price left the int64 range the kernel allows."""
        cdef int status
        with nogil:
            status = self._run(_now() + seconds)
        return status

    cdef int _run(self, double stop) noexcept nogil:
        cdef int status
        cdef int64_t count = 0
        cdef int32_t v
        while True:
            if self.stage == LAYOUT:  # each of these two passes over the arcs ends a slice
                self._build()
                self.stage = START_EPS
                return 0
            elif self.stage == START_EPS:
                self.eps = self._violation()
                self.total_refines = self._count_refines()
                self.stage = NEXT_REFINE
                return 0
            elif self.stage == NEXT_REFINE:
                self.eps = self.eps // self.alpha if self.eps // self.alpha > 1 else 1
                self._saturate()
                if self.price_update:
                    status = self._global_update()
                    if status < 0:
                        return status
                self.stage = DISCHARGE
            elif self.stage == DISCHARGE:
                if self.stack_size == 0:
                    self.refines += 1
                    self.stage = POTENTIALS if self.eps == 1 else NEXT_REFINE
                    continue
                if self.price_update and self.since_update >= self.n_nodes:
                    status = self._global_update()
                    if status < 0:
                        return status
                self.stack_size -= 1
                v = self.stack[self.stack_size]
                status = self._discharge(v)
                if status < 0:
                    return status
                count += 1
                if (count & 63) == 0 and _now() > stop:
                    return 0
            elif self.stage == POTENTIALS:
                if self._potentials(stop):
                    self.stage = DONE
                else:
                    return 0
            else:
                return 1

    cdef void _saturate(self) noexcept nogil:
        """Saturate every residual arc whose reduced cost is below -eps (the others already are
        eps-optimal: leaving them creates fewer excesses); stack the nodes left with excess."""
        cdef int64_t u, k, r, pu
        cdef int32_t w
        for u in range(self.n_nodes):
            pu = self.price[u]
            for k in range(self.adj_start[u], self.adj_start[u + 1]):
                r = self.adj_res[k]
                if r > 0:
                    w = self.adj_head[k]
                    if self.adj_cost[k] + pu - self.price[w] < -self.eps:
                        self.adj_res[k] = 0
                        self.adj_res[self.adj_mate[k]] += r
                        self.excess[u] -= r
                        self.excess[w] += r
            self.cur[u] = self.adj_start[u]
        self.stack_size = 0
        for u in range(self.n_nodes):
            if self.excess[u] > 0:
                self.stack[self.stack_size] = u
                self.stack_size += 1

    cdef inline bint _has_admissible(self, int32_t w) noexcept nogil:
        """Whether ``w`` has an admissible arc from its current arc on (and move the current arc to it)."""
        cdef int64_t k, end = self.adj_start[w + 1], pw = self.price[w]
        for k in range(self.cur[w], end):
            if self.adj_res[k] > 0 and self.adj_cost[k] + pw - self.price[self.adj_head[k]] < 0:
                self.cur[w] = k
                return True
        self.cur[w] = end
        return False

    cdef int _relabel(self, int32_t v) noexcept nogil:
        """Lower ``v``'s price so that one of its residual arcs turns admissible.

        A drop of eps suffices as soon as a residual arc would become admissible by it: the scan
        stops there and that arc becomes the current one (the arcs before it stay inadmissible).
        Otherwise the price drops to the best arc's reduced cost -eps, and the scan restarts.
        """
        cdef int64_t k, end = self.adj_start[v + 1], cand, best = -INF, pv = self.price[v]
        cdef int64_t guaranteed = pv - self.eps
        if guaranteed < -PRICE_LIMIT:
            return -2
        self.relabels += 1
        self.since_update += 1
        if v == 0:
            self.root_relabels += 1
        for k in range(self.adj_start[v], end):
            if self.adj_res[k] > 0:
                cand = self.price[self.adj_head[k]] - self.adj_cost[k]  # v's arc is admissible below it
                if cand > best:
                    if cand > guaranteed:
                        self.scanned += k - self.adj_start[v] + 1
                        self.price[v] = guaranteed
                        self.cur[v] = k
                        return 0
                    best = cand
        self.scanned += end - self.adj_start[v]
        if best == -INF:
            return -1
        pv = best - self.eps
        if pv < -PRICE_LIMIT:
            return -2
        self.price[v] = pv
        self.cur[v] = self.adj_start[v]
        return 0

    cdef int _discharge(self, int32_t v) noexcept nogil:
        """Push ``v``'s excess along admissible arcs, relabelling it when none is left."""
        cdef int64_t k, end, delta, pv, status
        cdef int32_t w
        while self.excess[v] > 0:
            end = self.adj_start[v + 1]
            pv = self.price[v]
            k = self.cur[v]
            while k < end:
                if self.adj_res[k] > 0:
                    w = self.adj_head[k]
                    if self.adj_cost[k] + pv - self.price[w] < 0:
                        if self.look_ahead and self.excess[w] == 0 and not self._has_admissible(w):
                            status = self._relabel(w)
                            if status == -2:
                                return status
                            # (-1: no residual arc leaves w yet; the push creates its way back)
                            if status == 0 and self.adj_cost[k] + pv - self.price[w] >= 0:
                                k += 1
                                continue
                        delta = self.adj_res[k] if self.adj_res[k] < self.excess[v] else self.excess[v]
                        self.adj_res[k] -= delta
                        self.adj_res[self.adj_mate[k]] += delta
                        self.excess[v] -= delta
                        if self.excess[w] <= 0 < self.excess[w] + delta:
                            self.stack[self.stack_size] = w
                            self.stack_size += 1
                        self.excess[w] += delta
                        self.pushes += 1
                        if self.excess[v] == 0:
                            break
                k += 1
            self.cur[v] = k
            if self.excess[v] > 0:
                status = self._relabel(v)
                if status < 0:
                    return status
        return 0

    cdef int _global_update(self) noexcept nogil:
        """Lower every price by eps times its distance (in eps units) to the nearest deficit."""
        cdef int64_t n = self.n_nodes, max_rank = self.alpha * n, end = n
        cdef int64_t u, k, ra, r, total = 0, old_rank, new_rank, nrc, pu, b0 = end, low
        cdef int32_t v, pv_, nv
        self.updates += 1
        self.since_update = 0
        for r in range(max_rank + 1):
            self.buckets[r] = end
        for u in range(n):
            if self.excess[u] < 0:
                self.rank[u] = 0
                self.bucket_next[u] = <int32_t>b0
                self.bucket_prev[b0] = <int32_t>u
                b0 = u
            else:
                total += self.excess[u]
                self.rank[u] = max_rank
        if total == 0:
            return 0
        self.buckets[0] = b0
        r = 0
        while r < max_rank:
            while self.buckets[r] != end:
                u = self.buckets[r]
                self.buckets[r] = self.bucket_next[u]
                pu = self.price[u]
                for k in range(self.adj_start[u], self.adj_start[u + 1]):
                    ra = self.adj_mate[k]
                    if self.adj_res[ra] > 0:
                        v = self.adj_head[k]
                        old_rank = self.rank[v]
                        if r < old_rank:
                            # floor, not truncation: an arc of reduced cost in (-eps, 0) joins
                            # the same bucket, so every reduced cost stays >= -eps after the update
                            nrc = _floor_div(self.adj_cost[ra] + self.price[v] - pu, self.eps)
                            new_rank = old_rank
                            if nrc < max_rank:
                                new_rank = r + 1 + nrc if nrc >= -1 else r
                            if new_rank < old_rank:
                                self.rank[v] = new_rank
                                if old_rank < max_rank:
                                    if self.buckets[old_rank] == v:
                                        self.buckets[old_rank] = self.bucket_next[v]
                                    else:
                                        pv_ = self.bucket_prev[v]
                                        nv = self.bucket_next[v]
                                        self.bucket_next[pv_] = nv
                                        self.bucket_prev[nv] = pv_
                                nv = <int32_t>self.buckets[new_rank]
                                self.bucket_next[v] = nv
                                self.bucket_prev[nv] = v
                                self.buckets[new_rank] = v
                if self.excess[u] > 0:
                    total -= self.excess[u]
                    if total <= 0:
                        break
            if total <= 0:
                break
            r += 1
        for u in range(n):
            k = self.rank[u] if self.rank[u] < r else r
            if k > 0:
                low = -PRICE_LIMIT + self.eps * k if k < PRICE_LIMIT / self.eps else PRICE_LIMIT
                if self.price[u] < low:
                    return -2
                self.price[u] -= self.eps * k
                self.cur[u] = self.adj_start[u]
        return 0

    cdef bint _potentials(self, double stop) noexcept nogil:
        """Integer potentials from the 1-optimal prices: divide by the multiplier, then lower labels
        along residual arcs of negative reduced cost until none is left (a label-correcting pass that
        ends since the optimal flow's residual graph has no negative cycle)."""
        cdef int64_t u, k, n = self.n_nodes, mult = self.multiplier, count = 0, pu, cand
        cdef int32_t w
        if self.q_head == 0 and self.q_tail == 0:
            for u in range(n):
                self.pot[u] = _floor_div(self.price[u], mult)
                self.queue[u] = <int32_t>u
                self.queued[u] = 1
            self.q_tail = n
        while self.q_head != self.q_tail:
            u = self.queue[self.q_head % n]
            self.q_head += 1
            self.queued[u] = 0
            pu = self.pot[u]
            for k in range(self.adj_start[u], self.adj_start[u + 1]):
                if self.adj_res[k] > 0:
                    w = self.adj_head[k]
                    cand = pu + self.adj_cost[k] // mult
                    if cand < self.pot[w]:
                        self.pot[w] = cand
                        self.corrections += 1
                        if not self.queued[w]:
                            self.queued[w] = 1
                            self.queue[self.q_tail % n] = w
                            self.q_tail += 1
            count += 1
            if (count & 1023) == 0 and _now() > stop:
                return False
        return True
