"""The pairing worklists' query: pairings with their demand's title and enterprise, searched and
sorted, of one round or of all rounds, and each branch named with its society."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from api.db.models import Demand
from api.matching.models import Pairing, PairingStatus
from api.providers.models import Branch, ProviderLevel, Society
from api.validation import row_id

SORTS: Final = {
    "demand": "按需求",
    "score": "按相关度",
    "org": "按企业",
    "provider": "按对象",
    "updated": "按最近变动",
}


@dataclass(frozen=True, slots=True)
class PairingRow:
    """One row of a pairing worklist."""

    pairing: Pairing
    demand_title: str
    org_name: str
    provider_label: str


@dataclass(frozen=True, slots=True)
class PairingQuery:
    """What a worklist shows: round (None: all), status (None: all), search text and sort key."""

    round_id: int | None = None
    status: PairingStatus | None = None
    text: str = ""
    sort: str = "demand"


def parse_query(round_: str, status: str, q: str, sort: str) -> PairingQuery:
    """The worklist's query string as a query; unknown values mean "all" (they come from links)."""
    return PairingQuery(
        round_id=row_id(round_.strip()),
        status=PairingStatus(status) if status in PairingStatus._value2member_map_ else None,
        text=q.strip()[:100],
        sort=sort if sort in SORTS else "demand",
    )


def _order(sort: str) -> list[Any]:
    orders: dict[str, list[Any]] = {
        "demand": [Pairing.round_id.desc(), Pairing.demand_id, Pairing.rank],
        "score": [Pairing.score.desc(), Pairing.id],
        "org": [Demand.org_name, Pairing.demand_id, Pairing.rank],
        "provider": [Pairing.provider_name, Pairing.demand_id],
        "updated": [Pairing.updated_at.desc(), Pairing.id.desc()],
    }
    return orders[sort]


def _search(text: str) -> ColumnElement[bool]:
    pattern = f"%{text}%"
    matches: list[ColumnElement[bool]] = [
        Demand.title.ilike(pattern),
        Demand.org_name.ilike(pattern),
        Pairing.provider_name.ilike(pattern),
    ]
    number = row_id(text)
    if number is not None:
        matches.append(Pairing.demand_id == number)
    return or_(*matches)


def find_pairings(
    session: Session, query: PairingQuery, *, offset: int, limit: int
) -> tuple[list[PairingRow], int]:
    """One page of pairings matching ``query``, with the total."""
    statement = select(Pairing, Demand.title, Demand.org_name).join(Demand, Demand.id == Pairing.demand_id)
    if query.round_id is not None:
        statement = statement.where(Pairing.round_id == query.round_id)
    if query.status is not None:
        statement = statement.where(Pairing.status == query.status)
    if query.text:
        statement = statement.where(_search(query.text))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    found = session.execute(statement.order_by(*_order(query.sort)).offset(offset).limit(limit)).all()
    societies = branch_societies(
        session, [p.provider_id for p, _, _ in found if p.provider_level == ProviderLevel.BRANCH]
    )
    rows = [
        PairingRow(p, title, org, provider_label(p.provider_level, p.provider_id, p.provider_name, societies))
        for p, title, org in found
    ]
    return rows, total


def branch_societies(session: Session, branch_ids: Iterable[int]) -> dict[int, str]:
    """The society's name of each branch."""
    wanted = set(branch_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Branch.id, Society.name)
        .join(Society, Society.id == Branch.society_id)
        .where(Branch.id.in_(wanted))
    )
    return {int(branch_id): str(name) for branch_id, name in rows}


def provider_label(level: ProviderLevel, provider_id: int, name: str, societies: dict[int, str]) -> str:
    """A provider's name as staff read it: a branch always with its society."""
    society = societies.get(provider_id) if level == ProviderLevel.BRANCH else None
    if society and not name.startswith(society):
        return f"{society} · {name}"
    return name
