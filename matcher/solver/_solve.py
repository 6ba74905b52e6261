"""The solve: a network of each demand's best candidates, the compiled kernel, pricing, repeat."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher.errors import SolverError
from matcher.solver._cost_scaling import run_scaling
from matcher.solver._flow import FlowKernel
from matcher.solver._network import Network, build, certificate, chosen_mask, integer_gain
from matcher.solver._options import Progress, SolverOptions, run_in_slices
from matcher.solver._problem import BoolArray, IntArray, _Problem, _Residual, _residual
from matcher.types import Certificate

METHODS = ("auto", "pruned", "full", "scaling")


def solve(
    prob: _Problem, method: str, options: SolverOptions, progress: Progress
) -> tuple[BoolArray, Certificate]:
    """Optimal chosen candidates and the certificate over all of them."""
    if _uniform_discount(prob):
        chosen, cert = solve(replace(prob, weights=None), method, options, progress)
        return chosen, _discounted_certificate(prob, cert)
    progress.report("coverage")
    res, carried = _residual(prob)
    progress.report("coverage")
    tol = options.relative_tolerance * prob.scale
    net = build(prob, res)
    progress.report("coverage")
    # Cost scaling runs on every candidate: a warm start from a pricing round's potentials leaves it
    # a small eps for price changes far larger than eps (a price war, as in an auction).
    whole = method in ("full", "scaling")
    subset = res.active.copy() if whole else _initial_subset(prob, res, carried, options)
    idx = np.flatnonzero(subset)
    progress.report("start")
    if method == "scaling":  # cost scaling needs no start prices: eps-scaling finds them
        pot, holds = np.zeros(net.n_nodes, np.int64), None
    else:
        pot, holds = net.start_potentials(idx, options, progress, scaled=method == "full")
    progress.report("start")
    if not whole:
        rejected = _violators(net, pot, np.flatnonzero(res.active & ~subset), options, progress, "start")
        if _beyond_increment(net, pot, rejected, options) > prob.n * options.contention:
            if method == "auto":  # contention: the best few candidates do not hold the optimum
                subset = res.active.copy()
                idx = np.flatnonzero(subset)
                pot, holds = net.start_potentials(idx, options, progress, scaled=True)
        else:  # the few rejected pairs join the first solve: re-routing their demands later costs more
            subset[rejected] = True
            idx = np.flatnonzero(subset)
    net.add_pairs(idx)
    progress.report("start")
    flow = net.start_flow(holds) if holds is not None else np.concatenate(net.lower).astype(np.int64)
    rerouted = np.zeros(0, np.int64)
    for _ in range(options.max_rounds):
        flow, pot = _run_kernel(net, flow, pot, options, progress, rerouted, method == "scaling")
        progress.report("price")
        idx = _violators(net, pot, np.flatnonzero(res.active & ~subset), options, progress, "price")
        if idx.shape[0] == 0:
            return chosen_mask(net, flow), certificate(net, pot, tol)
        subset[idx] = True
        net.add_pairs(idx)
        rerouted = np.unique(prob.rows[idx])
    raise SolverError(f"candidate pricing did not settle within {options.max_rounds} rounds")


def _run_kernel(
    net: Network,
    flow: IntArray,
    pot: IntArray,
    options: SolverOptions,
    progress: Progress,
    rerouted: IntArray,
    scaling: bool = False,
) -> tuple[IntArray, IntArray]:
    """Optimal flow and potentials of the network, warm-started from the last round's."""
    tail, head, lower, upper, cost = net.arrays()
    start = np.concatenate([flow, lower[flow.shape[0] :]])
    if rerouted.shape[0] and net.prob.weights is None:
        _reroute(rerouted, tail, head, lower, cost, start, pot)
    progress.report("solve", 0.0)
    arcs = (tail, head, lower, upper, cost)
    if scaling and run_scaling(arcs, net.supply(), start, pot, options.slice_seconds, progress):
        return start, pot
    kernel = FlowKernel(tail, head, lower, upper, cost, net.supply(), start, pot)
    if run_in_slices(kernel, options.slice_seconds, progress, "kernel's") < 0:
        raise SolverError("the flow network has no feasible flow (a defect: slack arcs keep it feasible)")
    return start, pot


def _beyond_increment(net: Network, pot: IntArray, idx: IntArray, options: SolverOptions) -> int:
    """How many of the pairs ``idx`` the start prices reject by more than the auction's increment:
    the prices are only that accurate, so smaller gains (exact ties among copies) say nothing of
    contention."""
    eps = max(1, int(np.rint(float(net.prob.vals.max(initial=0.0)) * net.scale)) >> options.start_eps_bits)
    return int(np.count_nonzero(integer_gain(net, pot, idx) > eps))


def _violators(
    net: Network, pot: IntArray, outside: IntArray, options: SolverOptions, progress: Progress, stage: str
) -> IntArray:
    """The candidates of ``outside`` whose exact gain at ``pot`` is positive, by blocks with a report
    after each (millions of left-out candidates take longer than a report may wait)."""
    block = options.report_every
    parts = []
    for start in range(0, outside.shape[0], block):
        part = outside[start : start + block]
        parts.append(part[integer_gain(net, pot, part) > 0])
        progress.report(stage)
    return np.concatenate(parts) if parts else outside


def _reroute(
    demands: IntArray,
    tail: IntArray,
    head: IntArray,
    lower: IntArray,
    cost: IntArray,
    flow: IntArray,
    pot: IntArray,
) -> None:
    """Take ``demands``' units back and price each demand at its best margin over all its arcs.

    Pairs the prices rejected were just added; saturating them would leave an excess at the provider
    and a deficit at the demand, joined only by long paths. A demand whose units are taken back has
    only arcs leaving it, all of reduced cost >= 0 at that price, and the providers it left have the
    deficits its units fill again, next to it (networks without a depth discount).
    """
    nodes = 2 + demands
    leaving = np.flatnonzero(np.isin(tail, nodes))
    flow[leaving] = lower[leaving]
    price = np.full(pot.shape[0], np.iinfo(np.int64).min, np.int64)
    np.maximum.at(price, tail[leaving], pot[head[leaving]] - cost[leaving])
    pot[nodes] = price[nodes]


def _initial_subset(prob: _Problem, res: _Residual, carried: BoolArray, options: SolverOptions) -> BoolArray:
    """Each demand's wanted number plus ``extra_candidates`` best candidates, and the floor carriers."""
    return res.active & (prob.rank < res.slots[prob.rows] + options.extra_candidates) | carried


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
