"""Queries on societies, branches, experts and demand preferences; flushes, never commits."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from api.providers.models import (
    Branch,
    CastGroup,
    DemandPreference,
    Expert,
    ExpertPost,
    ProviderLevel,
    Society,
    SocietyLevel,
)

Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class SocietyFilter:
    """What staff search societies by; the parts combine with AND."""

    text: str | None = None
    level: SocietyLevel | None = None
    cast_group: CastGroup | None = None
    active: bool | None = None


@dataclass(frozen=True, slots=True)
class ExpertFilter:
    """What staff search experts by; the parts combine with AND."""

    text: str | None = None
    society_id: int | None = None
    branch_id: int | None = None
    available: bool | None = None
    region_prefix: str | None = None


def get_society(session: Session, society_id: int) -> Society | None:
    """The society with its branches, or None."""
    query = select(Society).where(Society.id == society_id).options(selectinload(Society.branches))
    return session.scalar(query)


def society_by(session: Session, *, name: str, code: str | None) -> Society | None:
    """A society with this name or this code, if any."""
    condition = Society.name == name if code is None else or_(Society.name == name, Society.code == code)
    return session.scalar(select(Society).where(condition).limit(1))


def _page(session: Session, query: Select[Row], offset: int, limit: int) -> tuple[list[Row], int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return list(session.scalars(query.offset(offset).limit(limit))), total


def search_societies(
    session: Session, where: SocietyFilter, *, offset: int, limit: int
) -> tuple[list[Society], int]:
    """One page of societies in id order and the number of all matches."""
    conditions: list[ColumnElement[bool]] = []
    if where.text:
        columns = (Society.name, Society.code, Society.scope)
        conditions.append(or_(*(column.icontains(where.text, autoescape=True) for column in columns)))
    if where.level is not None:
        conditions.append(Society.level == where.level)
    if where.cast_group is not None:
        conditions.append(Society.cast_group == where.cast_group)
    if where.active is not None:
        conditions.append(Society.active.is_(where.active))
    return _page(session, select(Society).where(*conditions).order_by(Society.id), offset, limit)


def get_branch(session: Session, branch_id: int) -> Branch | None:
    """The branch, or None."""
    return session.get(Branch, branch_id)


def branch_by(session: Session, *, society_id: int, name: str, code: str | None) -> Branch | None:
    """A branch of the society with this name, or any branch with this code."""
    same_name = (Branch.society_id == society_id) & (Branch.name == name)
    condition = same_name if code is None else or_(same_name, Branch.code == code)
    return session.scalar(select(Branch).where(condition).limit(1))


def branches_of(session: Session, society_id: int) -> list[Branch]:
    """The branches of a society in id order."""
    return list(session.scalars(select(Branch).where(Branch.society_id == society_id).order_by(Branch.id)))


def get_expert(session: Session, expert_id: int) -> Expert | None:
    """The expert with their posts, or None."""
    query = select(Expert).where(Expert.id == expert_id).options(selectinload(Expert.posts))
    return session.scalar(query)


def expert_by_code(session: Session, code: str) -> Expert | None:
    """The expert with this code, if any."""
    return session.scalar(select(Expert).where(Expert.code == code))


def search_experts(
    session: Session, where: ExpertFilter, *, offset: int, limit: int
) -> tuple[list[Expert], int]:
    """One page of experts in id order and the number of all matches."""
    conditions: list[ColumnElement[bool]] = []
    if where.text:
        columns = (Expert.name, Expert.organisation, Expert.research_fields)
        conditions.append(or_(*(column.icontains(where.text, autoescape=True) for column in columns)))
    if where.society_id is not None or where.branch_id is not None:
        posts = select(ExpertPost.expert_id)
        if where.society_id is not None:
            posts = posts.where(ExpertPost.society_id == where.society_id)
        if where.branch_id is not None:
            posts = posts.where(ExpertPost.branch_id == where.branch_id)
        conditions.append(Expert.id.in_(posts))
    if where.available is not None:
        conditions.append(Expert.available.is_(where.available))
    if where.region_prefix:
        conditions.append(Expert.region_code.startswith(where.region_prefix, autoescape=True))
    query = select(Expert).where(*conditions).order_by(Expert.id).options(selectinload(Expert.posts))
    return _page(session, query, offset, limit)


def provider_exists(session: Session, level: ProviderLevel, provider_id: int) -> bool:
    """Whether the society, branch or expert ``provider_id`` exists."""
    model = {ProviderLevel.SOCIETY: Society, ProviderLevel.BRANCH: Branch, ProviderLevel.EXPERT: Expert}[
        level
    ]
    return session.get(model, provider_id) is not None


def preferences_of(session: Session, demand_ids: Sequence[int]) -> list[DemandPreference]:
    """Preferences of the given demands, by demand and id."""
    query = select(DemandPreference).where(DemandPreference.demand_id.in_(demand_ids))
    return list(session.scalars(query.order_by(DemandPreference.demand_id, DemandPreference.id)))


def find_preference(
    session: Session, demand_id: int, level: ProviderLevel, provider_id: int
) -> DemandPreference | None:
    """The demand's preference about this provider, if any."""
    query = select(DemandPreference).where(
        DemandPreference.demand_id == demand_id,
        DemandPreference.provider_level == level,
        DemandPreference.provider_id == provider_id,
    )
    return session.scalar(query)


def delete_preferences_for(session: Session, level: ProviderLevel, provider_ids: Sequence[int]) -> None:
    """Remove every preference about these providers (they are being deleted)."""
    if provider_ids:
        session.execute(
            delete(DemandPreference).where(
                DemandPreference.provider_level == level, DemandPreference.provider_id.in_(provider_ids)
            )
        )
