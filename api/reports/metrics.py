"""What a report says, computed from plain facts (no database): the funnel, provider load against
capacity, coverage gaps, median days per stage and the funnel per programme.

The funnel counts distinct demands at each step, and the pairings behind the last three steps. A
pairing "reached" a step when its history (or its current status) shows it: a pairing accepted and
then rejected still counts as accepted, because staff did accept it once.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from statistics import median
from typing import Final

from api.matching.models import PairingStatus

P = PairingStatus
# How far along a pairing is: 0 proposed, 1 accepted, 2 contacted, 3 agreement (closed keeps its history).
PROGRESS: Final = {P.ACCEPTED: 1, P.CONTACTED: 2, P.AGREEMENT: 3}
FUNNEL_STEPS: Final = (
    ("collected", "征集"),
    ("published", "发布"),
    ("matched", "匹配"),
    ("accepted", "接受"),
    ("contacted", "对接"),
    ("signed", "签约"),
)
STAGES: Final = (
    ("submit_publish", "提交→发布"),
    ("publish_match", "发布→匹配"),
    ("match_accept", "匹配→接受"),
    ("accept_contact", "接受→对接"),
    ("contact_sign", "对接→签约"),
)
GAP_MESSAGES: Final = {
    "no_candidate": "没有相似度达到阈值的服务方",
    "forbidden": "所有候选服务方均被禁止",
    "capacity": "所有候选服务方本轮容量已满",
    "rejected": "推荐的服务方均已被拒绝",
    "not_matched": "尚未进入匹配轮次",
}
SECONDS_PER_DAY: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class DemandFact:
    """A demand as a report sees it."""

    id: int
    title: str
    org_name: str
    created_at: datetime
    published_at: datetime | None  # first recorded step to published; None when none was recorded
    programmes: frozenset[str] = frozenset()
    published: bool | None = None  # None: published exactly when a step was recorded

    @property
    def was_published(self) -> bool:
        """Published at some point (recorded, or loaded already published)."""
        return self.published if self.published is not None else self.published_at is not None


@dataclass(frozen=True, slots=True)
class PairingFact:
    """A pairing as a report sees it: where it got to and when it got to each step."""

    id: int
    round_id: int
    demand_id: int
    level: str
    provider_id: int
    provider_name: str
    status: PairingStatus
    created_at: datetime
    reached_at: dict[PairingStatus, datetime] = field(default_factory=dict)
    amount_wan: Decimal | None = None

    @property
    def progress(self) -> int:
        """0 proposed, 1 accepted, 2 contacted, 3 signed: the furthest step of status or history."""
        steps = [*self.reached_at, self.status]
        return max((PROGRESS.get(step, 0) for step in steps), default=0)


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One step of the funnel: distinct demands, pairings and agreement amounts (万元)."""

    key: str
    label: str
    demands: int
    pairings: int | None
    amount_wan: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LoadRow:
    """A provider's load in the report's rounds against its capacity there."""

    level: str
    provider_id: int
    name: str
    capacity: int
    load: int
    advanced: int
    rejected: int

    @property
    def ratio(self) -> float | None:
        """Load over capacity; None when the capacity is 0."""
        return self.load / self.capacity if self.capacity else None


@dataclass(frozen=True, slots=True)
class Gap:
    """A demand left without a live pairing, and why."""

    demand_id: int
    title: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class StageMedian:
    """The median days a step took, over ``count`` demands or pairings that took it."""

    key: str
    label: str
    count: int
    median_days: float | None


def funnel(demands: Sequence[DemandFact], pairings: Sequence[PairingFact]) -> list[FunnelStep]:
    """The six steps from collected to signed; later steps count demands with a pairing that got there."""
    by_step = {level: [p for p in pairings if p.progress >= level] for level in (1, 2, 3)}
    signed_amount = sum((p.amount_wan or Decimal(0) for p in by_step[3]), Decimal(0))
    counts = [
        (len(demands), None, None),
        (sum(1 for d in demands if d.was_published), None, None),
        (_distinct_demands(pairings), len(pairings), None),
        (_distinct_demands(by_step[1]), len(by_step[1]), None),
        (_distinct_demands(by_step[2]), len(by_step[2]), None),
        (_distinct_demands(by_step[3]), len(by_step[3]), signed_amount),
    ]
    return [
        FunnelStep(key, label, n, pairs, amount)
        for (key, label), (n, pairs, amount) in zip(FUNNEL_STEPS, counts, strict=True)
    ]


def _distinct_demands(pairings: Iterable[PairingFact]) -> int:
    return len({p.demand_id for p in pairings})


def loads(
    pairings: Sequence[PairingFact], capacity: dict[tuple[str, int], int], names: dict[tuple[str, int], str]
) -> list[LoadRow]:
    """Per provider: live (not rejected) pairings against capacity in the rounds, busiest first."""
    live: Counter[tuple[str, int]] = Counter()
    advanced: Counter[tuple[str, int]] = Counter()
    rejected: Counter[tuple[str, int]] = Counter()
    for p in pairings:
        key = (p.level, p.provider_id)
        (rejected if p.status == P.REJECTED else live)[key] += 1
        advanced[key] += p.progress >= 1
    keys = set(live) | set(rejected) | {key for key, value in capacity.items() if value}
    rows = [
        LoadRow(
            key[0],
            key[1],
            names.get(key, str(key[1])),
            capacity.get(key, 0),
            live[key],
            advanced[key],
            rejected[key],
        )
        for key in keys
    ]
    return sorted(rows, key=lambda row: (-row.load, -row.capacity, row.provider_id))


def gaps(
    demands: Sequence[DemandFact], pairings: Sequence[PairingFact], diagnosed: dict[int, str]
) -> list[Gap]:
    """Demands without a live pairing: the round's diagnosis says why, else all rejected or never matched."""
    live = {p.demand_id for p in pairings if p.status != P.REJECTED}
    proposed = {p.demand_id for p in pairings}
    out = []
    for demand in demands:
        if demand.id in live:
            continue
        reason = "rejected" if demand.id in proposed else diagnosed.get(demand.id, "not_matched")
        out.append(Gap(demand.id, demand.title, reason, GAP_MESSAGES.get(reason, reason)))
    return out


def gap_counts(found: Sequence[Gap]) -> dict[str, int]:
    """How many gaps of each reason, in the order of :data:`GAP_MESSAGES`, zeros left out."""
    counted = Counter(gap.reason for gap in found)
    return {reason: counted[reason] for reason in GAP_MESSAGES if counted[reason]}


def days_between(start: datetime | None, end: datetime | None) -> float | None:
    """Days from ``start`` to ``end``; None when either is missing or the order is reversed."""
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() / SECONDS_PER_DAY


# Units of a duration and how many of each make a day, largest first.
DURATION_UNITS: Final = (("天", 1.0), ("小时", 24.0), ("分钟", 24.0 * 60))


def duration_unit(days: float) -> tuple[str, float]:
    """The largest unit in which ``days`` is at least one (分钟 below a minute), and units per day."""
    return next(
        ((name, per_day) for name, per_day in DURATION_UNITS if days * per_day >= 1), DURATION_UNITS[-1]
    )


def duration_text(days: float | None, unit: tuple[str, float] | None = None) -> str:
    """Days in words a reader takes in at once, in ``unit`` or else the largest whole unit; "—" when unknown.

    A chart passes the unit of its axis, so every bar's label is in the unit the axis says.
    """
    if days is None:
        return "—"
    name, per_day = unit or duration_unit(days)
    value = days * per_day
    # Whole minutes read best alone; on a chart's minute axis a bar under one minute is not "1 分钟".
    return f"{value:.0f} {name}" if name == "分钟" and unit is None else f"{value:.1f} {name}"


def stage_medians(demands: Sequence[DemandFact], pairings: Sequence[PairingFact]) -> list[StageMedian]:
    """Median days of each stage: demands for the first two, pairings for the rest."""
    first_pairing: dict[int, datetime] = {}
    for p in pairings:
        first_pairing[p.demand_id] = min(p.created_at, first_pairing.get(p.demand_id, p.created_at))
    spans = {
        "submit_publish": [days_between(d.created_at, d.published_at) for d in demands],
        "publish_match": [days_between(d.published_at, first_pairing.get(d.id)) for d in demands],
        "match_accept": [days_between(p.created_at, p.reached_at.get(P.ACCEPTED)) for p in pairings],
        "accept_contact": [
            days_between(p.reached_at.get(P.ACCEPTED), p.reached_at.get(P.CONTACTED)) for p in pairings
        ],
        "contact_sign": [
            days_between(p.reached_at.get(P.CONTACTED), p.reached_at.get(P.AGREEMENT)) for p in pairings
        ],
    }
    return [_median(key, label, spans[key]) for key, label in STAGES]


def _median(key: str, label: str, values: Iterable[float | None]) -> StageMedian:
    known = [value for value in values if value is not None]
    return StageMedian(key, label, len(known), median(known) if known else None)


def programme_funnels(
    demands: Sequence[DemandFact], pairings: Sequence[PairingFact]
) -> dict[str, list[FunnelStep]]:
    """The funnel of each programme's demands (and their pairings); empty when no demand has one."""
    names = sorted({name for demand in demands for name in demand.programmes})
    out = {}
    for name in names:
        members = [d for d in demands if name in d.programmes]
        ids = {d.id for d in members}
        out[name] = funnel(members, [p for p in pairings if p.demand_id in ids])
    return out
