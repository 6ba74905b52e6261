"""Choosing a provider by name: the lists the forms offer (a branch with its society, an expert with
their organisation) and the reading of what was typed back into an id. A number is still taken as
the provider's id, so a form filled from an export keeps working."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.providers.models import Branch, Expert, ProviderLevel, Society
from api.validation import row_id


@dataclass(frozen=True, slots=True)
class Option:
    """One choice of a provider picker."""

    level: ProviderLevel
    provider_id: int
    label: str


def options(session: Session, level: ProviderLevel) -> list[Option]:
    """The active providers of ``level`` as pickers name them; a label shared by two gets their ids."""
    if level == ProviderLevel.SOCIETY:
        rows = session.execute(select(Society.id, Society.name).where(Society.active).order_by(Society.name))
        found = [Option(level, int(i), str(name)) for i, name in rows]
    elif level == ProviderLevel.BRANCH:
        query = (
            select(Branch.id, Society.name, Branch.name)
            .join(Society, Society.id == Branch.society_id)
            .where(Branch.active)
            .order_by(Society.name, Branch.name)
        )
        found = [Option(level, int(i), f"{society} · {name}") for i, society, name in session.execute(query)]
    else:
        experts = (
            select(Expert.id, Expert.name, Expert.organisation).where(Expert.active).order_by(Expert.name)
        )
        found = [
            Option(level, int(i), f"{name}（{org}）" if org else str(name))
            for i, name, org in session.execute(experts)
        ]
    return _unique(found)


def _unique(found: list[Option]) -> list[Option]:
    counts: dict[str, int] = {}
    for option in found:
        counts[option.label] = counts.get(option.label, 0) + 1
    return [
        Option(o.level, o.provider_id, f"{o.label}（编号 {o.provider_id}）") if counts[o.label] > 1 else o
        for o in found
    ]


def all_options(session: Session) -> dict[str, list[Option]]:
    """The options of every level, by level value (one datalist each)."""
    return {level.value: options(session, level) for level in ProviderLevel}


def resolve(session: Session, level: ProviderLevel, text: str) -> int | None:
    """The id of the provider of ``level`` named (or numbered) ``text``; None when there is none."""
    text = text.strip()
    number = row_id(text)
    if number is not None:
        return number
    wanted = _normal(text)
    for option in options(session, level):
        if _normal(option.label) == wanted:
            return option.provider_id
    # A branch typed without its society, or an expert without the organisation: take a unique match.
    short = [o for o in options(session, level) if _normal(o.label.split(" · ")[-1].split("（")[0]) == wanted]
    return short[0].provider_id if len(short) == 1 else None


def _normal(text: str) -> str:
    return "".join(text.split()).replace("(", "（").replace(")", "）")


def resolve_any(session: Session, level: ProviderLevel, text: str) -> tuple[ProviderLevel, int] | None:
    """Like :func:`resolve`, trying ``level`` first and then the others (the list offers all levels)."""
    if row_id(text.strip()) is not None:
        return level, int(text.strip())
    for candidate in (level, *(other for other in ProviderLevel if other != level)):
        found = resolve(session, candidate, text)
        if found is not None:
            return candidate, found
    return None
