"""A matching round, stage by stage: tokenize -> vectorize -> candidates -> solve -> save.

Progress goes to the round row in short transactions of their own, so staff can watch it; the
pairings, the round's outcome and the job's completion go in ONE transaction at the end, so a round
is either wholly saved or not at all.

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

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db.base import utcnow
from api.db.models import Demand
from api.matching import engine
from api.matching.diagnosis import diagnose
from api.matching.index import provider_index
from api.matching.models import (
    ConstraintKind,
    Job,
    JobStatus,
    MatchRound,
    PairConstraint,
    Pairing,
    PairingStatus,
    RoundStage,
    RoundStatus,
)
from api.matching.schemas import RoundScope
from api.providers.models import DemandPreference, PreferenceKind
from matcher import Assignment, assign
from matcher.candidates import top_k, top_k_dense

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Listener = Callable[[RoundStage, int], None]
KEPT_STATUSES = (PairingStatus.ACCEPTED, PairingStatus.CONTACTED, PairingStatus.AGREEMENT)
STAGE_START = {
    RoundStage.TOKENIZE: 0,
    RoundStage.VECTORIZE: 20,
    RoundStage.CANDIDATES: 40,
    RoundStage.SOLVE: 60,
    RoundStage.SAVE: 80,
}
MAX_WIDENINGS = 4
GAP_TOLERANCE = 1e-9
INSERT_BATCH = 5_000


class RoundCancelledError(Exception):
    """Staff cancelled the round while it ran."""


@dataclass
class RoundRun:
    """The state a round accumulates from stage to stage."""

    round_id: int
    scope: RoundScope
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    demand_ids: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    profiles: list[engine.DemandTokens] = field(default_factory=list)
    records: list[engine.DemandRecord] = field(default_factory=list)  # text fields, for the character SVM
    index: engine.ProviderIndex | None = None
    vectors: sp.csr_matrix | None = None
    problem: Problem | None = None
    assignment: Assignment | None = None
    diagnosis: dict[str, Any] = field(default_factory=dict)


@dataclass
class Problem:
    """The solver's input in index space, with what the service needs to decode the answer."""

    scores: sp.csr_matrix  # ranking scores (engine: fused or cosine) of every candidate pair
    affinity: sp.csr_matrix  # scores plus preference and stability bonuses
    capacity: IntArray
    wanted: IntArray
    forbidden: IntArray
    locked: IntArray
    kept: set[tuple[int, int]]
    preferred: set[tuple[int, int]]
    previous: set[tuple[int, int]]
    depth: FloatArray | None
    gap_bound: float = 0.0
    widenings: int = 0
    excluded: dict[int, list[int]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Progress, in short transactions of their own
# ---------------------------------------------------------------------------------------------


class Progress:
    """Writes stage and percent to the round row; raises RoundCancelledError when staff asked to stop."""

    def __init__(self, factory: sessionmaker[Session], round_id: int, listener: Listener | None) -> None:
        self.factory, self.round_id, self.listener = factory, round_id, listener

    def __call__(self, stage: RoundStage, percent: int) -> None:
        """Record the stage and percent (and tell the listener)."""
        with self.factory.begin() as session:
            session.execute(
                update(MatchRound).where(MatchRound.id == self.round_id).values(stage=stage, percent=percent)
            )
            cancelled = session.scalar(
                select(MatchRound.cancel_requested).where(MatchRound.id == self.round_id)
            )
        if self.listener is not None:
            self.listener(stage, percent)
        if cancelled:
            raise RoundCancelledError


@contextmanager
def _timed(run: RoundRun, name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    run.timings[name] = round(time.perf_counter() - start, 4)


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------


def _scope_query(scope: RoundScope) -> Any:
    query = select(Demand).order_by(Demand.id)
    if scope.demand_ids is not None:
        return query.where(Demand.id.in_(scope.demand_ids))
    query = query.where(Demand.status.in_(scope.statuses))
    if scope.region:
        query = query.where(Demand.region_code.startswith(scope.region))
    if scope.industry:
        query = query.where(Demand.industry_code.startswith(scope.industry.upper()))
    return query


def stage_tokenize(factory: sessionmaker[Session], run: RoundRun) -> None:
    """Load the demands in scope with their stored terms; tokenize and store the missing ones."""
    with factory.begin() as session:
        demands = list(session.scalars(_scope_query(run.scope)))
        profiles = [engine.stored_tokens(d.tokens) for d in demands]
        missing = [i for i, p in enumerate(profiles) if p is None]
        fresh = engine.tokenize_demands([engine.demand_record(demands[i]) for i in missing], n_jobs=2)
        for i, tokens in zip(missing, fresh, strict=True):
            demands[i].tokens = tokens  # field -> terms, see engine.stored_tokens
            profiles[i] = tokens
    run.demand_ids = np.array([d.id for d in demands], dtype=np.int64)
    run.profiles = [p or {} for p in profiles]
    run.records = [engine.demand_record(d) for d in demands]
    run.counts.update(demands=len(demands), tokenized_now=len(missing))


def stage_vectorize(factory: sessionmaker[Session], run: RoundRun) -> None:
    """The provider index of the round's level (cached per process) and the demand vectors."""
    with factory() as session:
        run.index = provider_index(session, run.scope.level, n_jobs=2)
    if run.scope.provider_ids is not None:
        run.index = _restrict(run.index, run.scope.provider_ids)
    run.vectors = engine.demand_vectors(run.index, run.profiles, run.records)
    run.counts.update(providers=int(run.index.ids.size))


def _restrict(index: engine.ProviderIndex, provider_ids: list[int]) -> engine.ProviderIndex:
    """The index of the round's providers only (fused scores are standardised over these)."""
    rows = np.array(sorted(index.position[p] for p in set(provider_ids) if p in index.position), np.int64)
    matrix = sp.csr_matrix(index.matrix[rows])
    return dataclasses.replace(
        index,
        ids=index.ids[rows],
        names=[index.names[r] for r in rows],
        capacity=index.capacity[rows],
        matrix=matrix,
        position={int(index.ids[r]): i for i, r in enumerate(rows)},
        words=sp.csr_matrix(index.words[rows]) if index.words is not None else None,
        matrix_t=sp.csr_matrix(matrix.T),
        coef_t=np.ascontiguousarray(index.coef_t[:, rows]) if index.coef_t is not None else None,
        intercept=index.intercept[rows] if index.intercept is not None else None,
        gate=sp.csr_matrix(index.gate[rows]) if index.gate is not None else None,
        gate_t=sp.csr_matrix(index.gate[rows].T) if index.gate is not None else None,
    )


@dataclass
class _Pairs:
    """Pair sets in index space."""

    forbidden: set[tuple[int, int]] = field(default_factory=set)
    locked: set[tuple[int, int]] = field(default_factory=set)
    kept: set[tuple[int, int]] = field(default_factory=set)
    preferred: set[tuple[int, int]] = field(default_factory=set)
    previous: set[tuple[int, int]] = field(default_factory=set)


def _load_pairs(session: Session, run: RoundRun, index: engine.ProviderIndex) -> _Pairs:
    """Every constraint that applies to the demands in scope, mapped to (demand row, provider row)."""
    rows = {int(d): i for i, d in enumerate(run.demand_ids)}
    level, ids = run.scope.level, [int(d) for d in run.demand_ids]
    pairs = _Pairs()

    def add(target: set[tuple[int, int]], demand_id: int, provider_id: int) -> None:
        if demand_id in rows and provider_id in index.position:
            target.add((rows[demand_id], index.position[provider_id]))

    for chunk in _chunks(ids):
        for c in session.scalars(
            select(PairConstraint).where(
                PairConstraint.demand_id.in_(chunk), PairConstraint.provider_level == level
            )
        ):
            add(
                pairs.locked if c.kind == ConstraintKind.LOCK else pairs.forbidden, c.demand_id, c.provider_id
            )
        for p in session.scalars(
            select(DemandPreference).where(
                DemandPreference.demand_id.in_(chunk), DemandPreference.provider_level == level
            )
        ):
            add(
                pairs.forbidden if p.kind == PreferenceKind.REFUSE else pairs.preferred,
                p.demand_id,
                p.provider_id,
            )
        earlier = select(Pairing.demand_id, Pairing.provider_id, Pairing.status, Pairing.round_id).where(
            Pairing.demand_id.in_(chunk), Pairing.provider_level == level, Pairing.round_id != run.round_id
        )
        for demand_id, provider_id, status, _round in session.execute(earlier):
            if status == PairingStatus.REJECTED:
                add(pairs.forbidden, demand_id, provider_id)
            elif status in KEPT_STATUSES:
                add(pairs.kept, demand_id, provider_id)
    previous_round = _previous_round(session, run)
    if previous_round is not None:
        for chunk in _chunks(ids):
            query = select(Pairing.demand_id, Pairing.provider_id).where(
                Pairing.round_id == previous_round,
                Pairing.demand_id.in_(chunk),
                Pairing.status == PairingStatus.PROPOSED,
            )
            for demand_id, provider_id in session.execute(query):
                add(pairs.previous, demand_id, provider_id)
    for ref in run.scope.forbidden:
        add(pairs.forbidden, ref.demand_id, ref.provider_id)
    for ref in run.scope.locked:
        add(pairs.locked, ref.demand_id, ref.provider_id)
    pairs.locked |= pairs.kept
    return pairs


def _chunks(values: list[int], size: int = 5_000) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _previous_round(session: Session, run: RoundRun) -> int | None:
    query = (
        select(MatchRound.id, MatchRound.scope)
        .where(MatchRound.status == RoundStatus.SUCCEEDED, MatchRound.id < run.round_id)
        .order_by(MatchRound.id.desc())
    )
    for round_id, scope in session.execute(query):
        if (scope or {}).get("level", "society") == run.scope.level:
            return int(round_id)
    return None


def stage_candidates(factory: sessionmaker[Session], run: RoundRun) -> None:
    """Top-k candidates above the threshold, plus every locked, preferred or earlier-proposed pair."""
    assert run.index is not None
    assert run.vectors is not None
    index, scope = run.index, run.scope
    with factory() as session:
        pairs = _load_pairs(session, run, index)
    forced = (pairs.locked | pairs.preferred | pairs.previous) - (pairs.forbidden - pairs.locked)
    scores = _candidate_scores(
        run, np.arange(run.demand_ids.size), np.full(run.demand_ids.size, scope.candidates)
    )
    scores = _with_forced(scores, run, forced)
    run.problem = Problem(
        scores=scores,
        affinity=_bonus(
            scores, pairs.preferred, scope.preference_bonus, pairs.previous, scope.stability_bonus
        ),
        capacity=_capacity(index, scope, pairs.locked),
        wanted=_wanted(run, pairs.locked),
        forbidden=_array(pairs.forbidden),  # a pair both locked and forbidden fails the round (409 reason)
        locked=_array(pairs.locked),
        kept=pairs.kept,
        preferred=pairs.preferred,
        previous=pairs.previous,
        depth=_depth(scope),
    )
    run.counts.update(
        candidates=int(scores.nnz),
        locked=len(pairs.locked),
        kept=len(pairs.kept),
        forbidden=len(pairs.forbidden),
        preferred=len(pairs.preferred),
    )


def _candidate_scores(run: RoundRun, rows: IntArray, k: IntArray) -> sp.csr_matrix:
    """Top ``k[r]`` scores of demand ``rows[r]`` (similarity at the threshold or above), as full rows."""
    assert run.index is not None
    assert run.vectors is not None
    n, m = run.demand_ids.size, run.index.ids.size
    blocks = []
    for value in np.unique(k):
        chosen = rows[k == value]
        part = _top_scores(run.index, run.vectors[chosen], int(value), run.scope.min_score) if m else None
        if part is not None:
            blocks.append((chosen[part.row], part.col, part.data))
    if not blocks:
        return sp.csr_matrix((n, m), dtype=np.float64)
    r, c, v = (np.concatenate(parts) for parts in zip(*blocks, strict=True))
    return sp.csr_matrix((v.astype(np.float64), (r, c)), shape=(n, m))


def _top_scores(
    index: engine.ProviderIndex, vectors: sp.csr_matrix, k: int, min_score: float
) -> sp.coo_matrix:
    """Per row, the ``k`` best ranking scores among providers whose gate similarity reaches ``min_score``."""
    if not index.fused:  # cosine only: the sparse top-k product, then the threshold on the gate
        part = sp.coo_matrix(top_k(vectors, index.matrix, k))
        gates = engine.gate_of_pairs(vectors, index, part.row, part.col)
        keep = (gates >= min_score) & (gates > 0)
        return sp.coo_matrix((part.data[keep], (part.row[keep], part.col[keep])), shape=part.shape)
    chunk = max(1, engine.BLOCK_CELLS // max(index.ids.size, 1))
    blocks = [
        top_k_dense(engine.gated_scores(index, vectors[start : start + chunk], min_score), k)
        for start in range(0, vectors.shape[0], chunk)
    ]
    return sp.coo_matrix(sp.vstack(blocks, format="csr"), shape=(vectors.shape[0], index.ids.size))


def _with_forced(scores: sp.csr_matrix, run: RoundRun, forced: set[tuple[int, int]]) -> sp.csr_matrix:
    assert run.index is not None
    assert run.vectors is not None
    if not forced:
        return scores
    pairs = _array(forced)
    exact = engine.pair_scores(run.vectors, run.index, pairs[:, 0], pairs[:, 1])
    # A forced pair must be a candidate even when it shares nothing: a tiny positive affinity keeps it.
    extra = sp.csr_matrix((np.maximum(exact, 1e-9), (pairs[:, 0], pairs[:, 1])), shape=scores.shape)
    present = scores.multiply(extra.astype(bool)).astype(bool)
    return sp.csr_matrix(scores + extra - extra.multiply(present))


def _bonus(
    scores: sp.csr_matrix,
    preferred: set[tuple[int, int]],
    prefer: float,
    previous: set[tuple[int, int]],
    stay: float,
) -> sp.csr_matrix:
    coo = scores.tocoo()
    bonus = np.zeros(coo.nnz)
    for pairs, amount in ((preferred, prefer), (previous, stay)):
        if pairs and amount:
            keys = coo.row.astype(np.int64) * scores.shape[1] + coo.col
            wanted = np.array([d * scores.shape[1] + p for d, p in pairs], dtype=np.int64)
            bonus += amount * np.isin(keys, wanted)
    return sp.csr_matrix((coo.data + bonus, (coo.row, coo.col)), shape=scores.shape)


def _array(pairs: set[tuple[int, int]]) -> IntArray:
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _capacity(index: engine.ProviderIndex, scope: RoundScope, locked: set[tuple[int, int]]) -> IntArray:
    capacity = index.capacity.copy()
    for provider_id, value in scope.capacities.items():
        if provider_id in index.position:
            capacity[index.position[provider_id]] = value
    # Commitments already made (accepted pairings, staff locks) are honoured even beyond the capacity.
    held = np.bincount(_array(locked)[:, 1], minlength=capacity.size) if locked else np.zeros_like(capacity)
    return np.maximum(capacity, held)


def _wanted(run: RoundRun, locked: set[tuple[int, int]]) -> IntArray:
    wanted = np.full(run.demand_ids.size, run.scope.wanted, dtype=np.int64)
    rows = {int(d): i for i, d in enumerate(run.demand_ids)}
    for demand_id, value in run.scope.wanted_per_demand.items():
        if demand_id in rows:
            wanted[rows[demand_id]] = value
    held = np.bincount(_array(locked)[:, 0], minlength=wanted.size) if locked else np.zeros_like(wanted)
    return np.maximum(wanted, held)


def _depth(scope: RoundScope) -> FloatArray | None:
    if not scope.depth_discount:
        return None
    longest = max([scope.wanted, *scope.wanted_per_demand.values(), len(scope.depth_discount), 1])
    weights = list(scope.depth_discount) + [scope.depth_discount[-1]] * (longest - len(scope.depth_discount))
    return np.array(weights[:longest], dtype=np.float64)


def stage_solve(run: RoundRun) -> None:
    """Solve exactly, widening the candidates of demands whose dual prices say a pruned pair may pay."""
    assert run.problem is not None
    problem, k = run.problem, np.full(run.demand_ids.size, run.scope.candidates, np.int64)
    for attempt in range(MAX_WIDENINGS + 1):
        result = _assign(problem)
        gain = _pruned_gain(problem, result, k)
        problem.gap_bound, problem.widenings = float(gain.sum()), attempt
        need = np.flatnonzero(gain > GAP_TOLERANCE)
        if need.size == 0 or attempt == MAX_WIDENINGS:
            break
        k[need] *= 2
        _widen(run, need, k[need])
    run.assignment = result
    run.diagnosis = diagnose(run, result)
    run.counts.update(
        pairs=result.n_pairs,
        objective=round(result.objective, 6),
        gap_bound=problem.gap_bound,
        widenings=problem.widenings,
        served=int((result.demand_counts > 0).sum()),
        unserved=int((result.demand_counts == 0).sum()),
    )


def _assign(problem: Problem) -> Assignment:
    return assign(
        problem.affinity,
        problem.capacity,
        problem.wanted,
        forbidden=problem.forbidden if problem.forbidden.size else None,
        locked=problem.locked if problem.locked.size else None,
        depth_discount=problem.depth,
    )


def _pruned_gain(problem: Problem, result: Assignment, k: IntArray) -> FloatArray:
    """Per demand, an upper bound on what pairs pruned from its top-k could still add."""
    scores = problem.scores
    nnz = np.diff(scores.indptr)
    full = nnz >= k  # a demand with fewer candidates than k has no pruned pair above the threshold
    bound = np.zeros(scores.shape[0])
    rows = np.flatnonzero(full & (nnz > 0))
    if rows.size:
        bound[rows] = [scores.data[scores.indptr[r] : scores.indptr[r + 1]].min() for r in rows]
    cert = result.certificate
    price = np.maximum(np.nan_to_num(cert.slot_price, nan=0.0, posinf=np.inf), 0.0)
    gain = np.maximum(bound[:, None] * cert.depth_weights[None, :] - price, 0.0)
    gain[np.arange(gain.shape[1])[None, :] >= problem.wanted[:, None]] = 0.0
    return np.asarray(np.where(full, gain.sum(axis=1), 0.0), dtype=np.float64)


def _widen(run: RoundRun, rows: IntArray, k: IntArray) -> None:
    assert run.problem is not None
    problem = run.problem
    fresh = _candidate_scores(run, rows, k)
    keep = sp.diags(np.isin(np.arange(problem.scores.shape[0]), rows, invert=True).astype(np.float64))
    merged = sp.csr_matrix(keep @ problem.scores + fresh)
    locked = {(int(d), int(p)) for d, p in problem.locked}
    merged = _with_forced(merged, run, locked | problem.preferred | problem.previous)
    problem.scores = merged
    scope = run.scope
    problem.affinity = _bonus(
        merged, problem.preferred, scope.preference_bonus, problem.previous, scope.stability_bonus
    )


# ---------------------------------------------------------------------------------------------
# Save: every pairing, the round's outcome and the job's completion in one transaction
# ---------------------------------------------------------------------------------------------


def pairing_rows(run: RoundRun) -> list[dict[str, Any]]:
    """The new pairings of the round (pairings kept from earlier rounds are not written again)."""
    assert run.assignment is not None
    assert run.problem is not None
    assert run.index is not None
    assert run.vectors is not None
    pairs = run.assignment.pairs
    new = np.array([(int(d), int(p)) not in run.problem.kept for d, p in pairs], dtype=bool)
    pairs = pairs[new] if pairs.size else pairs.reshape(0, 2)
    rows, cols = pairs[:, 0], pairs[:, 1]
    scores = np.asarray(run.problem.scores[rows, cols]).ravel() if rows.size else np.zeros(0)
    order = np.lexsort((cols, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    ranks = _ranks_within(rows)
    explained = engine.reasons(run.vectors, run.profiles, run.index, rows, cols)
    level, round_id = run.scope.level, run.round_id
    return [
        {
            "round_id": round_id,
            "demand_id": int(run.demand_ids[r]),
            "provider_level": level,
            "provider_id": int(run.index.ids[c]),
            "provider_name": run.index.names[c],
            "score": round(float(s), 6),
            "rank": int(k),
            "reasons": reasons,
            "status": PairingStatus.PROPOSED,
            "version": 1,
        }
        for r, c, s, k, reasons in zip(rows, cols, scores, ranks, explained, strict=True)
    ]


def _ranks_within(rows: IntArray) -> IntArray:
    """1, 2, ... within each run of equal demand rows (rows are grouped)."""
    if rows.size == 0:
        return rows
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    lengths = np.diff(np.r_[starts, rows.size])
    return np.arange(rows.size) - np.repeat(starts, lengths) + 1


def stage_save(factory: sessionmaker[Session], run: RoundRun) -> None:
    """Write all pairings, the outcome and the job's end in one transaction, or nothing."""
    rows = pairing_rows(run)
    run.counts.update(new_pairs=len(rows), churn=_churn(run))
    with factory.begin() as session:
        if _cancel_requested(session, run.round_id):
            raise RoundCancelledError
        for start in range(0, len(rows), INSERT_BATCH):
            session.execute(insert(Pairing), rows[start : start + INSERT_BATCH])
        session.execute(
            update(MatchRound)
            .where(MatchRound.id == run.round_id)
            .values(
                status=RoundStatus.SUCCEEDED,
                stage=RoundStage.SAVE,
                percent=100,
                counts=run.counts,
                timings=run.timings,
                diagnosis=run.diagnosis,
                finished_at=utcnow(),
                error=None,
            )
        )
        _finish_job(session, run.round_id, JobStatus.DONE)


def _churn(run: RoundRun) -> int:
    """Earlier proposals of the demands in scope that this round does not propose again."""
    assert run.assignment is not None
    assert run.problem is not None
    chosen = {(int(d), int(p)) for d, p in run.assignment.pairs}
    return len(run.problem.previous - chosen)


def _cancel_requested(session: Session, round_id: int) -> bool:
    query = select(MatchRound.cancel_requested).where(MatchRound.id == round_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return bool(session.scalar(query))


def _finish_job(session: Session, round_id: int, status: JobStatus) -> None:
    session.execute(
        update(Job)
        .where(Job.round_id == round_id, Job.status.in_([JobStatus.RUNNING, JobStatus.QUEUED]))
        .values(status=status, finished_at=utcnow())
    )


# ---------------------------------------------------------------------------------------------
# The whole round
# ---------------------------------------------------------------------------------------------


def _start(factory: sessionmaker[Session], round_id: int) -> RoundScope:
    with factory.begin() as session:
        matching_round = session.get(MatchRound, round_id)
        if matching_round is None:
            raise LookupError(f"round {round_id} does not exist")
        matching_round.status = RoundStatus.RUNNING
        matching_round.started_at = utcnow()
        matching_round.percent, matching_round.stage, matching_round.error = 0, RoundStage.TOKENIZE, None
        return RoundScope.model_validate(matching_round.scope)


def _end(factory: sessionmaker[Session], round_id: int, status: RoundStatus, error: str | None) -> None:
    with factory.begin() as session:
        session.execute(
            update(MatchRound)
            .where(MatchRound.id == round_id)
            .values(status=status, error=error, finished_at=utcnow())
        )
        _finish_job(
            session, round_id, JobStatus.DONE if status == RoundStatus.CANCELLED else JobStatus.FAILED
        )


def run_round(factory: sessionmaker[Session], round_id: int, listener: Listener | None = None) -> RoundStatus:
    """Run round ``round_id`` to its end; the outcome is recorded on the round (and returned)."""
    run = RoundRun(round_id, _start(factory, round_id))
    progress = Progress(factory, round_id, listener)
    stages: list[tuple[RoundStage, Callable[[], None]]] = [
        (RoundStage.TOKENIZE, lambda: stage_tokenize(factory, run)),
        (RoundStage.VECTORIZE, lambda: stage_vectorize(factory, run)),
        (RoundStage.CANDIDATES, lambda: stage_candidates(factory, run)),
        (RoundStage.SOLVE, lambda: stage_solve(run)),
        (RoundStage.SAVE, lambda: stage_save(factory, run)),
    ]
    try:
        for stage, step in stages:
            progress(stage, STAGE_START[stage])
            with _timed(run, stage.value):
                step()
    except RoundCancelledError:
        _end(factory, round_id, RoundStatus.CANCELLED, "已取消")
        return RoundStatus.CANCELLED
    except Exception as error:  # the round records any failure; the worker goes on with the next job
        _end(factory, round_id, RoundStatus.FAILED, f"{type(error).__name__}: {error}")
        return RoundStatus.FAILED
    _record_total(factory, run)
    if listener is not None:
        listener(RoundStage.SAVE, 100)
    return RoundStatus.SUCCEEDED


def _record_total(factory: sessionmaker[Session], run: RoundRun) -> None:
    run.timings["total"] = round(sum(run.timings.values()), 4)
    with factory.begin() as session:
        session.execute(update(MatchRound).where(MatchRound.id == run.round_id).values(timings=run.timings))
