"""Affinities and the capacity-constrained assignment solver (numpy/scipy; no DB, no HTTP)."""

from matcher.errors import (
    CandidatePairError,
    CapacityError,
    ConflictError,
    DemandBoundError,
    DepthDiscountError,
    InvalidAffinityError,
    MatcherError,
    PairListError,
    ShapeMismatchError,
    SolveCancelled,
    SolverError,
    SolverOptionsError,
)
from matcher.solver import SolveProgress, SolverOptions, assign, certificate_violation
from matcher.types import Assignment, Certificate
from matcher.widening import CandidateSource, TopKFromMatrix, Widening, widen

__all__ = [
    # solver
    "Assignment",
    "CandidatePairError",
    "CandidateSource",
    "CapacityError",
    "Certificate",
    "ConflictError",
    "DemandBoundError",
    "DepthDiscountError",
    "InvalidAffinityError",
    "MatcherError",
    "PairListError",
    "ShapeMismatchError",
    "SolveCancelled",
    "SolveProgress",
    "SolverError",
    "SolverOptions",
    "SolverOptionsError",
    "TopKFromMatrix",
    "Widening",
    "assign",
    "certificate_violation",
    "widen",
    # candidates
]
