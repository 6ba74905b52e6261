# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Successive shortest paths with node potentials, on integer costs, in compiled code.

The network is given as arcs (tail, head, lower, upper, cost) with node supplies; the kernel keeps a
pseudoflow and int64 potentials whose reduced costs ``cost + pot[tail] - pot[head]`` are >= 0 on every
residual arc. Excess travels along shortest residual paths to the nearest deficits; the distances
then lower the potentials of the nodes a search settled, which keeps every reduced cost >= 0. Two
kinds of step do it: a single Dijkstra from one excess node, or a phase (one Dijkstra from all excess
nodes at once, then every path of zero reduced cost, depth first), which routes at once the many
excesses that lie at one distance from a deficit, as the auction's start leaves them; the step that
last cost fewer arc scans per unit routed runs next. When no excess is left the flow is optimal and the potentials are
its exact dual certificate. Work is done in slices of a given duration, so the caller can report
progress and stop between slices; the slices release the GIL.
"""

import numpy as np
from libc.stdint cimport int64_t, int8_t
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC

cdef int64_t INF = 4611686018427387903  # 2**62 - 1


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + 1e-9 * ts.tv_nsec


cdef class FlowKernel:
    """Min-cost flow state: residual arcs, potentials, excesses and the scratch space of Dijkstra.

    Parameters
    ----------
    tail, head, lower, upper, cost : ndarray of int64, shape (n_arcs,)
        The arcs; ``lower <= upper``.
    supply : ndarray of int64, shape (n_nodes,)
        Net supply of each node; the supplies sum to zero.
    flow : ndarray of int64, shape (n_arcs,)
        Starting flow within the bounds; holds the kernel's flow after :meth:`flows`.
    pot : ndarray of int64, shape (n_nodes,)
        Starting potentials, any values (updated in place).

    Each arc is stored twice, leaving its tail and leaving its head, next to the other arcs leaving
    the same node: a search reads a node's residual arcs (head, residual capacity, cost) in one
    contiguous run, and ``mate`` links the two copies of an arc.
    """

    cdef readonly int64_t n_nodes, n_arcs, total, routed, paths, settled_nodes, scanned_arcs
    cdef int64_t[::1] flow, pot, excess, lower, upper
    cdef int64_t[::1] adj_start, adj_head, adj_res, adj_cost, adj_mate, forward
    cdef int64_t[::1] dist, pred, seen, done, heap_key, heap_node, settled, queue, cur, onpath
    cdef int64_t stamp, heap_size, n_settled, q_head, q_tail
    cdef readonly int64_t phases, steps
    cdef double phase_cost, single_cost

    def __init__(self, tail, head, lower, upper, cost, supply, flow, pot):
        self.flow, self.pot, self.lower, self.upper = flow, pot, lower, upper
        self.n_nodes = supply.shape[0]
        self.n_arcs = tail.shape[0]
        n, e = self.n_nodes, self.n_arcs
        self.excess = np.array(supply, dtype=np.int64)
        self.adj_start = np.zeros(n + 1, np.int64)
        self.adj_head = np.empty(2 * e, np.int64)
        self.adj_res = np.empty(2 * e, np.int64)
        self.adj_cost = np.empty(2 * e, np.int64)
        self.adj_mate = np.empty(2 * e, np.int64)
        self.forward = np.empty(e, np.int64)
        self.dist = np.zeros(n, np.int64)
        self.pred = np.full(n, -1, np.int64)
        self.seen = np.zeros(n, np.int64)
        self.done = np.zeros(n, np.int64)
        self.heap_key = np.empty(max(16, 2 * e + n), np.int64)
        self.heap_node = np.empty(max(16, 2 * e + n), np.int64)
        self.settled = np.empty(n, np.int64)
        self.queue = np.empty(n, np.int64)
        self.cur = np.zeros(n, np.int64)
        self.onpath = np.zeros(n, np.int64)
        self.phases = 0
        self.steps = 0
        self.phase_cost = 0.0
        self.single_cost = 1.0  # unknown until tried: the first step is a phase, the eighth a batch
        self.stamp = 0
        self.total = 0
        self.routed = 0
        self.paths = 0
        self.settled_nodes = 0
        self.scanned_arcs = 0
        self._build(tail, head, cost)
        self._enqueue()

    cdef void _build(self, const int64_t[::1] tail, const int64_t[::1] head, const int64_t[::1] cost):
        """Saturate the arcs the potentials price negative, empty the positive ones, lay out residuals."""
        cdef int64_t a, v, f, rc, i, j, n = self.n_nodes, e = self.n_arcs
        cdef int64_t[::1] fill = self.dist  # scratch: next free position per node
        for a in range(e):
            self.adj_start[tail[a] + 1] += 1
            self.adj_start[head[a] + 1] += 1
        for v in range(n):
            self.adj_start[v + 1] += self.adj_start[v]
            fill[v] = self.adj_start[v]
        for a in range(e):
            f = self.flow[a]
            rc = cost[a] + self.pot[tail[a]] - self.pot[head[a]]
            if rc < 0:
                f = self.upper[a]
            elif rc > 0:
                f = self.lower[a]
            self.flow[a] = f
            self.excess[tail[a]] -= f
            self.excess[head[a]] += f
            i = fill[tail[a]]
            fill[tail[a]] += 1
            j = fill[head[a]]
            fill[head[a]] += 1
            self.adj_head[i], self.adj_res[i], self.adj_cost[i], self.adj_mate[i] = head[a], self.upper[a] - f, cost[a], j
            self.adj_head[j], self.adj_res[j], self.adj_cost[j], self.adj_mate[j] = tail[a], f - self.lower[a], -cost[a], i
            self.forward[a] = i
        for v in range(n):
            fill[v] = 0

    cdef void _enqueue(self) noexcept nogil:
        cdef int64_t v
        self.q_head = 0
        self.q_tail = 0
        for v in range(self.n_nodes):
            if self.excess[v] > 0:
                self.queue[self.q_tail] = v
                self.q_tail += 1
                self.total += self.excess[v]

    @property
    def fraction(self):
        """Share of the starting excess routed so far."""
        return 1.0 if self.total == 0 else self.routed / self.total

    def flows(self):
        """Write the current flow into the ``flow`` array given at construction."""
        cdef int64_t a
        for a in range(self.n_arcs):
            self.flow[a] = self.upper[a] - self.adj_res[self.forward[a]]

    def run(self, double seconds):
        """Route excess for about ``seconds``; 1 when done, 0 when time ran out, -1 if infeasible."""
        cdef int status
        with nogil:
            status = self._run(seconds)
        return status

    cdef int _run(self, double seconds) noexcept nogil:
        """Route excess in steps: a phase (one search from all excess nodes, then every tight path) or
        a batch of single-source searches, whichever last cost fewer arc scans per unit routed (the
        other one is tried again every eighth step, as the costs drift while the excess drains)."""
        cdef double stop = _now() + seconds
        cdef int64_t waiting, moved, scanned, v, count
        cdef bint batched
        while True:
            waiting = self._waiting()
            if waiting == 0:
                return 1
            self.steps += 1
            batched = (self.phase_cost <= self.single_cost) != ((self.steps & 7) == 0)
            scanned, moved = self.scanned_arcs, self.routed
            if batched:
                if self._phase() < 0:
                    return -1
            else:
                count = 0
                while count < 64 and self.q_head < self.q_tail:
                    v = self.queue[self.q_head]
                    if self.excess[v] <= 0:
                        self.q_head += 1
                        continue
                    if not self._augment(v):
                        return -1
                    count += 1
                    if _now() > stop:  # one search can settle thousands of nodes: check after each
                        break
            moved = self.routed - moved
            scanned = (self.scanned_arcs - scanned) / max(moved, 1) + 1
            if batched:
                self.phase_cost = scanned
            else:
                self.single_cost = scanned
            if _now() > stop:
                return 0

    cdef int64_t _waiting(self) noexcept nogil:
        """Drop the routed nodes from the front of the queue; count the excess nodes left."""
        cdef int64_t i, count = 0
        while self.q_head < self.q_tail and self.excess[self.queue[self.q_head]] <= 0:
            self.q_head += 1
        for i in range(self.q_head, self.q_tail):
            if self.excess[self.queue[i]] > 0:
                count += 1
        return count

    cdef int64_t _phase(self) noexcept nogil:
        """One search from all excess nodes to the nearest deficit, then every path of zero reduced cost.

        The distances lower the potentials of the settled nodes as in :meth:`_augment` (the nodes not
        settled are at least the reach away), which makes every shortest path to the reach tight;
        a depth-first search with current arcs then routes the excess along tight paths. Returns
        the units routed, or -1 when no deficit is reachable.
        """
        cdef int64_t i, v, w, k, d, nd, reach = -1, pv
        self.stamp += 1
        self.heap_size = 0
        self.n_settled = 0
        for i in range(self.q_head, self.q_tail):
            v = self.queue[i]
            if self.excess[v] > 0 and self.seen[v] != self.stamp:
                self.dist[v] = 0
                self.seen[v] = self.stamp
                self._push(0, v)
        while self.heap_size > 0:
            d = self.heap_key[0]
            v = self._pop()
            if self.done[v] == self.stamp or d > self.dist[v]:
                continue
            if self.excess[v] < 0:
                reach = d
                break
            self.done[v] = self.stamp
            self.settled[self.n_settled] = v
            self.n_settled += 1
            pv = self.pot[v] + d
            self.scanned_arcs += self.adj_start[v + 1] - self.adj_start[v]
            for k in range(self.adj_start[v], self.adj_start[v + 1]):
                if self.adj_res[k] <= 0:
                    continue
                w = self.adj_head[k]
                if self.done[w] == self.stamp:
                    continue
                nd = pv + self.adj_cost[k] - self.pot[w]
                if self.seen[w] != self.stamp or nd < self.dist[w]:
                    self.seen[w] = self.stamp
                    self.dist[w] = nd
                    self._push(nd, w)
        self.phases += 1
        self.settled_nodes += self.n_settled
        if reach < 0:
            return -1
        for i in range(self.n_settled):
            v = self.settled[i]
            self.pot[v] += self.dist[v] - reach
        return self._tight_paths()

    cdef int64_t _tight_paths(self) noexcept nogil:
        """Route excess along residual paths of zero reduced cost (depth first, current arcs).

        A node is dead for the rest of the call once none of its tight arcs leads on; a node is not
        entered twice on one path (tight cycles). Returns the units routed.
        """
        cdef int64_t mark, qi, s, v, w, k, depth, delta, i, moved = 0, nxt
        cdef int64_t[::1] path = self.settled  # scratch: the arcs of the current path
        self.stamp += 1
        mark = self.stamp
        for qi in range(self.q_head, self.q_tail):
            s = self.queue[qi]
            while self.excess[s] > 0 and self.done[s] != mark:
                if self.seen[s] != mark:
                    self.seen[s] = mark
                    self.cur[s] = self.adj_start[s]
                depth = 0
                v = s
                self.onpath[s] = mark
                while True:
                    if self.excess[v] < 0:
                        delta = min(self.excess[s], -self.excess[v])
                        for i in range(depth):
                            delta = min(delta, self.adj_res[path[i]])
                        for i in range(depth):
                            k = path[i]
                            self.adj_res[k] -= delta
                            self.adj_res[self.adj_mate[k]] += delta
                            self.onpath[self.adj_head[k]] = 0
                        self.excess[s] -= delta
                        self.excess[v] += delta
                        self.routed += delta
                        self.paths += 1
                        moved += delta
                        break
                    nxt = -1
                    while self.cur[v] < self.adj_start[v + 1]:
                        k = self.cur[v]
                        if self.adj_res[k] > 0:
                            w = self.adj_head[k]
                            if (
                                self.done[w] != mark
                                and self.onpath[w] != mark
                                and self.adj_cost[k] + self.pot[v] - self.pot[w] == 0
                            ):
                                nxt = k
                                break
                        self.cur[v] += 1
                    if nxt >= 0:
                        w = self.adj_head[nxt]
                        path[depth] = nxt
                        depth += 1
                        self.onpath[w] = mark
                        if self.seen[w] != mark:
                            self.seen[w] = mark
                            self.cur[w] = self.adj_start[w]
                        v = w
                    else:
                        self.done[v] = mark
                        self.onpath[v] = 0
                        if depth == 0:
                            break
                        depth -= 1
                        v = self.adj_head[self.adj_mate[path[depth]]]
                        self.cur[v] += 1
                self.onpath[s] = 0
        return moved

    cdef inline void _push(self, int64_t key, int64_t node) noexcept nogil:
        cdef int64_t i = self.heap_size, parent
        self.heap_size += 1
        while i > 0:
            parent = (i - 1) >> 1
            if self.heap_key[parent] <= key:
                break
            self.heap_key[i] = self.heap_key[parent]
            self.heap_node[i] = self.heap_node[parent]
            i = parent
        self.heap_key[i] = key
        self.heap_node[i] = node

    cdef inline int64_t _pop(self) noexcept nogil:
        cdef int64_t top = self.heap_node[0], i = 0, child, last
        cdef int64_t key
        self.heap_size -= 1
        last = self.heap_size
        key = self.heap_key[last]
        while True:
            child = 2 * i + 1
            if child >= last:
                break
            if child + 1 < last and self.heap_key[child + 1] < self.heap_key[child]:
                child += 1
            if self.heap_key[child] >= key:
                break
            self.heap_key[i] = self.heap_key[child]
            self.heap_node[i] = self.heap_node[child]
            i = child
        self.heap_key[i] = key
        self.heap_node[i] = self.heap_node[last]
        return top

    cdef bint _augment(self, int64_t s) noexcept nogil:
        """One shortest path from ``s`` to the nearest deficit; push along it; update potentials."""
        cdef int64_t v, w, k, d, nd, found = -1, reach = 0, delta, pv
        self.stamp += 1
        self.heap_size = 0
        self.n_settled = 0
        self.dist[s] = 0
        self.seen[s] = self.stamp
        self._push(0, s)
        while self.heap_size > 0:
            d = self.heap_key[0]
            v = self._pop()
            if self.done[v] == self.stamp or d > self.dist[v]:
                continue
            self.done[v] = self.stamp
            self.settled[self.n_settled] = v
            self.n_settled += 1
            if self.excess[v] < 0:
                found, reach = v, d
                break
            pv = self.pot[v] + d
            self.scanned_arcs += self.adj_start[v + 1] - self.adj_start[v]
            for k in range(self.adj_start[v], self.adj_start[v + 1]):
                if self.adj_res[k] <= 0:
                    continue
                w = self.adj_head[k]
                if self.done[w] == self.stamp:
                    continue
                nd = pv + self.adj_cost[k] - self.pot[w]
                if self.seen[w] != self.stamp or nd < self.dist[w]:
                    self.seen[w] = self.stamp
                    self.dist[w] = nd
                    self.pred[w] = k
                    if nd == d and self.excess[w] < 0:  # a deficit at the current minimum: shortest
                        self.done[w] = self.stamp
                        self.settled[self.n_settled] = w
                        self.n_settled += 1
                        found, reach = w, d
                        break
                    self._push(nd, w)
            if found >= 0:
                break
        self.paths += 1
        self.settled_nodes += self.n_settled
        if found < 0:
            return False
        for k in range(self.n_settled):
            v = self.settled[k]
            self.pot[v] += self.dist[v] - reach
        delta = min(self.excess[s], -self.excess[found])
        v = found
        while v != s:
            k = self.pred[v]
            delta = min(delta, self.adj_res[k])
            v = self.adj_head[self.adj_mate[k]]
        v = found
        while v != s:
            k = self.pred[v]
            self.adj_res[k] -= delta
            self.adj_res[self.adj_mate[k]] += delta
            v = self.adj_head[self.adj_mate[k]]
        self.excess[s] -= delta
        self.excess[found] += delta
        self.routed += delta
        return True

    def min_reduced_cost(self):
        """Smallest reduced cost over the residual arcs (>= 0 certifies the flow optimal)."""
        cdef int64_t v, k, rc, worst = INF
        with nogil:
            for v in range(self.n_nodes):
                for k in range(self.adj_start[v], self.adj_start[v + 1]):
                    if self.adj_res[k] > 0:
                        rc = self.adj_cost[k] + self.pot[v] - self.pot[self.adj_head[k]]
                        if rc < worst:
                            worst = rc
        return worst


cdef class Auction:
    """A forward auction (Gauss-Seidel, one unit per bid) by phases of decreasing increment: the start
    of the kernel.

    Parameters
    ----------
    starts : ndarray of int64, shape (n + 1,)
        Demand ``i`` owns the candidates ``starts[i]:starts[i + 1]`` of ``rows``, ``cols``, ``vals``.
    rows, cols, vals : ndarray of int64, shape (e,)
        The candidates' demand, provider and integer value.
    wanted, capacity : ndarray of int64
        Units each demand bids for and places each provider holds.

    A demand unit bids for its best margin ``val - price`` over the providers it does not hold yet,
    raising the price by its lead over the runner-up (leaving a slot empty is worth 0) plus the
    phase's increment ``eps``. A provider of capacity c holds its c highest bids in a min-heap; its
    asking price is its reserve until it is full, then its lowest held bid. :meth:`phase` starts a
    phase: the prices reached so far become reserves, every unit is free again, and the new
    increment applies. Near-identical demands fighting over a few providers raise a price by about
    ``eps`` per bid, so a price war costs (value range) / ``eps`` bids: coarse phases settle it
    cheaply and the fine ones start from their prices (Bertsekas' epsilon-scaling).
    """

    cdef const int64_t[::1] starts, rows, cols, vals, wanted, capacity
    cdef int64_t n, m, e, q_head, q_tail, eps
    cdef int64_t[::1] hstart, hsize, free, queue, reserve, ask, heap_val, heap_arc, heap_pos
    cdef int8_t[::1] queued, held
    cdef readonly int64_t bids, releases

    def __init__(self, starts, rows, cols, vals, wanted, capacity):
        self.starts, self.rows, self.cols, self.vals = starts, rows, cols, vals
        self.wanted, self.capacity = wanted, capacity
        self.n, self.m, self.e = wanted.shape[0], capacity.shape[0], cols.shape[0]
        cdef int64_t j, k
        cdef int64_t[::1] deg = np.zeros(self.m, np.int64)
        for k in range(self.e):
            deg[self.cols[k]] += 1
        self.hstart = np.zeros(self.m + 1, np.int64)
        for j in range(self.m):
            self.hstart[j + 1] = self.hstart[j] + min(self.capacity[j], deg[j])
        self.hsize = np.zeros(self.m, np.int64)
        self.free = np.zeros(self.n, np.int64)
        self.queue = np.empty(self.n + 1, np.int64)
        self.queued = np.zeros(self.n, np.int8)
        self.held = np.zeros(self.e, np.int8)
        self.reserve = np.zeros(self.m, np.int64)
        self.ask = np.zeros(self.m, np.int64)
        self.heap_val = np.empty(max(1, self.hstart[self.m]), np.int64)
        self.heap_arc = np.empty(max(1, self.hstart[self.m]), np.int64)
        self.heap_pos = np.zeros(self.e, np.int64)
        self.bids = 0
        self.releases = 0
        self.eps = 1

    def phase(self, int64_t eps, int64_t backoff):
        """Start a phase of increment ``eps``: every unit bids again, each provider's reserve its price
        so far lowered by ``backoff`` times the last increment (a coarse phase overshoots by up to that
        much; a reserve left too high would keep the provider unfilled and force a release)."""
        cdef int64_t i, j, k
        with nogil:
            for j in range(self.m):
                if self.capacity[j] > 0 and self.hsize[j] == self.capacity[j]:
                    self.reserve[j] = self.heap_val[self.hstart[j]]
                self.reserve[j] = max(0, self.reserve[j] - backoff * self.eps)
                self.hsize[j] = 0
                self.ask[j] = self.reserve[j] if self.capacity[j] > 0 else INF
            for k in range(self.e):
                self.held[k] = 0
            self.q_head, self.q_tail = 0, 0
            for i in range(self.n):
                self.free[i] = min(self.wanted[i], self.starts[i + 1] - self.starts[i])
                self.queued[i] = self.free[i] > 0
                if self.free[i] > 0:
                    self.queue[self.q_tail] = i
                    self.q_tail += 1
        self.eps = eps

    def run(self, double seconds, int64_t max_bids):
        """Bid for about ``seconds`` or until ``max_bids`` bids in all; True when no unit wants to bid."""
        cdef bint done
        with nogil:
            done = self._run(_now() + seconds, max_bids)
        return done

    cdef bint _run(self, double stop, int64_t max_bids) noexcept nogil:
        cdef int64_t i, k, best, second, margin, arc, count = 0
        # local views of the arrays the bid scan reads: the compiler keeps their pointers in registers
        cdef const int64_t[::1] starts = self.starts, vals = self.vals, cols = self.cols
        cdef int64_t[::1] ask = self.ask
        cdef int8_t[::1] held = self.held
        while self.q_head != self.q_tail or self._release():
            if self.bids >= max_bids:
                return False
            count += 1
            if (count & 255) == 0 and _now() > stop:
                return False
            i = self.queue[self.q_head]
            self.q_head = (self.q_head + 1) % (self.n + 1)
            self.queued[i] = 0
            while self.free[i] > 0 and self.bids < max_bids:
                best, second, arc = -INF, 0, -1
                for k in range(starts[i], starts[i + 1]):
                    if held[k]:
                        continue
                    margin = vals[k] - ask[cols[k]]
                    if margin > best:
                        second = max(second, best)
                        best, arc = margin, k
                    elif margin > second:
                        second = margin
                if arc < 0 or best <= 0:
                    break
                self._bid(i, arc, vals[arc] - second + self.eps)
            if self.free[i] > 0 and self.bids >= max_bids and not self.queued[i]:
                self._requeue(i)  # the budget cut this demand short: it bids on if the run goes on
        return self.bids < max_bids

    cdef bint _release(self) noexcept nogil:
        """Drop the reserve of every provider the phase left unfilled (an unfilled provider's dual is
        0); a demand that now prefers such a provider by more than ``eps`` to its worst held one
        takes that bid back and bids again. False when no demand bids again."""
        cdef int64_t i, j, k, profit, best, worst, margin
        cdef bint dropped = False
        for j in range(self.m):
            if self.capacity[j] > 0 and self.hsize[j] < self.capacity[j] and self.reserve[j] > 0:
                self.reserve[j] = 0
                self.ask[j] = 0
                dropped = True
        if not dropped:
            return False
        self.releases += 1
        for i in range(self.n):
            best, profit, worst = -INF, INF, -1
            for k in range(self.starts[i], self.starts[i + 1]):
                margin = self.vals[k] - self.ask[self.cols[k]]
                if self.held[k]:
                    if margin < profit:
                        profit, worst = margin, k
                elif margin > best:
                    best = margin
            if self.free[i] > 0:
                profit = 0
            elif worst < 0:  # wants nothing (or has no candidate): nothing to take back
                continue
            if best > profit + self.eps and best > 0:
                if self.free[i] == 0:
                    self._withdraw(worst)
                if not self.queued[i]:
                    self._requeue(i)
        return self.q_head != self.q_tail  # bidding goes on only if some demand bids again

    cdef inline void _requeue(self, int64_t i) noexcept nogil:
        self.queued[i] = 1
        self.queue[self.q_tail] = i
        self.q_tail = (self.q_tail + 1) % (self.n + 1)

    cdef inline void _bid(self, int64_t i, int64_t arc, int64_t bid) noexcept nogil:
        """Place ``bid`` of demand ``i`` on candidate ``arc``; a full provider drops its lowest bid."""
        cdef int64_t j = self.cols[arc], out
        if self.hsize[j] == self.capacity[j]:  # full: the lowest bid leaves, the new one sifts down
            out = self.heap_arc[self.hstart[j]]
            self.held[out] = 0
            self.free[self.rows[out]] += 1
            if not self.queued[self.rows[out]] and self.rows[out] != i:
                self._requeue(self.rows[out])
            self._sift_down(j, 0, bid, arc)
        else:  # room: the new bid sifts up
            self.hsize[j] += 1
            self._sift_up(j, self.hsize[j] - 1, bid, arc)
        if self.hsize[j] == self.capacity[j]:
            self.ask[j] = self.heap_val[self.hstart[j]]
        self.held[arc] = 1
        self.free[i] -= 1
        self.bids += 1

    cdef inline void _sift_down(self, int64_t j, int64_t pos, int64_t val, int64_t arc) noexcept nogil:
        cdef int64_t h = self.hstart[j], child, last = self.hsize[j]
        while True:
            child = 2 * pos + 1
            if child >= last:
                break
            if child + 1 < last and self.heap_val[h + child + 1] < self.heap_val[h + child]:
                child += 1
            if self.heap_val[h + child] >= val:
                break
            self.heap_val[h + pos] = self.heap_val[h + child]
            self.heap_arc[h + pos] = self.heap_arc[h + child]
            self.heap_pos[self.heap_arc[h + pos]] = pos
            pos = child
        self.heap_val[h + pos] = val
        self.heap_arc[h + pos] = arc
        self.heap_pos[arc] = pos

    cdef inline void _sift_up(self, int64_t j, int64_t pos, int64_t val, int64_t arc) noexcept nogil:
        cdef int64_t h = self.hstart[j], parent
        while pos > 0:
            parent = (pos - 1) >> 1
            if self.heap_val[h + parent] <= val:
                break
            self.heap_val[h + pos] = self.heap_val[h + parent]
            self.heap_arc[h + pos] = self.heap_arc[h + parent]
            self.heap_pos[self.heap_arc[h + pos]] = pos
            pos = parent
        self.heap_val[h + pos] = val
        self.heap_arc[h + pos] = arc
        self.heap_pos[arc] = pos

    cdef void _withdraw(self, int64_t arc) noexcept nogil:
        """Take a held bid back: its provider is no longer full and asks its reserve again."""
        cdef int64_t j = self.cols[arc], h = self.hstart[j], pos = self.heap_pos[arc], val, last, moved
        self.hsize[j] -= 1
        last = self.hsize[j]
        if pos < last:
            val, moved = self.heap_val[h + last], self.heap_arc[h + last]
            if pos > 0 and self.heap_val[h + (pos - 1) // 2] > val:
                self._sift_up(j, pos, val, moved)
            else:
                self._sift_down(j, pos, val, moved)
        self.ask[j] = self.reserve[j]
        self.held[arc] = 0
        self.free[self.rows[arc]] += 1

    @property
    def pending(self):
        """Demands still waiting to bid in this phase."""
        return (self.q_tail - self.q_head) % (self.n + 1)

    def prices(self):
        """Each provider's price: its lowest held bid when full, 0 otherwise (an unfilled provider's
        capacity dual is 0)."""
        cdef int64_t j
        out = np.zeros(self.m, np.int64)
        cdef int64_t[::1] price = out
        for j in range(self.m):
            if self.capacity[j] > 0 and self.hsize[j] == self.capacity[j]:
                price[j] = self.heap_val[self.hstart[j]]
        return out

    def holds(self):
        """Which candidates hold a place."""
        return np.asarray(self.held).view(np.bool_)
