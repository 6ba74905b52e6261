"""Queries on demands; flushes, never commits (the request's session dependency commits)."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from api.db.concurrency import locked
from api.db.models import Demand, DemandStatus


@dataclass(frozen=True, slots=True)
class DemandFilter:
    """What a staff member searches for; every part is optional and the parts combine with AND."""

    statuses: Sequence[DemandStatus] = ()
    text: str | None = None
    region_prefix: str | None = None
    industry_prefix: str | None = None


def get(session: Session, demand_id: int, *, for_update: bool = False) -> Demand | None:
    """The demand with its history, or None; ``for_update`` locks it for a change (see api.db.concurrency)."""
    if for_update:
        return locked(session, Demand, demand_id, options=(selectinload(Demand.events),))
    query = select(Demand).where(Demand.id == demand_id).options(selectinload(Demand.events))
    return session.scalar(query)


def by_idempotency_key(session: Session, key: str) -> Demand | None:
    """The demand submitted under ``key``, if any."""
    return session.scalar(select(Demand).where(Demand.idempotency_key == key))


def search(session: Session, where: DemandFilter, *, offset: int, limit: int) -> tuple[list[Demand], int]:
    """One page of matching demands, newest first, and the number of all matches."""
    conditions = _conditions(where)
    total = session.scalar(select(func.count()).select_from(Demand).where(*conditions)) or 0
    page: Select[Demand] = (
        select(Demand).where(*conditions).order_by(Demand.id.desc()).offset(offset).limit(limit)
    )
    return list(session.scalars(page)), total


def conditions(where: DemandFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``where``, for queries other than one page (exports)."""
    return _conditions(where)


def _conditions(where: DemandFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.statuses:
        conditions.append(Demand.status.in_(where.statuses))
    if where.text:
        columns = (Demand.title, Demand.description, Demand.org_name, Demand.main_business)
        conditions.append(or_(*(column.icontains(where.text, autoescape=True) for column in columns)))
    if where.region_prefix:
        conditions.append(Demand.region_code.startswith(where.region_prefix, autoescape=True))
    if where.industry_prefix:
        conditions.append(Demand.industry_code.startswith(where.industry_prefix, autoescape=True))
    return conditions
