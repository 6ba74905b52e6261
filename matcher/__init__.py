"""All matching numerics: the provider index, scores and their fusion, reasons, candidates, certified
widening and the capacity-constrained assignment solver (numpy/scipy; no DB, no HTTP).

``match(index, demands, problem) -> MatchResult`` is the one call behind rounds; match lists and
``huiqi evaluate`` rank with the same index (``top_candidates``).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from matcher.index import (
        DemandVectors,
        ProviderIndex,
        RankingConfig,
        ScoreComponent,
        demand_vectors,
        fit_index,
        pair_scores,
        ranked,
        restrict,
        top_candidates,
    )
    from matcher.match import diagnose, match
    from matcher.reasons import closest_sentences, explain, reasons
    from matcher.solver import SolveProgress, SolverOptions, assign, certificate_violation
    from matcher.types import (
        Assignment,
        Certificate,
        DemandInput,
        MatchResult,
        PairScore,
        Problem,
        ProviderInput,
        Relaxation,
        Unserved,
    )
    from matcher.widening import CandidateSource, TopKFromMatrix, Widening, widen

# Where each public name lives. They load on first use (PEP 562), so that a process which only
# solves (``matcher.assign``) does not pay for scikit-learn and the ranking code at start-up.
_EXPORTS: dict[str, str] = {
    "Assignment": "matcher.types",
    "CandidatePairError": "matcher.errors",
    "CandidateSource": "matcher.widening",
    "CapacityError": "matcher.errors",
    "Certificate": "matcher.types",
    "ConflictError": "matcher.errors",
    "DemandBoundError": "matcher.errors",
    "DemandInput": "matcher.types",
    "DemandVectors": "matcher.index",
    "DepthDiscountError": "matcher.errors",
    "InvalidAffinityError": "matcher.errors",
    "MatchResult": "matcher.types",
    "MatcherError": "matcher.errors",
    "PairListError": "matcher.errors",
    "PairScore": "matcher.types",
    "Problem": "matcher.types",
    "ProviderIndex": "matcher.index",
    "ProviderInput": "matcher.types",
    "RankingConfig": "matcher.index",
    "Relaxation": "matcher.types",
    "ScoreComponent": "matcher.index",
    "ShapeMismatchError": "matcher.errors",
    "SolveCancelled": "matcher.errors",
    "SolveProgress": "matcher.solver",
    "SolverError": "matcher.errors",
    "SolverOptions": "matcher.solver",
    "SolverOptionsError": "matcher.errors",
    "TopKFromMatrix": "matcher.widening",
    "Unserved": "matcher.types",
    "Widening": "matcher.widening",
    "assign": "matcher.solver",
    "certificate_violation": "matcher.solver",
    "closest_sentences": "matcher.reasons",
    "demand_vectors": "matcher.index",
    "diagnose": "matcher.match",
    "explain": "matcher.reasons",
    "fit_index": "matcher.index",
    "match": "matcher.match",
    "pair_scores": "matcher.index",
    "ranked": "matcher.index",
    "reasons": "matcher.reasons",
    "restrict": "matcher.index",
    "top_candidates": "matcher.index",
    "widen": "matcher.widening",
}


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'matcher' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, for completion and ``dir(matcher)``."""
    return sorted(__all__)


__all__ = [
    "Assignment",
    "CandidatePairError",
    "CandidateSource",
    "CapacityError",
    "Certificate",
    "ConflictError",
    "DemandBoundError",
    "DemandInput",
    "DemandVectors",
    "DepthDiscountError",
    "InvalidAffinityError",
    "MatchResult",
    "MatcherError",
    "PairListError",
    "PairScore",
    "Problem",
    "ProviderIndex",
    "ProviderInput",
    "RankingConfig",
    "Relaxation",
    "ScoreComponent",
    "ShapeMismatchError",
    "SolveCancelled",
    "SolveProgress",
    "SolverError",
    "SolverOptions",
    "SolverOptionsError",
    "TopKFromMatrix",
    "Unserved",
    "Widening",
    "assign",
    "certificate_violation",
    "closest_sentences",
    "demand_vectors",
    "diagnose",
    "explain",
    "fit_index",
    "match",
    "pair_scores",
    "ranked",
    "reasons",
    "restrict",
    "top_candidates",
    "widen",
]
