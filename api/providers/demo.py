"""Demo providers: the 209 CAST national societies with their reviewed classification mapping, their
branches and the fictitious demo experts, loaded from ``fixtures/societies`` idempotently."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.providers.models import Branch, CastGroup, Expert, ExpertPost, PostRole, Society, SocietyLevel
from api.providers.profiles import refresh_tokens
from fixtures import catalog

if TYPE_CHECKING:
    from api.demo_context import DemoContext

# The catalogue spells groups as 理科 … 交叉学科; the table keeps the short form.
_GROUPS = {
    "理科": CastGroup.SCIENCE,
    "工科": CastGroup.ENGINEERING,
    "农科": CastGroup.AGRICULTURE,
    "医科": CastGroup.MEDICINE,
    "交叉学科": CastGroup.INTERDISCIPLINARY,
}
# Facets of the mapping that name an industry served; the industry codes say it already.
_INDUSTRY_FACET = "服务行业："
DEMO_SOCIETY_CAPACITY = 5
DEMO_BRANCH_CAPACITY = 3


def _codes_by_society() -> dict[str, list[catalog.SocietyCode]]:
    grouped: dict[str, list[catalog.SocietyCode]] = {}
    for code in catalog.load_society_codes():
        grouped.setdefault(code.society_code, []).append(code)
    # Primary codes first, each list otherwise in file order.
    return {key: sorted(codes, key=lambda c: c.role != "primary") for key, codes in grouped.items()}


def scope_from_mapping(codes: Iterable[catalog.SocietyCode]) -> str:
    """The remit (业务范围) of a demo society: the facets of its reviewed mapping, primary first."""
    facets = dict.fromkeys(code.basis for code in codes if not code.basis.startswith(_INDUSTRY_FACET))
    return f"业务领域：{'；'.join(facets)}。" if facets else ""


def _society(record: catalog.Society, codes: list[catalog.SocietyCode]) -> Society:
    def of(system: str) -> list[str]:
        return [code.code for code in codes if code.code_system == system]

    return Society(
        code=record.code,
        name=record.name,
        level=SocietyLevel.NATIONAL,
        cast_group=_GROUPS[record.cast_group],
        scope=scope_from_mapping(codes),
        discipline_codes=of("gbt13745"),
        nsfc_codes=of("nsfc"),
        industry_codes=of("gbt4754"),
        default_capacity=DEMO_SOCIETY_CAPACITY,
        active=True,
    )


def _branch(record: catalog.Branch, society: Society) -> Branch:
    return Branch(
        society=society,
        code=record.code,
        name=record.name,
        scope=record.description,
        keywords=list(record.keywords),
        discipline_codes=list(record.gbt13745_codes),
        nsfc_codes=list(record.nsfc_codes),
        default_capacity=DEMO_BRANCH_CAPACITY,
    )


def _expert(record: catalog.Expert, society: Society, branch: Branch | None) -> Expert:
    expert = Expert(
        code=record.code,
        name=record.name,
        organisation=record.organisation,
        professional_title=record.title,
        research_fields=record.research_fields,
        discipline_codes=list(record.gbt13745_codes),
        nsfc_codes=list(record.nsfc_codes),
        region_code=record.region_adcode,
        capacity=record.capacity,
    )
    expert.posts.append(ExpertPost(society=society, branch=branch, role=PostRole(record.society_role)))
    return expert


def _existing_codes(session: Session, model: type[Society] | type[Branch] | type[Expert]) -> set[str]:
    return {code for code in session.scalars(select(model.code)) if code}


def _societies(session: Session) -> tuple[dict[str, Society], int]:
    existing = {s.code: s for s in session.scalars(select(Society).where(Society.code.is_not(None)))}
    codes, added = _codes_by_society(), 0
    for record in catalog.load_societies():
        if record.code not in existing:
            existing[record.code] = _society(record, codes.get(record.code, []))
            refresh_tokens(existing[record.code])
            session.add(existing[record.code])
            added += 1
    return {code: s for code, s in existing.items() if code}, added


def _branches(session: Session, societies: dict[str, Society]) -> tuple[dict[str, Branch], int]:
    existing = {b.code: b for b in session.scalars(select(Branch).where(Branch.code.is_not(None)))}
    added = 0
    for record in catalog.load_branches():
        if record.code not in existing and record.society_code in societies:
            existing[record.code] = _branch(record, societies[record.society_code])
            refresh_tokens(existing[record.code])
            session.add(existing[record.code])
            added += 1
    return {code: b for code, b in existing.items() if code}, added


def _experts(session: Session, societies: dict[str, Society], branches: dict[str, Branch]) -> int:
    known, added = _existing_codes(session, Expert), 0
    for record in catalog.load_experts():
        if record.code in known or record.society_code not in societies:
            continue
        branch = branches.get(record.branch_code) if record.branch_code else None
        expert = _expert(record, societies[record.society_code], branch)
        refresh_tokens(expert)
        session.add(expert)
        added += 1
    return added


def load_demo_providers(session: Session, context: "DemoContext | None" = None) -> int:
    """Add the demo societies, branches and experts that are not there yet (matched by code)."""
    societies, added_societies = _societies(session)
    branches, added_branches = _branches(session, societies)
    added_experts = _experts(session, societies, branches)
    session.flush()
    if context is not None:
        context.report(
            f"providers: {added_societies} societies, {added_branches} branches, {added_experts} experts"
        )
    return added_societies + added_branches + added_experts
