"""Every MatcherError subclass is raised for its bad input, with a precise scipy-style message."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import matcher.solver
from matcher import (
    CandidatePairError,
    CapacityError,
    ConflictError,
    DemandBoundError,
    DepthDiscountError,
    InvalidAffinityError,
    MatchCancelledError,
    MatcherError,
    PairListError,
    ShapeMismatchError,
    SolverError,
    assign,
)

AFFINITY = sp.csr_array(np.array([[0.9, 0.5, 0.0, 0.1], [0.8, 0.0, 0.3, 0.2], [0.4, 0.6, 0.7, 0.0]]))
CAPACITY = np.array([1, 1, 2, 1])


def _with(value: float, at: tuple[int, int] = (1, 2)) -> sp.csr_array:
    dense = AFFINITY.toarray()
    dense[at] = value
    return sp.csr_array(dense)


CASES: list[tuple[str, type[MatcherError], dict[str, Any], str]] = [
    (
        "dense",
        InvalidAffinityError,
        {"affinity": AFFINITY.toarray()},
        "must be a scipy.sparse matrix or array, got ndarray",
    ),
    (
        "nan",
        InvalidAffinityError,
        {"affinity": _with(np.nan)},
        "affinity holds nan at (1, 2); it must be finite",
    ),
    (
        "inf",
        InvalidAffinityError,
        {"affinity": _with(np.inf)},
        "affinity holds inf at (1, 2); it must be finite",
    ),
    ("-inf", InvalidAffinityError, {"affinity": _with(-np.inf)}, "affinity holds -inf at (1, 2)"),
    (
        "negative",
        InvalidAffinityError,
        {"affinity": _with(-0.25)},
        "negative value -0.25 at (1, 2); affinities must be >= 0",
    ),
    (
        "complex",
        InvalidAffinityError,
        {"affinity": sp.csr_array(AFFINITY.toarray() + 1j)},
        "must hold real numbers, got dtype complex128",
    ),
    (
        "repeated entry",
        InvalidAffinityError,
        {"affinity": sp.coo_array(([0.1, 0.2], ([0, 0], [1, 1])), shape=(3, 4))},
        "affinity stores the pair (0, 1) more than once",
    ),
    (
        "capacity length",
        ShapeMismatchError,
        {"capacity": [1, 1, 1]},
        "capacity has 3 entries but affinity has 4 columns",
    ),
    (
        "wanted length",
        ShapeMismatchError,
        {"max_per_demand": [1, 2]},
        "max_per_demand has 2 entries but affinity has 3 rows",
    ),
    (
        "floor length",
        ShapeMismatchError,
        {"min_per_demand": [0, 0, 0, 0]},
        "min_per_demand has 4 entries but affinity has 3 rows",
    ),
    ("negative capacity", CapacityError, {"capacity": [1, -2, 1, 1]}, "capacity[1] is -2; it must be >= 0"),
    ("fractional capacity", CapacityError, {"capacity": [1, 1.5, 1, 1]}, "capacity must hold whole numbers"),
    (
        "boolean capacity",
        CapacityError,
        {"capacity": [True, True, False, True]},
        "capacity must hold integers, got dtype bool",
    ),
    (
        "2-D capacity",
        CapacityError,
        {"capacity": [[1, 1, 1, 1]]},
        "capacity must be a scalar or 1-D, got 2-D",
    ),
    (
        "negative wanted",
        DemandBoundError,
        {"max_per_demand": [1, -1, 1]},
        "max_per_demand[1] is -1; it must be >= 0",
    ),
    (
        "floor above wanted",
        DemandBoundError,
        {"max_per_demand": [1, 1, 1], "min_per_demand": [0, 2, 0]},
        "min_per_demand[1] is 2 but max_per_demand[1] is 1",
    ),
    (
        "short discount",
        DepthDiscountError,
        {"max_per_demand": 3, "depth_discount": [1.0, 0.5]},
        "depth_discount has 2 entries but max_per_demand reaches 3",
    ),
    (
        "rising discount",
        DepthDiscountError,
        {"max_per_demand": 2, "depth_discount": [0.5, 1.0]},
        "must be non-increasing",
    ),
    (
        "zero discount",
        DepthDiscountError,
        {"max_per_demand": 2, "depth_discount": [1.0, 0.0]},
        "finite weights > 0",
    ),
    (
        "nan discount",
        DepthDiscountError,
        {"max_per_demand": 2, "depth_discount": [1.0, np.nan]},
        "finite weights > 0",
    ),
    ("2-D discount", DepthDiscountError, {"depth_discount": [[1.0]]}, "depth_discount must be 1-D, got 2-D"),
    ("pair shape", PairListError, {"forbidden": [0, 1]}, "forbidden must have shape (n, 2), got (2,)"),
    (
        "pair dtype",
        PairListError,
        {"locked": [[0.0, 1.0]]},
        "locked must hold integer indices, got dtype float64",
    ),
    (
        "demand out of range",
        PairListError,
        {"forbidden": [[0, 1], [3, 0]]},
        "forbidden[1] = (3, 0) is out of range for affinity of shape (3, 4)",
    ),
    ("provider out of range", PairListError, {"locked": [[0, -1]]}, "locked[0] = (0, -1) is out of range"),
    (
        "repeated pair",
        PairListError,
        {"forbidden": [[2, 1], [2, 1]]},
        "forbidden stores the pair (2, 1) more than once",
    ),
    (
        "locked absent",
        CandidatePairError,
        {"locked": [[1, 1], [0, 0]]},
        "locked pair (1, 1) is not a candidate",
    ),
    (
        "locked and forbidden",
        ConflictError,
        {"locked": [[0, 0]], "forbidden": [[2, 2], [0, 0]]},
        "pair (0, 0) is both locked and forbidden",
    ),
    (
        "locked beyond capacity",
        ConflictError,
        {"locked": [[0, 0], [1, 0]]},
        "provider 0 has 2 locked pairs but capacity 1",
    ),
    (
        "locked beyond wanted",
        ConflictError,
        {"locked": [[2, 0], [2, 2]]},
        "demand 2 has 2 locked pairs but max_per_demand 1",
    ),
]


@pytest.mark.parametrize(("error", "changes", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_precise_error(
    error: type[MatcherError], changes: dict[str, Any], message: str
) -> None:
    kwargs: dict[str, Any] = {"affinity": AFFINITY, "capacity": CAPACITY, **changes}
    with pytest.raises(error, match=re.escape(message)):
        assign(**kwargs)


def test_every_error_is_a_value_error_and_each_subclass_is_exercised() -> None:
    # MatchCancelledError is raised by matcher.match (tests/matcher/test_match.py), not by assign
    raised = {c[1] for c in CASES} | {SolverError, MatchCancelledError}
    assert raised == set(MatcherError.__subclasses__())
    assert all(issubclass(e, ValueError) for e in raised)


def test_solver_error_signals_a_defect_not_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher.solver, "_MAX_ROUNDS", 0)
    with pytest.raises(SolverError, match="did not settle within 0 rounds"):
        assign(AFFINITY, CAPACITY, max_per_demand=2, min_per_demand=1)  # floors take the pricing loop


def test_valid_edge_cases_do_not_raise() -> None:
    empty = assign(sp.csr_array((0, 0)), np.zeros(0, np.int64))
    assert empty.pairs.shape == (0, 2)
    assert empty.objective == 0.0
    none_wanted = assign(AFFINITY, CAPACITY, 0)
    assert none_wanted.n_pairs == 0
    closed = assign(AFFINITY, np.zeros(4, np.int64), forbidden=np.zeros((0, 2), np.int64))
    assert closed.n_pairs == 0
