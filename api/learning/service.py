"""Learning from staff decisions: the switch, the decisions behind the ranking, and their audit.

A pairing staff accepted, arranged contact for (对接), signed (签约) or closed after those counts for
its provider (+1); a rejected one counts against it (the rejection share of ``FEEDBACK``). The ranking
reads the decisions of the level whenever they change (``learned_index``; nothing is learned in
place), so switching learning off restores the ranking exactly. The switch is a setting in the
database (``service_settings``), off until an admin turns it on. Every change of what counts, and
every turn of the switch, is a row of ``learning_events`` with who made it and when; its effect now is
read from the current decisions (``event_page``).
"""

import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.changes import change_stamp
from api.db.models import StaffUser
from api.encoding.models import OwnerKind, TextVector
from api.encoding.service import encoder
from api.learning.models import LearningEvent, ServiceSetting
from api.matching.models import Pairing, PairingStatus
from api.security.audit import Actor
from matcher import ProviderIndex
from matcher.feedback import Decision, FeedbackConfig, decision, feedback_component, influence
from matcher.index import with_feedback

SETTING_KEY: Final = "learning_from_decisions"
# Off on a new installation: an admin decides when staff decisions start moving the ranking (the
# turn is audited), and the rankings behind rounds already reviewed stay as they were until then.
DEFAULT_ENABLED: Final = False
FEEDBACK: Final = FeedbackConfig()
POSITIVE: Final = frozenset(
    {PairingStatus.ACCEPTED, PairingStatus.CONTACTED, PairingStatus.AGREEMENT, PairingStatus.CLOSED}
)
LEVELS: Final = ("society", "branch", "expert")


def decision_weight(status: PairingStatus | str | None) -> float:
    """What a pairing in ``status`` adds to its provider for similar demands (+1, minus a share, 0)."""
    if status is None:
        return 0.0
    value = PairingStatus(status)
    if value in POSITIVE:
        return 1.0
    return -FEEDBACK.reject_weight if value == PairingStatus.REJECTED else 0.0


def _actor(staff: StaffUser | Actor) -> Actor:
    return staff if isinstance(staff, Actor) else Actor(staff_id=staff.id, name=staff.name)


# ---------------------------------------------------------------------------------------------
# The switch
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearningState:
    """The switch, who turned it last and when, and the decisions counting per level."""

    enabled: bool
    changed_at: datetime | None
    changed_by: str | None
    accepted: dict[str, int]
    rejected: dict[str, int]


def learning_enabled(session: Session) -> bool:
    """Whether staff decisions move the ranking now."""
    value = session.scalar(select(ServiceSetting.value).where(ServiceSetting.key == SETTING_KEY))
    return DEFAULT_ENABLED if value is None else bool(value)


def learning_state(session: Session) -> LearningState:
    """The switch and the decisions it governs."""
    row = session.get(ServiceSetting, SETTING_KEY)
    accepted = dict.fromkeys(LEVELS, 0)
    rejected = dict.fromkeys(LEVELS, 0)
    for level in LEVELS:
        for found in latest_decisions(session, level):
            (accepted if found.weight > 0 else rejected)[level] += 1
    return LearningState(
        enabled=DEFAULT_ENABLED if row is None else bool(row.value),
        changed_at=None if row is None else row.updated_at,
        changed_by=None if row is None else row.staff_name,
        accepted=accepted,
        rejected=rejected,
    )


def set_learning(session: Session, *, enabled: bool, staff: StaffUser | Actor) -> LearningState:
    """Turn learning on or off; a change (not a repeat) is one event of the audit."""
    actor = _actor(staff)
    row = session.get(ServiceSetting, SETTING_KEY)
    current = DEFAULT_ENABLED if row is None else bool(row.value)
    if row is None:
        row = ServiceSetting(key=SETTING_KEY, value=enabled)
        session.add(row)
    if row.value != enabled or current != enabled:
        row.value = enabled
        row.staff_id, row.staff_name, row.updated_at = actor.staff_id, actor.name, utcnow()
    if current != enabled:
        session.add(
            LearningEvent(kind="switch", enabled=enabled, staff_id=actor.staff_id, staff_name=actor.name)
        )
    session.flush()
    return learning_state(session)


# ---------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------


def record_decision(
    session: Session, *, pairing: Pairing, before: PairingStatus, action: str, staff: StaffUser | Actor
) -> LearningEvent | None:
    """The audit event of a pairing change that changes what its decision counts; None otherwise."""
    old, new = decision_weight(before), decision_weight(pairing.status)
    if old == new:
        return None
    actor = _actor(staff)
    event = LearningEvent(
        kind="decision",
        enabled=learning_enabled(session),
        pairing_id=pairing.id,
        demand_id=pairing.demand_id,
        provider_level=str(pairing.provider_level.value),
        provider_id=pairing.provider_id,
        provider_name=pairing.provider_name or "",
        action=action,
        status=str(pairing.status.value),
        before=old,
        after=new,
        staff_id=actor.staff_id,
        staff_name=actor.name,
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class DecidedPair:
    """The latest decision on one (demand, provider) pair of a level, and its demand's vector."""

    pairing_id: int
    demand_id: int
    provider_id: int
    weight: float
    vector: bytes | None


def latest_decisions(session: Session, level: str) -> list[DecidedPair]:
    """Per (demand, provider) of ``level``, its latest decided pairing (a later round may propose a
    pair again), with the demand's vector of the current model when it has one."""
    checksum = encoder().identity.checksum
    vectors = TextVector.__table__.alias("demand_vector")
    query = (
        select(Pairing.id, Pairing.demand_id, Pairing.provider_id, Pairing.status, vectors.c.vector)
        .outerjoin(
            vectors,
            (vectors.c.owner_kind == OwnerKind.DEMAND.value)
            & (vectors.c.owner_id == Pairing.demand_id)
            & (vectors.c.position == 0)
            & (vectors.c.checksum == checksum),
        )
        .where(Pairing.provider_level == level, Pairing.status != PairingStatus.PROPOSED)
        .order_by(Pairing.updated_at, Pairing.id)
    )
    latest: dict[tuple[int, int], DecidedPair] = {}
    for pairing_id, demand_id, provider_id, status, vector in session.execute(query):
        latest[(demand_id, provider_id)] = DecidedPair(
            pairing_id, demand_id, provider_id, decision_weight(status), vector
        )
    return [pair for pair in latest.values() if pair.weight != 0]


def decisions_of(index: ProviderIndex, pairs: Sequence[DecidedPair]) -> list[Decision]:
    """The decisions of encoded demands on providers of the index, in the index's columns."""
    return [
        decision(pair.demand_id, pair.vector, index.position[pair.provider_id], pair.weight > 0)
        for pair in pairs
        if pair.vector is not None and pair.provider_id in index.position
    ]


@dataclass(frozen=True, eq=False)
class _Learned:
    key: tuple[Any, ...]
    base: ProviderIndex
    index: ProviderIndex


_LOCK = threading.Lock()
_CACHE: dict[str, _Learned] = {}
# The decisions' key last read per (database, level), with the change stamp it was read under.
_KEYS: dict[tuple[str, str], tuple[Hashable, tuple[Any, ...]]] = {}


def _current_key(session: Session, level: str) -> tuple[Any, ...]:
    """``_decisions_key``, read again only when the database's change stamp (``api.db.changes``)
    moved: a match list asks on every request, and on a large level its counts scan the vectors."""
    stamp = change_stamp(session)
    where = (session.get_bind().engine.url.render_as_string(hide_password=True), level)
    cached = _KEYS.get(where)
    if stamp is not None and cached is not None and cached[0] == stamp:
        return cached[1]
    key = _decisions_key(session, level)
    if stamp is not None:
        _KEYS[where] = (stamp, key)
    return key


def _decisions_key(session: Session, level: str) -> tuple[Any, ...]:
    """What changes when the switch, a decision of ``level`` or a demand's vector changes (one query)."""
    decided = (Pairing.provider_level == level) & (Pairing.status != PairingStatus.PROPOSED)
    demand_vectors = TextVector.owner_kind == OwnerKind.DEMAND
    row = session.execute(
        select(
            select(ServiceSetting.value).where(ServiceSetting.key == SETTING_KEY).scalar_subquery(),
            select(func.count()).select_from(Pairing).where(decided).scalar_subquery(),
            select(func.max(Pairing.updated_at)).where(decided).scalar_subquery(),
            select(func.count()).select_from(TextVector).where(demand_vectors).scalar_subquery(),
            select(func.max(TextVector.encoded_at)).where(demand_vectors).scalar_subquery(),
        )
    ).one()
    return tuple(str(value) for value in row)


def learned_index(session: Session, level: str, index: ProviderIndex) -> ProviderIndex:
    """``index`` ranking with the staff decisions of ``level`` when learning is on; else ``index``.

    Match lists and rounds both rank through it (and ``huiqi evaluate`` through
    ``matcher.ranking.rank(decisions=...)``), so all three rank alike.
    """
    key = _current_key(session, level)
    cached = _CACHE.get(level)
    if cached is not None and cached.key == key and cached.base is index:
        return cached.index
    enabled = DEFAULT_ENABLED if key[0] == "None" else key[0] in ("true", "True", "1")
    component = None
    if enabled:
        decisions = decisions_of(index, latest_decisions(session, level))
        component = feedback_component(decisions, index.n_providers, FEEDBACK)
    learned = with_feedback(index, component)
    with _LOCK:
        _CACHE[level] = _Learned(key, index, learned)
    return learned


def clear_cache() -> None:
    """Forget the learned indexes (tests that rebuild provider indexes call it too)."""
    with _LOCK:
        _CACHE.clear()
        _KEYS.clear()


# ---------------------------------------------------------------------------------------------
# The audit
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventView:
    """One event of the audit with its effect now, in words staff read."""

    event: LearningEvent
    change: str
    effect: str
    demands_moved: int
    amount: float


@dataclass(frozen=True)
class EventPage:
    """A page of the audit, newest first."""

    items: list[EventView]
    total: int
    page: int
    page_size: int


def _change(event: LearningEvent) -> str:
    if event.kind == "switch":
        return "开启学习" if event.enabled else "关闭学习"
    if event.after > 0:
        return "加强该单位对相似需求的排名"
    if event.after < 0:
        return "减弱该单位对相似需求的排名"
    return "撤销此前的加强" if event.before > 0 else "撤销此前的减弱"


@dataclass(frozen=True)
class _Now:
    """The decisions counting now: per (level, demand, provider) their weight, and per (level,
    demand) how many demands its decisions move."""

    enabled: bool
    weights: dict[tuple[str, int, int], float]
    moved: dict[tuple[str, int], int]


def _now_state(session: Session, levels: Sequence[str]) -> _Now:
    enabled = learning_enabled(session)
    weights: dict[tuple[str, int, int], float] = {}
    moved: dict[tuple[str, int], int] = {}
    queries: list[bytes] | None = None
    ids: list[int] = []
    for level in levels:
        pairs = latest_decisions(session, level)
        weights.update({(level, p.demand_id, p.provider_id): p.weight for p in pairs})
        encoded = [p for p in pairs if p.vector is not None]
        if not encoded or not enabled:
            continue
        if queries is None:
            ids, queries = _all_demand_vectors(session)
        found = influence(
            queries,
            ids,
            [decision(p.demand_id, p.vector or b"", 0, p.weight > 0) for p in encoded],
            FEEDBACK,
        )
        moved.update({(level, item.demand_id): item.demands for item in found})
    return _Now(enabled, weights, moved)


def _all_demand_vectors(session: Session) -> tuple[list[int], list[bytes]]:
    checksum = encoder().identity.checksum
    rows = session.execute(
        select(TextVector.owner_id, TextVector.vector).where(
            TextVector.owner_kind == OwnerKind.DEMAND,
            TextVector.position == 0,
            TextVector.checksum == checksum,
        )
    ).all()
    return [int(owner) for owner, _ in rows], [bytes(vector) for _, vector in rows]


def _effect(event: LearningEvent, now: _Now) -> tuple[str, int, float]:
    """The effect of an event now: words, demands whose ranking it moves, and by how much."""
    if event.kind == "switch":
        counted = len(now.weights)
        if event.enabled:
            return f"当时起，员工决定参与排名（目前 {counted} 条）", 0, 0.0
        return "当时起，员工决定不再影响排名", 0, 0.0
    level, demand, provider = event.provider_level or "", event.demand_id or 0, event.provider_id or 0
    current = now.weights.get((level, demand, provider), 0.0)
    if current != event.after:
        return "已被此后的决定取代", 0, 0.0
    if event.after == 0:
        return "此前的影响已撤销", 0, 0.0
    if not now.enabled:
        return "学习已关闭，暂不影响排名", 0, 0.0
    moved = now.moved.get((level, demand))
    if moved is None:
        return "需求的语义向量尚未生成，生成后生效", 0, 0.0
    amount = event.after * FEEDBACK.weight / FEEDBACK.neighbours
    direction = "提高" if amount > 0 else "降低"
    return f"目前使该单位在 {moved} 个相似需求的匹配列表中{direction}排名", moved, amount


def event_page(
    session: Session,
    *,
    level: str | None = None,
    provider_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> EventPage:
    """The audit, newest first, optionally of one level or one provider, with each event's effect."""
    query = select(LearningEvent)
    if level is not None:
        query = query.where(LearningEvent.provider_level == level)
    if provider_id is not None:
        query = query.where(LearningEvent.provider_id == provider_id)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    events = list(
        session.scalars(
            query.order_by(LearningEvent.id.desc()).offset((page - 1) * page_size).limit(page_size)
        )
    )
    levels = {e.provider_level for e in events if e.provider_level}
    now = _now_state(session, LEVELS if any(e.kind == "switch" for e in events) else sorted(levels))
    items = []
    for event in events:
        effect, moved, amount = _effect(event, now)
        items.append(EventView(event, _change(event), effect, moved, amount))
    return EventPage(items, total, page, page_size)
