"""All matching numerics: the provider index, scores and their fusion, reasons, candidates, certified
widening and the capacity-constrained assignment solver (numpy/scipy; no DB, no HTTP).

``match(index, demands, problem) -> MatchResult`` is the one call behind rounds; match lists and
``huiqi evaluate`` rank with the same index (``top_candidates``).
"""

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
from matcher.reasons import PairReason, closest_sentences, explain, explain_pairs, reasons
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
    "PairReason",
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
    "explain_pairs",
    "fit_index",
    "match",
    "pair_scores",
    "ranked",
    "reasons",
    "restrict",
    "top_candidates",
    "widen",
]
