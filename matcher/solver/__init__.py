"""Exact capacity-constrained assignment of providers to demands, certified by dual prices.

The problem is a maximum-weight b-matching: demand ``i`` takes at most ``max_per_demand[i]``
providers, provider ``j`` serves at most ``capacity[j]`` demands, each candidate pair at most once;
floors (coverage first), locked and forbidden pairs and depth discounts are part of the same network
(``_network``). A thin validating wrapper (``_problem``, ``_assign``) hands it to one compiled kernel
(``_flow.pyx``: successive shortest paths with potentials on integer costs), first on each demand's
few best candidates; the left-out candidates are priced by the kernel's duals and the violators added
until none is left (``_solve``). ``method="scaling"`` runs a second exact kernel on the same network
(``_scaling.pyx``: cost-scaling push-relabel, behind ``_cost_scaling``). The returned certificate
holds over all candidates and :func:`certificate_violation` checks it independently (``_check``).
"""

from matcher.solver._assign import assign
from matcher.solver._check import certificate_violation
from matcher.solver._options import SolveProgress, SolverOptions

__all__ = ["SolveProgress", "SolverOptions", "assign", "certificate_violation"]
