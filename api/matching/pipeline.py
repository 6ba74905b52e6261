"""A matching round, stage by stage: tokenize -> vectorize -> candidates and solve -> save.

The numerics are ``matcher.match``'s; this module reads the round's inputs through the repository,
hands the matcher plain inputs in index space and saves what it returns. Progress goes to the round row
in short transactions of their own, so staff can watch it; the pairings, the round's outcome and the
job's completion go in ONE transaction at the end, so a round is either wholly saved or not at all.

Every stage honours a cancel and the round's time limit: between stages, between blocks of the
tokenizer and of the candidate product, and before every solve (``Watch.should_stop``).

Stability across rounds (rolling intake must not reshuffle everyone):

* pairings accepted, contacted or under agreement in earlier rounds are *locked*: they keep their
  capacity and their demand's slot, and are not written again (they live in their own round);
* pairings rejected earlier, staff forbids and enterprise refusals are *forbidden*;
* the proposals of the previous round of the same level get ``stability_bonus`` on their affinity: an
  earlier proposal is replaced only when the new assignment gains more than the bonus per changed pair,
  so ``churn`` (reported in the counts) stays small;
* providers the enterprise prefers get ``preference_bonus``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.encoding.service import demand_vectors as stored_vectors
from api.encoding.service import dense_notice
from api.errors import ERROR_TABLE
from api.learning.service import learned_index
from api.matching import repository
from api.matching.diagnosis import describe, empty_round
from api.matching.index import provider_index
from api.matching.inputs import demand_record
from api.matching.models import PairingStatus, RoundStage, RoundStatus
from api.matching.repository import PairSets
from api.matching.schemas import RoundScope
from matcher import (
    DemandInput,
    DemandVectors,
    MatcherError,
    MatchResult,
    PairScore,
    Problem,
    ProviderIndex,
    SolveCancelled,
    demand_vectors,
    diagnose,
    match,
    reasons,
    restrict,
)
from matcher.texts import DemandTokens, stored_tokens, tokenize_demands

Listener = Callable[[RoundStage, int], None]
STAGE_START = {
    RoundStage.TOKENIZE: 0,
    RoundStage.VECTORIZE: 20,
    RoundStage.CANDIDATES: 40,
    RoundStage.SOLVE: 60,
    RoundStage.SAVE: 80,
}
MAX_WIDENINGS = 4
# Demands tokenized between two looks at cancel and the time limit.
TOKENIZE_BATCH = 500
# Seconds between two reads of the round's cancel flag while a stage runs.
CANCEL_POLL = 0.5
CANCELLED_MESSAGE = "已取消"
# The clock of time limits (monotonic: a changed wall clock neither ends nor extends a round).
CLOCK: Callable[[], float] = time.monotonic
_LOG = logging.getLogger(__name__)


class RoundStoppedError(Exception):
    """Staff cancelled the round, or it ran past its time limit."""

    def __init__(self, message: str, status: RoundStatus) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclass
class Watch:
    """Progress, cancel and the time limit of one running round."""

    factory: sessionmaker[Session]
    round_id: int
    time_limit: float
    listener: Listener | None = None
    started: float = field(default_factory=lambda: CLOCK())
    _polled: float = 0.0

    def progress(self, stage: RoundStage, percent: int) -> None:
        """Record the stage and percent (and tell the listener); stop if asked to."""
        with self.factory.begin() as session:
            cancelled = repository.record_progress(session, self.round_id, stage, percent)
        self._polled = CLOCK()
        if self.listener is not None:
            self.listener(stage, percent)
        if cancelled:
            raise RoundStoppedError(CANCELLED_MESSAGE, RoundStatus.CANCELLED)
        self.check()

    def should_stop(self) -> bool:
        """Whether the round must stop now (the time limit passed, or staff cancelled)."""
        try:
            self.check()
        except RoundStoppedError:
            return True
        return False

    def check(self) -> None:
        """Raise RoundStoppedError past the time limit, or when staff cancelled (read at most every 0.5 s)."""
        if CLOCK() - self.started > self.time_limit:
            message = (
                f"超过本轮时间限制（{self.time_limit:g} 秒），已停止；可缩小需求范围或提高时间限制后重试"
            )
            raise RoundStoppedError(message, RoundStatus.FAILED)
        if CLOCK() - self._polled < CANCEL_POLL:
            return
        self._polled = CLOCK()
        with self.factory() as session:
            if repository.cancel_requested(session, self.round_id):
                raise RoundStoppedError(CANCELLED_MESSAGE, RoundStatus.CANCELLED)


@dataclass(frozen=True)
class Demands:
    """The demands in scope: ids in row order and their stored terms."""

    ids: list[int]
    tokens: list[DemandTokens]
    tokenized_now: int


@dataclass(frozen=True)
class Vectors:
    """The round's provider index (restricted to the scope's providers) and the demand vectors."""

    index: ProviderIndex
    vectors: DemandVectors
    # Demands ranked by their sparse scores alone (their sentence vector is still being encoded),
    # and why the dense part was absent altogether (None when it ranked).
    sparse_only: int = 0
    dense_notice: str | None = None


@dataclass(frozen=True)
class Matched:
    """The matcher's result, the problem it solved and the pair sets behind it (ids)."""

    problem: Problem
    pairs: PairSets
    result: MatchResult


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - start, 4)


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------


def stage_tokenize(factory: sessionmaker[Session], scope: RoundScope, watch: Watch) -> Demands:
    """The demands in scope with their stored terms; tokenize and store the missing ones."""
    with factory() as session:
        found = repository.scope_tokens(session, scope)
    ids = [demand_id for demand_id, _ in found]
    tokens = [stored_tokens(value) for _, value in found]
    missing = [i for i, terms in enumerate(tokens) if terms is None]
    for start in range(0, len(missing), TOKENIZE_BATCH):
        watch.check()
        batch = missing[start : start + TOKENIZE_BATCH]
        with factory.begin() as session:
            rows = repository.demands_by_id(session, [ids[i] for i in batch])
            fresh = tokenize_demands([demand_record(row) for row in rows], n_jobs=2)
            repository.store_tokens(session, {ids[i]: terms for i, terms in zip(batch, fresh, strict=True)})
        for i, terms in zip(batch, fresh, strict=True):
            tokens[i] = terms
    return Demands(ids, [terms or {} for terms in tokens], len(missing))


def stage_vectorize(factory: sessionmaker[Session], scope: RoundScope, demands: Demands) -> Vectors:
    """The provider index of the round's level (cached per process and on disk) and the demand vectors.

    The demands' texts are read only when the index fuses a component that reads text.
    """
    with factory() as session:
        index = learned_index(session, scope.level, provider_index(session, scope.level, n_jobs=2))
        if scope.provider_ids is not None:
            index = restrict(index, scope.provider_ids)
        records: Sequence[dict[str, str | None]] = (
            [demand_record(row) for row in repository.demands_by_id(session, demands.ids)]
            if index.fused
            else [{}] * len(demands.ids)
        )
        # A round never encodes: demands still waiting for the worker rank by sparse scores alone.
        stored = stored_vectors(session, demands.ids) if "sentence_encoder" in index.fused_components else {}
    inputs = [
        DemandInput(terms, record, stored.get(demand_id), demand_id)
        for demand_id, terms, record in zip(demands.ids, demands.tokens, records, strict=True)
    ]
    notice = dense_notice(index.fused_components, True)
    missing = 0 if notice else sum(demand_id not in stored for demand_id in demands.ids)
    return Vectors(index, demand_vectors(index, inputs), missing, notice)


def stage_match(
    factory: sessionmaker[Session],
    round_id: int,
    scope: RoundScope,
    demands: Demands,
    vectors: Vectors,
    watch: Watch,
) -> Matched:
    """Pair constraints in index space, then ``matcher.match``: candidates, bonuses, solve, widening."""
    with factory() as session:
        pairs = repository.pair_sets(session, round_id, scope)
    problem = build_problem(scope, demands.ids, vectors.index, pairs)
    result = match(vectors.index, vectors.vectors, problem, should_stop=watch.should_stop)
    return Matched(problem, pairs, result)


def build_problem(
    scope: RoundScope, demand_ids: Sequence[int], index: ProviderIndex, pairs: PairSets
) -> Problem:
    """The round's problem in index space: rows of ``demand_ids``, columns of the index."""
    row = {demand_id: r for r, demand_id in enumerate(demand_ids)}

    def located(found: set[tuple[int, int]]) -> list[tuple[int, int]]:
        return sorted((row[d], index.position[p]) for d, p in found if d in row and p in index.position)

    capacity = [int(c) for c in index.capacity]
    for provider_id, value in scope.capacities.items():
        if provider_id in index.position:
            capacity[index.position[provider_id]] = value
    wanted = [scope.wanted_per_demand.get(demand_id, scope.wanted) for demand_id in demand_ids]
    return Problem.build(
        wanted=wanted,
        capacity=capacity,
        forbidden=located(pairs.forbidden),  # a pair both locked and forbidden fails the round (409 reason)
        locked=located(pairs.locked),
        preferred=located(pairs.preferred),
        previous=located(pairs.previous),
        depth_discount=scope.depth_discount,
        candidates=scope.candidates,
        min_score=scope.min_score,
        preference_bonus=scope.preference_bonus,
        stability_bonus=scope.stability_bonus,
        max_widenings=MAX_WIDENINGS,
    )


def pairing_rows(
    round_id: int,
    scope: RoundScope,
    demands: Demands,
    vectors: Vectors,
    matched: Matched,
    chosen: list[PairScore],
) -> list[dict[str, Any]]:
    """The new pairings of the round (pairings kept from earlier rounds are not written again)."""
    index = vectors.index
    chosen = [
        pair for pair in chosen if (demands.ids[pair.row], int(index.ids[pair.col])) not in matched.pairs.kept
    ]
    explained = reasons(
        index, vectors.vectors, demands.tokens, [p.row for p in chosen], [p.col for p in chosen]
    )
    rows, rank, last = [], 0, -1
    for pair, why in zip(chosen, explained, strict=True):
        rank = rank + 1 if pair.row == last else 1
        last = pair.row
        rows.append(
            {
                "round_id": round_id,
                "demand_id": demands.ids[pair.row],
                "provider_level": scope.level,
                "provider_id": int(index.ids[pair.col]),
                "provider_name": index.names[pair.col],
                "score": round(pair.score, 6),
                "rank": rank,
                "reasons": why,
                "status": PairingStatus.PROPOSED,
                "version": 1,
            }
        )
    return rows


def _counts(
    demands: Demands,
    vectors: Vectors,
    matched: Matched,
    rows: Sequence[dict[str, Any]],
    pairs_chosen: Sequence[PairScore],
) -> dict[str, Any]:
    result, pairs, index = matched.result, matched.pairs, vectors.index
    chosen = {(demands.ids[p.row], int(index.ids[p.col])) for p in pairs_chosen}
    served = sum(1 for count in result.assignment.demand_counts if count > 0)
    return {
        "demands": len(demands.ids),
        "tokenized_now": demands.tokenized_now,
        "sparse_only": len(demands.ids) if vectors.dense_notice else vectors.sparse_only,
        "dense_note": vectors.dense_notice
        or (
            f"{vectors.sparse_only} 条需求的语义向量仍在计算中，本轮按关键词为其匹配"
            if vectors.sparse_only
            else None
        ),
        "providers": index.n_providers,
        "candidates": int(result.scores.nnz),
        "locked": int(matched.problem.locked.shape[0]),
        "kept": len(pairs.kept),
        "forbidden": len(pairs.forbidden),
        "preferred": len(pairs.preferred),
        "pairs": result.assignment.n_pairs,
        "objective": round(result.assignment.objective, 6),
        "gap_bound": result.gap_bound,
        "certified": result.certified,
        "widenings": result.widenings,
        "served": served,
        "unserved": len(demands.ids) - served,
        "new_pairs": len(rows),
        # Earlier proposals of the demands in scope that this round does not propose again.
        "churn": len(pairs.previous - chosen),
    }


def stage_save(
    factory: sessionmaker[Session],
    round_id: int,
    scope: RoundScope,
    demands: Demands,
    vectors: Vectors,
    matched: Matched,
    timings: dict[str, float],
) -> None:
    """Write all pairings, the outcome and the job's end in one transaction, or nothing."""
    chosen = matched.result.chosen()
    rows = pairing_rows(round_id, scope, demands, vectors, matched, chosen)
    unserved, relaxations = diagnose(matched.result, matched.problem)
    diagnosis = describe(unserved, relaxations, scope.min_score, demands.ids, vectors.index)
    counts = _counts(demands, vectors, matched, rows, chosen)
    with factory.begin() as session:
        if repository.cancel_requested(session, round_id, lock=True):
            raise RoundStoppedError(CANCELLED_MESSAGE, RoundStatus.CANCELLED)
        repository.save_round(
            session, round_id, rows, {"counts": counts, "timings": timings, "diagnosis": diagnosis}
        )


def _save_empty(factory: sessionmaker[Session], round_id: int, counts: dict[str, Any], message: str) -> None:
    """A round with nothing to match ends at once, successfully, with 0 pairings and the reason."""
    with factory.begin() as session:
        repository.save_round(
            session, round_id, [], {"counts": counts, "timings": {}, "diagnosis": empty_round(message)}
        )


# ---------------------------------------------------------------------------------------------
# The whole round
# ---------------------------------------------------------------------------------------------


def failure_message(error: Exception) -> str:
    """The Chinese sentence stored on a failed round: the matcher's reason, or a plain internal error."""
    spec = next((ERROR_TABLE[kind] for kind in type(error).__mro__ if kind in ERROR_TABLE), None)
    if spec is None or not isinstance(error, MatcherError):
        return "匹配失败：服务内部错误，已记入日志；请联系管理员"
    return f"匹配失败：{spec.detail}"


def run_round(factory: sessionmaker[Session], round_id: int, listener: Listener | None = None) -> RoundStatus:
    """Run round ``round_id`` to its end; the outcome is recorded on the round (and returned)."""
    with factory.begin() as session:
        scope = repository.start_round(session, round_id)
    watch = Watch(factory, round_id, float(scope.time_limit), listener)
    try:
        status = _run(factory, round_id, scope, watch)
    except RoundStoppedError as stopped:
        status = stopped.status
        with factory.begin() as session:
            repository.end_round(session, round_id, status, stopped.message)
    except SolveCancelled:
        status = RoundStatus.CANCELLED if _cancel_asked(factory, round_id) else RoundStatus.FAILED
        message = CANCELLED_MESSAGE if status == RoundStatus.CANCELLED else _timeout_message(watch)
        with factory.begin() as session:
            repository.end_round(session, round_id, status, message)
    except Exception as error:  # the round records any failure; the worker goes on with the next job
        if not isinstance(error, MatcherError):
            _LOG.exception("round %s failed", round_id)
        with factory.begin() as session:
            repository.end_round(session, round_id, RoundStatus.FAILED, failure_message(error))
        return RoundStatus.FAILED
    if status == RoundStatus.SUCCEEDED and listener is not None:
        listener(RoundStage.SAVE, 100)
    return status


def _cancel_asked(factory: sessionmaker[Session], round_id: int) -> bool:
    with factory() as session:
        return repository.cancel_requested(session, round_id)


def _timeout_message(watch: Watch) -> str:
    try:
        watch.check()
    except RoundStoppedError as stopped:
        return stopped.message
    return "匹配中止"


def _run(factory: sessionmaker[Session], round_id: int, scope: RoundScope, watch: Watch) -> RoundStatus:
    timings: dict[str, float] = {}
    watch.progress(RoundStage.TOKENIZE, STAGE_START[RoundStage.TOKENIZE])
    with _timed(timings, "tokenize"):
        demands = stage_tokenize(factory, scope, watch)
    if not demands.ids:
        _save_empty(
            factory, round_id, {"demands": 0, "pairs": 0, "new_pairs": 0}, "本轮范围内没有需求，未生成配对"
        )
        return RoundStatus.SUCCEEDED
    watch.progress(RoundStage.VECTORIZE, STAGE_START[RoundStage.VECTORIZE])
    with _timed(timings, "vectorize"):
        vectors = stage_vectorize(factory, scope, demands)
    if vectors.index.n_providers == 0:
        counts = {"demands": len(demands.ids), "providers": 0, "pairs": 0, "new_pairs": 0}
        _save_empty(
            factory, round_id, counts, "本轮没有可匹配的服务方（所选层级没有启用的服务方），未生成配对"
        )
        return RoundStatus.SUCCEEDED
    watch.progress(RoundStage.CANDIDATES, STAGE_START[RoundStage.CANDIDATES])
    with _timed(timings, "match"):
        matched = stage_match(factory, round_id, scope, demands, vectors, watch)
    timings.update({name: matched.result.timings[name] for name in ("candidates", "solve")})
    watch.progress(RoundStage.SAVE, STAGE_START[RoundStage.SAVE])
    started = time.perf_counter()
    stage_save(factory, round_id, scope, demands, vectors, matched, timings)
    timings["save"] = round(time.perf_counter() - started, 4)
    timings["total"] = round(CLOCK() - watch.started, 4)
    with factory.begin() as session:
        repository.record_timings(session, round_id, timings)
    return RoundStatus.SUCCEEDED
