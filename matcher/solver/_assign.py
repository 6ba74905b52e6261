"""The public entry point: validate, solve with the compiled kernel, return the certified assignment."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from matcher.errors import SolverOptionsError
from matcher.solver._options import Progress, ProgressCallback, SolverOptions
from matcher.solver._problem import BoolArray, _Problem, _validate
from matcher.solver._solve import METHODS, solve
from matcher.types import Assignment, Certificate


def assign(
    affinity: Any,
    capacity: ArrayLike,
    max_per_demand: ArrayLike = 1,
    *,
    min_per_demand: ArrayLike | None = None,
    forbidden: ArrayLike | None = None,
    locked: ArrayLike | None = None,
    depth_discount: ArrayLike | None = None,
    method: str = "auto",
    options: SolverOptions | None = None,
    callback: ProgressCallback | None = None,
) -> Assignment:
    """Assign providers to demands with the largest total affinity, exactly.

    One compiled min-cost-flow kernel (successive shortest paths with potentials, on integer costs)
    solves a network with one node per demand and per provider.

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
    method : {"auto", "pruned", "full", "scaling"}, default "auto"
        ``"pruned"``: the kernel first sees each demand's wanted number plus
        ``options.extra_candidates`` best candidates, and the pairs left out whose reduced profit under
        the resulting prices is positive are added until none is. ``"full"`` gives the kernel every
        candidate at once; both return an optimum certified over all candidates. ``"auto"`` starts
        as ``"pruned"`` and turns ``"full"`` when the start prices already reject more than
        ``options.contention`` left-out candidates per demand by more than the auction's increment:
        under such contention a demand's best few candidates do not hold its share of the optimum,
        and pricing rounds would re-route most. ``"scaling"`` runs the second kernel, cost-scaling
        push-relabel (``_scaling.pyx``), on every candidate at once; it needs no start prices.
    options : SolverOptions, optional
        Tuning (defaults: ``SolverOptions()``).
    callback : callable, optional
        Called with a :class:`SolveProgress` at every stage and at least every
        ``options.slice_seconds`` of kernel work; returning True stops the solve with
        :class:`~matcher.errors.SolveCancelled`.

    Returns
    -------
    Assignment
        The chosen pairs, their total affinity (undiscounted), counts, unmet floors and the dual
        certificate proving optimality over the candidate pairs.

    Raises
    ------
    MatcherError
        A precise subclass for malformed input or contradictory locked pairs;
        ``SolveCancelled`` when the callback asked to stop.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_array([[0.9, 0.5], [0.8, 0.0]])
    >>> assign(a, capacity=[1, 1]).pairs.tolist()
    [[0, 1], [1, 0]]
    """
    opts = _check_call(method, options, callback)
    progress = Progress(callback)
    progress.report("validate")
    prob = _validate(
        affinity,
        capacity,
        max_per_demand,
        min_per_demand,
        forbidden,
        locked,
        depth_discount,
        progress.report,
        opts.report_every,
    )
    chosen, cert = solve(prob, method, opts, progress)
    result = _assignment(prob, chosen, cert)
    progress.report("done", 1.0)
    return result


def _check_call(
    method: str, options: SolverOptions | None, callback: ProgressCallback | None
) -> SolverOptions:
    if method not in METHODS:
        raise SolverOptionsError(f"method is {method!r}; it must be one of {', '.join(map(repr, METHODS))}")
    if options is not None and not isinstance(options, SolverOptions):
        raise SolverOptionsError(f"options must be a SolverOptions, got {type(options).__name__}")
    if callback is not None and not callable(callback):
        raise SolverOptionsError(f"callback must be callable, got {type(callback).__name__}")
    return options if options is not None else SolverOptions()


def _assignment(prob: _Problem, chosen: BoolArray, cert: Certificate) -> Assignment:
    pairs = np.concatenate([np.column_stack([prob.rows[chosen], prob.cols[chosen]]), prob.locked])
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))].astype(np.int64)
    objective = float(prob.vals[chosen].sum() + prob.locked_vals.sum())
    demand_counts = np.bincount(pairs[:, 0], minlength=prob.n).astype(np.int64)
    provider_counts = np.bincount(pairs[:, 1], minlength=prob.m).astype(np.int64)
    floors = prob.floors if prob.floors is not None else np.zeros(prob.n, np.int64)
    unmet = np.maximum(floors - demand_counts, 0).astype(np.int64)
    return Assignment(pairs.reshape(-1, 2), objective, demand_counts, provider_counts, unmet, cert)
