"""Properties of every assignment on random small problems (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import Assignment, SolverOptions, assign, certificate_violation
from tests.matcher.oracles import milp_optimum

VALUES = st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0.0, 1.0, allow_nan=False, width=32)


@dataclass(frozen=True)
class Case:
    affinity: sp.csr_array
    kwargs: dict[str, Any]

    @property
    def wanted(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.kwargs["max_per_demand"]), (self.affinity.shape[0],))


@st.composite
def problems(draw: st.DrawFn, discount: bool = True) -> Case:
    n, m = draw(st.integers(1, 9)), draw(st.integers(1, 6))
    mask = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
    vals = np.array(draw(st.lists(VALUES, min_size=n * m, max_size=n * m))).reshape(n, m)
    rows, cols = np.nonzero(mask)
    affinity = sp.csr_array((vals[rows, cols], (rows, cols)), shape=(n, m))
    capacity = np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)))
    wanted = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    role = np.array(
        draw(st.lists(st.sampled_from("-fl"), min_size=rows.size, max_size=rows.size)), dtype="U1"
    )
    locked = _consistent(np.column_stack([rows, cols])[role == "l"], capacity, wanted)
    kwargs: dict[str, Any] = {
        "capacity": capacity,
        "max_per_demand": wanted,
        "forbidden": np.column_stack([rows, cols])[role == "f"],
        "locked": locked,
    }
    if draw(st.booleans()):
        kwargs["min_per_demand"] = np.minimum(
            draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), wanted
        )
    if discount and draw(st.booleans()):
        kwargs["depth_discount"] = [1.0, 0.75, 0.5]
    return Case(affinity, kwargs)


def _consistent(pairs: np.ndarray, capacity: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Keep locked pairs while they fit within the capacities and wanted numbers."""
    load, count, keep = np.zeros_like(capacity), np.zeros_like(wanted), []
    for i, j in pairs:
        if load[j] < capacity[j] and count[i] < wanted[i]:
            load[j], count[i] = load[j] + 1, count[i] + 1
            keep.append((i, j))
    return np.array(keep, np.int64).reshape(-1, 2)


def _check_feasible(case: Case, result: Assignment) -> None:
    pairs, affinity = result.pairs, case.affinity
    n, m = affinity.shape
    keys = pairs[:, 0] * m + pairs[:, 1]
    assert np.unique(keys).size == keys.size, "a pair is used twice"
    assert (np.diff(keys) > 0).all(), "pairs are not sorted"
    assert (_stored(affinity).toarray()[pairs[:, 0], pairs[:, 1]] == 1).all(), "a pair is not a candidate"
    loads = np.bincount(pairs[:, 1], minlength=m)
    counts = np.bincount(pairs[:, 0], minlength=n)
    assert (loads <= case.kwargs["capacity"]).all()
    assert (loads == result.provider_counts).all()
    assert (counts <= case.wanted).all()
    assert (counts == result.demand_counts).all()
    forbidden, locked = case.kwargs["forbidden"], case.kwargs["locked"]
    assert not np.isin(keys, forbidden[:, 0] * m + forbidden[:, 1]).any()
    assert np.isin(locked[:, 0] * m + locked[:, 1], keys).all()
    objective = float(affinity.toarray()[pairs[:, 0], pairs[:, 1]].sum())
    assert abs(result.objective - objective) <= 1e-12 * max(1.0, objective)
    floors = case.kwargs.get("min_per_demand", np.zeros(n, np.int64))
    assert (result.unmet_floors == np.maximum(floors - counts, 0)).all()


def _stored(affinity: sp.csr_array) -> sp.csr_array:
    """Pattern of the stored entries, explicit zeros included."""
    return sp.csr_array((np.ones(affinity.nnz), affinity.indices, affinity.indptr), shape=affinity.shape)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_assignment_is_feasible_and_certified(case: Case) -> None:
    result = assign(case.affinity, **case.kwargs)
    _check_feasible(case, result)
    assert certificate_violation(result, case.affinity, **case.kwargs) <= result.certificate.tolerance


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(discount=False))
def test_objective_matches_highs(case: Case) -> None:
    result = assign(case.affinity, **case.kwargs)
    n = case.affinity.shape[0]
    floors = np.asarray(case.kwargs.get("min_per_demand", np.zeros(n, np.int64)))
    coverage, value = milp_optimum(
        sp.coo_array(case.affinity),
        case.kwargs["capacity"],
        case.wanted,
        floors,
        case.kwargs["forbidden"],
        case.kwargs["locked"],
    )
    assert int(np.minimum(result.demand_counts, floors).sum()) == coverage
    assert result.objective >= value - 1e-9 * max(1.0, value)
    # HiGHS stops a MIP within an absolute gap of 1e-6 (it left a single 6e-8 pair unchosen)
    assert result.objective <= value + max(1e-9 * value, 1e-6)


@settings(max_examples=60, deadline=None)
@given(problems(), st.data())
def test_certificate_rejects_a_worse_assignment(case: Case, data: st.DataObject) -> None:
    """Dropping a chosen pair that carries value must break the certificate or feasibility."""
    result = assign(case.affinity, **case.kwargs)
    locked = case.kwargs["locked"]
    m = case.affinity.shape[1]
    free = ~np.isin(result.pairs[:, 0] * m + result.pairs[:, 1], locked[:, 0] * m + locked[:, 1])
    values = case.affinity.toarray()[result.pairs[:, 0], result.pairs[:, 1]]
    droppable = np.flatnonzero(free & (np.asarray(values) > 1e-6))
    if droppable.size == 0:
        return
    drop = data.draw(st.sampled_from(droppable.tolist()))
    worse = Assignment(
        np.delete(result.pairs, drop, axis=0),
        result.objective - float(values[drop]),
        result.demand_counts,
        result.provider_counts,
        result.unmet_floors,
        result.certificate,
    )
    assert certificate_violation(worse, case.affinity, **case.kwargs) > result.certificate.tolerance


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from([("pruned", 0), ("pruned", 1), ("full", 4), ("scaling", 4)]))
def test_every_method_reaches_the_certified_optimum(case: Case, how: tuple[str, int]) -> None:
    """Pruning to the wanted number alone (most pricing rounds), to one more, or none, or cost
    scaling: one optimum."""
    method, extra = how
    reference = assign(case.affinity, **case.kwargs)
    result = assign(
        case.affinity, **case.kwargs, method=method, options=SolverOptions(extra_candidates=extra)
    )
    _check_feasible(case, result)
    assert abs(result.objective - reference.objective) <= 1e-9 * max(1.0, reference.objective)
    assert certificate_violation(result, case.affinity, **case.kwargs) <= result.certificate.tolerance


def test_a_provider_held_only_by_a_locked_pair_is_certified_at_a_price_of_zero_or_more() -> None:
    """A capacity's dual is never negative, even for a provider the network leaves without arcs."""
    affinity = sp.csr_array(([0.25, 0.0], ([3, 5], [2, 3])), shape=(6, 4))  # an explicit zero is a candidate
    kwargs: dict[str, Any] = {
        "capacity": np.array([0, 0, 1, 2]),
        "max_per_demand": np.array([0, 0, 0, 1, 0, 1]),
        "forbidden": np.empty((0, 2), np.int64),
        "locked": np.array([[5, 3]]),
        "depth_discount": [1.0, 0.75, 0.5],
    }
    for method in ("auto", "full", "pruned", "scaling"):
        result = assign(affinity, method=method, **kwargs)
        assert result.pairs.tolist() == [[3, 2], [5, 3]]
        assert (result.certificate.provider_price[np.isfinite(result.certificate.provider_price)] >= 0).all()
        assert certificate_violation(result, affinity, **kwargs) <= result.certificate.tolerance
