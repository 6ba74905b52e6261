"""Read what a report needs from the database: the demands and pairings of a round or a period, the
history of each, the providers' capacities in the rounds involved and the rounds' coverage diagnoses.

A round's demands are those it paired or diagnosed as unserved. A period's demands are those collected
(submitted) in it, China dates inclusive, followed to where they stand today in any round.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.db.models import Demand, DemandEvent, DemandStatus
from api.matching.models import MatchRound, Pairing, PairingEvent, PairingStatus, RoundStatus
from api.matching.service import get_round
from api.programmes.models import Campaign, Programme, ProgrammeTag, TagTarget
from api.programmes.periods import CHINA
from api.providers.models import Branch, Expert, ExpertPost, ProviderLevel, Society
from api.reports.metrics import DemandFact, PairingFact

CHUNK: Final = 2_000
ROUNDS_SCANNED: Final = 200
NO_SOCIETY: Final = "未归属学会"
_DEFAULT_CAPACITY: Final = {
    ProviderLevel.SOCIETY: (Society, Society.default_capacity),
    ProviderLevel.BRANCH: (Branch, Branch.default_capacity),
    ProviderLevel.EXPERT: (Expert, Expert.capacity),
}


@dataclass(slots=True)
class Cohort:
    """The demands and pairings a report covers, with what the load and gap sections need."""

    title: str
    subtitle: str
    demands: list[DemandFact]
    pairings: list[PairingFact]
    capacity: dict[tuple[str, int], int] = field(default_factory=dict)
    names: dict[tuple[str, int], str] = field(default_factory=dict)
    diagnosed: dict[int, str] = field(default_factory=dict)
    relaxations: list[dict[str, Any]] = field(default_factory=list)
    round_ids: list[int] = field(default_factory=list)


def chunks(values: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    """``values`` in lists of at most ``size``, so IN lists stay within every backend's limits."""
    batch: list[int] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- cohorts ------------------------------------------------------------------------------------


def round_cohort(session: Session, round_id: int) -> Cohort:
    """The demands a round paired or left unserved, its pairings and its providers' capacity."""
    matching_round = get_round(session, round_id)
    pairings = pairing_facts(session, Pairing.round_id == round_id)
    diagnosis = matching_round.diagnosis or {}
    diagnosed = {int(u["demand_id"]): str(u["reason"]) for u in diagnosis.get("unserved") or []}
    demand_ids = sorted({p.demand_id for p in pairings} | set(diagnosed))
    cohort = Cohort(
        title=f"第 {round_id} 轮匹配报告",
        subtitle=_round_subtitle(matching_round),
        demands=demand_facts(session, demand_ids, pairings),
        pairings=pairings,
        diagnosed=diagnosed,
        relaxations=list(diagnosis.get("relaxations") or []),
        round_ids=[round_id],
    )
    _add_capacity(session, cohort, [matching_round])
    return cohort


def _round_subtitle(matching_round: MatchRound) -> str:
    level = {"society": "学会", "branch": "分支机构", "expert": "专家"}
    scope = matching_round.scope or {}
    created = matching_round.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return f"匹配对象：{level.get(scope.get('level', 'society'), '学会')}；创建于 {created}（北京时间）"


def period_cohort(session: Session, first: date, last: date) -> Cohort:
    """The demands collected from ``first`` to ``last`` (China dates) and all their pairings so far."""
    start, end = _utc_bounds(first, last)
    demand_ids = list(
        session.scalars(
            select(Demand.id).where(Demand.created_at >= start, Demand.created_at < end).order_by(Demand.id)
        )
    )
    pairings = [
        p for batch in chunks(demand_ids) for p in pairing_facts(session, Pairing.demand_id.in_(batch))
    ]
    rounds = _rounds_since(session, start)
    involved = {p.round_id for p in pairings}
    cohort = Cohort(
        title=f"{first:%Y年%m月%d日}至{last:%Y年%m月%d日}工作报告",
        subtitle=f"本期征集的需求 {len(demand_ids)} 项，统计其截至报告日的进展",
        demands=demand_facts(session, demand_ids, pairings),
        pairings=pairings,
        round_ids=sorted(involved),
    )
    wanted = set(demand_ids)
    for matching_round in rounds:  # oldest first: a later round's reason replaces an earlier one's
        for entry in (matching_round.diagnosis or {}).get("unserved") or []:
            if int(entry["demand_id"]) in wanted:
                cohort.diagnosed[int(entry["demand_id"])] = str(entry["reason"])
    if rounds:
        cohort.relaxations = list((rounds[-1].diagnosis or {}).get("relaxations") or [])
    _add_capacity(session, cohort, [r for r in rounds if r.id in involved])
    return cohort


def _utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(), CHINA)
    return start, datetime.combine(last + timedelta(days=1), time(), CHINA)


def _rounds_since(session: Session, start: datetime) -> list[MatchRound]:
    query = (
        select(MatchRound)
        .where(MatchRound.status == RoundStatus.SUCCEEDED, MatchRound.created_at >= start)
        .order_by(MatchRound.id.desc())
        .limit(ROUNDS_SCANNED)
    )
    return list(reversed(session.scalars(query).all()))


# --- facts --------------------------------------------------------------------------------------


def pairing_facts(session: Session, condition: ColumnElement[bool]) -> list[PairingFact]:
    """The pairings meeting ``condition`` with the first time each reached each status."""
    rows = session.execute(
        select(
            Pairing.id,
            Pairing.round_id,
            Pairing.demand_id,
            Pairing.provider_level,
            Pairing.provider_id,
            Pairing.provider_name,
            Pairing.status,
            Pairing.created_at,
            Pairing.agreement_amount_wan,
        )
        .where(condition)
        .order_by(Pairing.id)
    ).all()
    reached = _reached(session, [row.id for row in rows])
    return [
        PairingFact(
            id=row.id,
            round_id=row.round_id,
            demand_id=row.demand_id,
            level=row.provider_level.value,
            provider_id=row.provider_id,
            provider_name=row.provider_name,
            status=row.status,
            created_at=row.created_at,
            reached_at=reached.get(row.id, {}),
            amount_wan=row.agreement_amount_wan,
        )
        for row in rows
    ]


def _reached(session: Session, pairing_ids: list[int]) -> dict[int, dict[PairingStatus, datetime]]:
    out: dict[int, dict[PairingStatus, datetime]] = {}
    for batch in chunks(pairing_ids):
        query = (
            select(PairingEvent.pairing_id, PairingEvent.to_status, func.min(PairingEvent.created_at))
            .where(PairingEvent.pairing_id.in_(batch), PairingEvent.to_status.is_not(None))
            .group_by(PairingEvent.pairing_id, PairingEvent.to_status)
        )
        for pairing_id, status, when in session.execute(query):
            if status is not None:
                out.setdefault(pairing_id, {})[status] = _aware(when)
    return out


def _aware(moment: datetime) -> datetime:
    # func.min() bypasses the column type on SQLite, which hands back a naive (UTC) value or text.
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def demand_facts(session: Session, demand_ids: list[int], pairings: list[PairingFact]) -> list[DemandFact]:
    """The demands with the first time each was published and the programmes it was worked under."""
    programmes = _programmes(session, demand_ids, pairings)
    out = []
    for batch in chunks(demand_ids):
        published = _published(session, batch)
        rows = session.execute(
            select(Demand.id, Demand.title, Demand.org_name, Demand.created_at, Demand.status)
            .where(Demand.id.in_(batch))
            .order_by(Demand.id)
        )
        for row in rows:
            when = published.get(row.id)
            out.append(
                DemandFact(
                    row.id,
                    row.title,
                    row.org_name,
                    row.created_at,
                    when,
                    frozenset(programmes.get(row.id, ())),
                    # A demand loaded already published has no recorded step: published, time unknown.
                    published=when is not None or row.status == DemandStatus.PUBLISHED,
                )
            )
    return out


def _published(session: Session, demand_ids: list[int]) -> dict[int, datetime]:
    query = (
        select(DemandEvent.demand_id, func.min(DemandEvent.created_at))
        .where(DemandEvent.demand_id.in_(demand_ids), DemandEvent.to_status == DemandStatus.PUBLISHED)
        .group_by(DemandEvent.demand_id)
    )
    return {demand_id: _aware(when) for demand_id, when in session.execute(query)}


def _programmes(session: Session, demand_ids: list[int], pairings: list[PairingFact]) -> dict[int, set[str]]:
    """Per demand: its campaign's programme and those tagged on its pairings or their rounds."""
    out: dict[int, set[str]] = {}
    for batch in chunks(demand_ids):
        query = (
            select(Demand.id, Programme.name)
            .join(Campaign, Campaign.id == Demand.campaign_id)
            .join(Programme, Programme.id == Campaign.programme_id)
            .where(Demand.id.in_(batch))
        )
        for demand_id, name in session.execute(query):
            out.setdefault(demand_id, set()).add(name)
    by_pairing = _tags(session, TagTarget.PAIRING, [p.id for p in pairings])
    by_round = _tags(session, TagTarget.ROUND, sorted({p.round_id for p in pairings}))
    for p in pairings:
        names = by_pairing.get(p.id, set()) | by_round.get(p.round_id, set())
        if names:
            out.setdefault(p.demand_id, set()).update(names)
    return out


def _tags(session: Session, target: TagTarget, ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for batch in chunks(ids):
        query = (
            select(ProgrammeTag.target_id, Programme.name)
            .join(Programme, Programme.id == ProgrammeTag.programme_id)
            .where(ProgrammeTag.target_kind == target, ProgrammeTag.target_id.in_(batch))
        )
        for target_id, name in session.execute(query):
            out.setdefault(target_id, set()).add(name)
    return out


# --- providers ----------------------------------------------------------------------------------


def _add_capacity(session: Session, cohort: Cohort, rounds: list[MatchRound]) -> None:
    """Each provider's capacity summed over ``rounds`` (the round's override, else its default)."""
    for matching_round in rounds:
        scope = matching_round.scope or {}
        level = ProviderLevel(scope.get("level", "society"))
        overrides = {int(k): int(v) for k, v in (scope.get("capacities") or {}).items()}
        for provider_id, name, default in _providers(session, level, scope.get("provider_ids")):
            key = (level.value, provider_id)
            cohort.capacity[key] = cohort.capacity.get(key, 0) + overrides.get(provider_id, default)
            cohort.names[key] = name
    for p in cohort.pairings:
        cohort.names.setdefault((p.level, p.provider_id), p.provider_name)


def _providers(session: Session, level: ProviderLevel, only: list[int] | None) -> list[tuple[int, str, int]]:
    model: Any
    model, capacity = _DEFAULT_CAPACITY[level]
    query = select(model.id, model.name, capacity).where(model.active.is_(True))
    if only:
        query = query.where(model.id.in_(only))
    return [(row[0], row[1], int(row[2])) for row in session.execute(query)]


def society_names(session: Session, level: str, provider_ids: Iterable[int]) -> dict[int, str]:
    """The society each provider belongs to: itself, a branch's society, an expert's first post's."""
    ids = sorted(set(provider_ids))
    out: dict[int, str] = {}
    for batch in chunks(ids):
        if level == ProviderLevel.SOCIETY:
            query = select(Society.id, Society.name).where(Society.id.in_(batch))
        elif level == ProviderLevel.BRANCH:
            query = select(Branch.id, Society.name).join(Society).where(Branch.id.in_(batch))
        else:
            query = (
                select(ExpertPost.expert_id, Society.name)
                .join(Society)
                .where(ExpertPost.expert_id.in_(batch))
                .order_by(ExpertPost.id.desc())  # the first post wins: it is written last
            )
        out.update({row[0]: row[1] for row in session.execute(query)})
    return {provider_id: out.get(provider_id, NO_SOCIETY) for provider_id in ids}
