"""Precise errors raised by the matcher for bad input or contradictory requests.

Every error is a ``ValueError`` so that callers that only know the standard library still catch it;
the service maps each subclass to an HTTP status in one table.
"""

__all__ = [
    "CandidatePairError",
    "CapacityError",
    "ConflictError",
    "DemandBoundError",
    "DepthDiscountError",
    "InvalidAffinityError",
    "MatchCancelledError",
    "MatcherError",
    "PairListError",
    "ShapeMismatchError",
    "SolverError",
]


class MatcherError(ValueError):
    """Base class of every error raised by the matcher."""


class InvalidAffinityError(MatcherError):
    """The affinity matrix is not sparse, not 2-D, or holds NaN, infinite or negative values."""


class ShapeMismatchError(MatcherError):
    """An argument's length disagrees with the affinity matrix's shape."""


class CapacityError(MatcherError):
    """A provider capacity is negative or not an integer."""


class DemandBoundError(MatcherError):
    """A wanted number (``max_per_demand``) or floor (``min_per_demand``) is invalid."""


class DepthDiscountError(MatcherError):
    """The depth discount weights are not positive, finite, non-increasing, or too few."""


class PairListError(MatcherError):
    """A forbidden or locked pair list is malformed, out of range, or repeats a pair."""


class CandidatePairError(MatcherError):
    """A locked pair is not a candidate (absent from the affinity matrix)."""


class ConflictError(MatcherError):
    """Locked pairs contradict forbidden pairs, provider capacities or wanted numbers."""


class SolverError(MatcherError):
    """The solver could not certify its answer; this signals a defect, never bad input."""


class MatchCancelledError(MatcherError):
    """The caller asked to stop (``should_stop`` answered True) while matching ran."""
