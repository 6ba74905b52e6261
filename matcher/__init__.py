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
    SolverError,
)
from matcher.solver import assign, certificate_violation
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
    "SolverError",
    "TopKFromMatrix",
    "Widening",
    "assign",
    "certificate_violation",
    "widen",
    # candidates
]
