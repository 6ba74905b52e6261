"""Matching services: provisional match lists, rounds (queue, read, cancel) and their pairings."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, case, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from api.db.models import Demand, StaffUser
from api.encoding.service import demand_vectors as stored_vectors
from api.encoding.service import dense_notice
from api.errors import ConflictError, NotFoundError, RequestInvalidError, field_error
from api.learning.service import learned_index
from api.matching import jobs
from api.matching.index import preload_stored, provider_index, signatures
from api.matching.inputs import demand_inputs
from api.matching.models import (
    ConstraintKind,
    MatchRound,
    PairConstraint,
    Pairing,
    PairingStatus,
    RoundStatus,
)
from api.matching.repository import KEPT_STATUSES
from api.matching.schemas import MatchItem, MatchList, Reason, RoundScope
from api.providers.models import Branch, DemandPreference, Expert, PreferenceKind, Society
from matcher import (
    PairReason,
    ProviderIndex,
    demand_vectors,
    explain_pairs,
    ranked,
    top_candidates,
)

STATUS_LABELS = {
    PairingStatus.PROPOSED: "已推荐",
    PairingStatus.ACCEPTED: "已接受",
    PairingStatus.REJECTED: "已拒绝",
    PairingStatus.CONTACTED: "已对接",
    PairingStatus.AGREEMENT: "已签约",
    PairingStatus.CLOSED: "已结束",
}


def get_demand(session: Session, demand_id: int) -> Demand:
    """The demand, or 404."""
    demand = session.get(Demand, demand_id)
    if demand is None:
        raise NotFoundError(f"需求 {demand_id} 不存在")
    return demand


# ---------------------------------------------------------------------------------------------
# Provisional match list
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapacityState:
    """Capacities of one level's providers in the current round: provider id -> (capacity, left)."""

    signature: tuple[Any, ...]
    round_id: int | None
    remaining: dict[int, tuple[int, int]]


_CAPACITIES: dict[str, CapacityState] = {}


def match_list(session: Session, *, demand_id: int, level: str, limit: int) -> MatchList:
    """A demand's best providers of ``level`` with reasons, capacity left and constraints."""
    return match_lists(session, demand_ids=[demand_id], level=level, limit=limit)[0]


# Demands per IN list of the batch's queries: within every backend's limit on bound parameters.
DEMAND_CHUNK = 2_000
# Sources of constraint notes in the order a demand's union lists them (staff, enterprise, pairing).
_SOURCES = ("staff", "enterprise", "pairing")


def match_lists(session: Session, *, demand_ids: Sequence[int], level: str, limit: int) -> list[MatchList]:
    """``match_list`` of each demand, in order, from a number of queries that does not grow with the
    demands (one per 2,000) and one ranking of them all; 404 at the first unknown one."""
    provider_signature, pairing_signature = signatures(session)
    demands = demands_in_order(session, demand_ids)
    index = learned_index(session, level, provider_index(session, level, signature=provider_signature))
    if index.n_providers == 0 or not demands:
        return [MatchList(demand_id=d, level=level, current_round_id=None, items=[]) for d in demand_ids]
    capacities = capacity_state(session, index, level, (*provider_signature, *pairing_signature))
    # Only the sentence encoder's part and staff decisions read a demand's stored vector: a sparse
    # list does not ask for it.
    reads_vectors = {"sentence_encoder", "staff_decisions"} & set(index.fused_components)
    stored = stored_vectors(session, [d.id for d in demands]) if reads_vectors else {}
    inputs = demand_inputs(demands, vectors=stored)
    vectors = demand_vectors(index, inputs)
    lists = [
        [(int(c), float(s)) for c, s in zip(*found, strict=True)]
        for found in ranked(top_candidates(index, vectors, limit))
    ]
    rows = [row for row, found in enumerate(lists) for _ in found]
    cols = [c for found in lists for c, _ in found]
    explained = iter(explain_pairs(index, vectors, inputs, rows, cols))
    notes = constraints_of_demands(session, demand_ids, level)
    return [
        MatchList(
            demand_id=demand_id,
            level=level,
            current_round_id=capacities.round_id,
            notice=dense_notice(index.fused_components, demand_id in stored),
            items=[
                _item(
                    rank,
                    level,
                    index,
                    col,
                    score,
                    next(explained),
                    capacities.remaining,
                    notes.get(demand_id, {}),
                )
                for rank, (col, score) in enumerate(found, start=1)
            ],
        )
        for demand_id, found in zip(demand_ids, lists, strict=True)
    ]


def warm_up(session: Session, levels: Sequence[str] = ("society", "branch", "expert")) -> list[str]:
    """Ready what match lists of ``levels`` read before any demand: the encoder, the stored provider
    indexes and the capacities left, so the first list after a start costs what a warm one does.

    Returns the levels whose index was stored and current (a level without one is fitted by its
    first list, as before: a start never waits for a fit).
    """
    provider_signature, pairing_signature = signatures(session)
    latest = session.scalar(select(func.max(Demand.id)))
    ready = []
    for level in levels:
        if not preload_stored(session, level, signature=provider_signature):
            continue
        index = provider_index(session, level, signature=provider_signature)
        capacity_state(session, index, level, (*provider_signature, *pairing_signature))
        if latest is not None:  # compiles the list's statements and runs its numerics once
            match_lists(session, demand_ids=[latest], level=level, limit=10)
        ready.append(level)
    return ready


def demands_in_order(session: Session, demand_ids: Sequence[int]) -> list[Demand]:
    """The demands of ``demand_ids`` in that order (one query per 2,000), or 404 at the first unknown."""
    found: dict[int, Demand] = {}
    wanted = sorted(set(demand_ids))
    for start in range(0, len(wanted), DEMAND_CHUNK):
        chunk = wanted[start : start + DEMAND_CHUNK]
        found.update((d.id, d) for d in session.scalars(select(Demand).where(Demand.id.in_(chunk))))
    missing = next((d for d in demand_ids if d not in found), None)
    if missing is not None:
        raise NotFoundError(f"需求 {missing} 不存在")
    return [found[d] for d in demand_ids]


def constraints_of_demands(
    session: Session, demand_ids: Sequence[int], level: str
) -> dict[int, dict[int, list[tuple[str, bool]]]]:
    """``demand_constraints`` of many demands (demand -> provider -> notes), one query per 2,000.

    A pair's notes come staff first, then the enterprise, then reviewed pairings by round.
    """
    notes: dict[int, dict[int, list[tuple[str, bool]]]] = {}
    wanted = sorted(set(demand_ids))
    for start in range(0, len(wanted), DEMAND_CHUNK):
        chunk = wanted[start : start + DEMAND_CHUNK]
        rows = session.execute(_constraints_query(), {"ids": chunk, "level": level})
        for demand_id, source, provider_id, kind, reason, round_id in rows:
            by_provider = notes.setdefault(int(demand_id), {})
            by_provider.setdefault(int(provider_id), []).append(_note(source, kind, reason, round_id))
    return notes


@cache
def _constraints_query() -> Any:
    """Every constraint note of some demands (``ids``) at one level (``level``), in the order
    ``constraints_of_demands`` lists them; built once, run with its parameters."""
    ids: Any = bindparam("ids", expanding=True)
    level: Any = bindparam("level")
    staff = select(
        PairConstraint.demand_id,
        literal("staff").label("source"),
        PairConstraint.provider_id,
        cast(PairConstraint.kind, String),
        PairConstraint.reason,
        literal(None, Integer).label("round_id"),
    ).where(PairConstraint.demand_id.in_(ids), PairConstraint.provider_level == level)
    enterprise = select(
        DemandPreference.demand_id,
        literal("enterprise"),
        DemandPreference.provider_id,
        cast(DemandPreference.kind, String),
        DemandPreference.reason,
        literal(None, Integer),
    ).where(DemandPreference.demand_id.in_(ids), DemandPreference.provider_level == level)
    reviewed = select(
        Pairing.demand_id,
        literal("pairing"),
        Pairing.provider_id,
        cast(Pairing.status, String),
        Pairing.reject_reason,
        Pairing.round_id,
    ).where(
        Pairing.demand_id.in_(ids),
        Pairing.provider_level == level,
        Pairing.status != PairingStatus.PROPOSED,
    )
    union = union_all(staff, enterprise, reviewed).subquery()
    source_rank = case({name: rank for rank, name in enumerate(_SOURCES)}, value=union.c.source)
    return select(union).order_by(union.c.demand_id, source_rank, union.c.round_id, union.c.provider_id)


def capacity_state(
    session: Session, index: ProviderIndex, level: str, signature: tuple[Any, ...]
) -> CapacityState:
    """Every provider's capacity and capacity left, recomputed only when a pairing or round changed."""
    cached = _CAPACITIES.get(level)
    if cached is not None and cached.signature == signature:
        return cached
    current = current_round(session, level)
    defaults = {int(p): int(c) for p, c in zip(index.ids, index.capacity, strict=True)}
    state = CapacityState(
        signature,
        current.id if current else None,
        remaining_capacity(session, level, current, defaults),
    )
    _CAPACITIES[level] = state
    return state


def _item(
    rank: int,
    level: str,
    index: ProviderIndex,
    col: int,
    score: float,
    why: PairReason,
    remaining: dict[int, tuple[int, int]],
    notes: dict[int, list[tuple[str, bool]]],
) -> MatchItem:
    provider_id = int(index.ids[col])
    capacity, left = remaining[provider_id]
    constraints = notes.get(provider_id, [])
    return MatchItem(
        rank=rank,
        provider_level=level,
        provider_id=provider_id,
        provider_name=index.names[col],
        score=round(score, 6),
        reasons=[Reason(**r) for r in why.terms],
        closest_sentence=why.provider_sentence,
        demand_sentence=why.demand_sentence,
        explanation=why.text,
        capacity=capacity,
        remaining_capacity=left,
        constraints=[text for text, _ in constraints],
        excluded=any(excludes for _, excludes in constraints),
    )


def current_round(session: Session, level: str) -> MatchRound | None:
    """The latest succeeded round of ``level``."""
    query = (
        select(MatchRound).where(MatchRound.status == RoundStatus.SUCCEEDED).order_by(MatchRound.id.desc())
    )
    for matching_round in session.scalars(query.limit(50)):
        if (matching_round.scope or {}).get("level", "society") == level:
            return matching_round
    return None


def remaining_capacity(
    session: Session, level: str, current: MatchRound | None, defaults: dict[int, int]
) -> dict[int, tuple[int, int]]:
    """Per provider: (capacity in the current round, capacity not yet taken by its pairings)."""
    overrides = (
        {int(k): int(v) for k, v in ((current.scope or {}).get("capacities") or {}).items()}
        if current
        else {}
    )
    capacity = {p: overrides.get(p, c) for p, c in defaults.items()}
    held: dict[int, int] = dict.fromkeys(defaults, 0)
    ids = list(defaults)
    kept = (
        select(Pairing.provider_id, func.count())
        .where(
            Pairing.provider_level == level, Pairing.provider_id.in_(ids), Pairing.status.in_(KEPT_STATUSES)
        )
        .group_by(Pairing.provider_id)
    )
    if current is not None:
        kept = kept.where(Pairing.round_id != current.id)
        proposed = (
            select(Pairing.provider_id, func.count())
            .where(
                Pairing.round_id == current.id,
                Pairing.provider_id.in_(ids),
                Pairing.status != PairingStatus.REJECTED,
            )
            .group_by(Pairing.provider_id)
        )
        for provider_id, count in session.execute(proposed):
            held[provider_id] += count
    for provider_id, count in session.execute(kept):
        held[provider_id] += count
    return {p: (capacity[p], max(capacity[p] - held[p], 0)) for p in defaults}


def constraints_of(
    session: Session, demand_id: int, level: str, provider_ids: Sequence[int]
) -> dict[int, list[tuple[str, bool]]]:
    """Per provider, the constraints on its pair with the demand: (Chinese note, excludes it?)."""
    notes = demand_constraints(session, demand_id, level)
    return {p: notes[p] for p in provider_ids if p in notes}


def demand_constraints(session: Session, demand_id: int, level: str) -> dict[int, list[tuple[str, bool]]]:
    """Per provider of ``level``: staff locks and forbids, enterprise preferences and reviewed pairings
    of the demand, as (Chinese note, excludes it?), in ``constraints_of_demands``' order; one query."""
    return constraints_of_demands(session, [demand_id], level).get(demand_id, {})


def _note(source: str, kind: str, reason: str | None, round_id: int | None) -> tuple[str, bool]:
    """The Chinese note of one constraint and whether it excludes the provider."""
    if source == "staff":
        forbid = kind == ConstraintKind.FORBID.value
        return ("工作人员禁止" if forbid else "工作人员锁定") + (f"：{reason}" if reason else ""), forbid
    if source == "enterprise":
        refuse = kind == PreferenceKind.REFUSE.value
        return ("企业拒绝" if refuse else "企业指定（加分）") + (f"：{reason}" if reason else ""), refuse
    status = PairingStatus(kind)
    rejected = status == PairingStatus.REJECTED
    text = f"第 {round_id} 轮{STATUS_LABELS[status]}"
    return text + (f"：{reason}" if rejected and reason else ""), rejected


# ---------------------------------------------------------------------------------------------
# Rounds
# ---------------------------------------------------------------------------------------------


LEVEL_LABELS = {"society": "学会", "branch": "分支机构", "expert": "专家"}
PROVIDER_MODELS: dict[str, type[Society] | type[Branch] | type[Expert]] = {
    "society": Society,
    "branch": Branch,
    "expert": Expert,
}


def validate_scope(session: Session, scope: RoundScope) -> None:
    """422 for ids the round cannot use: unknown demands, providers not active at the round's level."""
    demand_refs = _scope_demand_refs(scope)
    provider_refs = _scope_provider_refs(scope)
    known_demands = _existing(session, Demand, Demand.id, {i for _, i in demand_refs})
    model = PROVIDER_MODELS[scope.level]
    known_providers = _existing(session, model, model.id, {i for _, i in provider_refs}, model.active)
    label = LEVEL_LABELS[scope.level]
    errors = [
        field_error(f, "round_demand_unknown", value=i) for f, i in demand_refs if i not in known_demands
    ]
    errors += [
        field_error(f, "round_provider_unknown", value=i, level_label=label)
        for f, i in provider_refs
        if i not in known_providers
    ]
    if errors:
        raise RequestInvalidError(errors=errors)


def _scope_demand_refs(scope: RoundScope) -> list[tuple[str, int]]:
    refs = [(f"demand_ids[{n}]", i) for n, i in enumerate(scope.demand_ids or [])]
    refs += [(f"wanted_per_demand.{i}", i) for i in scope.wanted_per_demand]
    for name in ("forbidden", "locked"):
        refs += [(f"{name}[{n}].demand_id", ref.demand_id) for n, ref in enumerate(getattr(scope, name))]
    return refs


def _scope_provider_refs(scope: RoundScope) -> list[tuple[str, int]]:
    refs = [(f"provider_ids[{n}]", i) for n, i in enumerate(scope.provider_ids or [])]
    refs += [(f"capacities.{i}", i) for i in scope.capacities]
    for name in ("forbidden", "locked"):
        refs += [(f"{name}[{n}].provider_id", ref.provider_id) for n, ref in enumerate(getattr(scope, name))]
    return refs


def _existing(session: Session, model: Any, column: Any, ids: set[int], *conditions: Any) -> set[int]:
    found: set[int] = set()
    wanted = sorted(ids)
    for start in range(0, len(wanted), 5_000):
        chunk = wanted[start : start + 5_000]
        found.update(session.scalars(select(column).where(column.in_(chunk), *conditions)))
    return found


def create_round(session: Session, *, scope: RoundScope, staff: StaffUser | None) -> MatchRound:
    """Check the scope's ids, then store a queued round and the job that will run it."""
    validate_scope(session, scope)
    matching_round = MatchRound(
        scope=scope.model_dump(mode="json"),
        status=RoundStatus.QUEUED,
        created_by=staff.id if staff else None,
        counts={},
        timings={},
    )
    session.add(matching_round)
    session.flush()
    jobs.enqueue(session, matching_round.id)
    return matching_round


def get_round(session: Session, round_id: int) -> MatchRound:
    """The round, or 404."""
    matching_round = session.get(MatchRound, round_id)
    if matching_round is None:
        raise NotFoundError(f"匹配轮次 {round_id} 不存在")
    return matching_round


def cancel_round(session: Session, *, round_id: int) -> MatchRound:
    """Cancel a queued round at once, or ask a running one to stop (every stage looks at the request)."""
    matching_round = get_round(session, round_id)
    if matching_round.status == RoundStatus.QUEUED:
        matching_round.status = RoundStatus.CANCELLED
        matching_round.error = "已取消"
        session.flush()
        jobs.cancel_queued(session, round_id)
    elif matching_round.status == RoundStatus.RUNNING:
        matching_round.cancel_requested = True
    else:
        raise ConflictError(f"匹配轮次 {round_id} 已结束（{matching_round.status.value}），不能取消")
    session.flush()
    return matching_round


def list_pairings(
    session: Session,
    *,
    round_id: int,
    status: PairingStatus | None,
    demand_id: int | None,
    offset: int,
    limit: int,
) -> tuple[list[Pairing], int]:
    """One page of a round's pairings, by demand then rank, with the total."""
    get_round(session, round_id)
    query = select(Pairing).where(Pairing.round_id == round_id)
    if status is not None:
        query = query.where(Pairing.status == status)
    if demand_id is not None:
        query = query.where(Pairing.demand_id == demand_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(Pairing.demand_id, Pairing.rank).offset(offset).limit(limit))
    return list(page), total
