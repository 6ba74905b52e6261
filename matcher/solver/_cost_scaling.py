"""The validating wrapper of the cost-scaling kernel (``_scaling.pyx``): ranges, slices, progress."""

from __future__ import annotations

import numpy as np

from matcher.solver._options import Progress, run_in_slices
from matcher.solver._problem import IntArray
from matcher.solver._scaling import ScalingKernel

# The kernel multiplies costs by n_nodes + 1 and keeps prices within 2**61 of zero: costs so
# multiplied stay within 2**59 and starting prices within 2**60, so no reduced cost overflows int64.
COST_LIMIT = 2**59
START_LIMIT = 2**60
ALPHA = 5
# The global price update is off: on the 100,000 x 20,000 real round it doubled the kernel's time
# (8.8 s against 4.0 s of CPU), its bucket searches costing more than the relabels they save.
PRICE_UPDATE = False


def fits(cost: IntArray, n_nodes: int) -> bool:
    """Whether the kernel can run exactly on ``cost`` (the network's own scale always fits)."""
    top = int(np.abs(cost).max(initial=0))
    return top * (n_nodes + 1) <= COST_LIMIT


def run_scaling(
    arcs: tuple[IntArray, IntArray, IntArray, IntArray, IntArray],
    supply: IntArray,
    flow: IntArray,
    pot: IntArray,
    slice_seconds: float,
    progress: Progress,
) -> bool:
    """Optimal flow and exact potentials of the network, written into ``flow`` and ``pot``.

    ``flow`` is any flow within the bounds and ``pot`` any potentials (the kernel starts its eps at
    their largest violation; potentials too large to multiply are replaced by zeros). Returns False,
    leaving both arrays as given, when a price would leave the kernel's range (the caller then runs
    the other kernel); raises :class:`SolverError` if the network has no feasible flow.
    """
    tail, head, lower, upper, cost = arcs
    n_nodes = supply.shape[0]
    if not fits(cost, n_nodes):
        return False
    start = pot - pot[0]
    if int(np.abs(start).max(initial=0)) * (n_nodes + 1) > START_LIMIT:
        start = np.zeros_like(pot)
    progress.report("solve", 0.0)
    start_flow = flow.copy()
    kernel = ScalingKernel(
        tail, head, lower, upper, cost, supply, start_flow, start, alpha=ALPHA, price_update=PRICE_UPDATE
    )
    if run_in_slices(kernel, slice_seconds, progress, "cost-scaling kernel's") == -2:
        return False
    flow[:] = start_flow
    pot[:] = start
    return True
