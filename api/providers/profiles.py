"""Provider profiles: the documents that describe what a society, branch or expert can do.

A row's own documents (its remit, the names and notes of its classification codes, its research text)
are built here and tokenized once when the row is written (``tokens`` column, one term list per own
document). A society's profile adds its branches' and its experts' own documents; a branch's adds its
experts'. A provider is never described by its name alone: the name travels beside the documents.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.providers.models import Branch, Expert, ExpertPost, Society
from features.tokenize import Tokenizer
from fixtures.catalog import load_gbt4754, load_gbt13745, load_nsfc

Level = Literal["society", "branch", "expert"]
LEVELS: tuple[Level, ...] = ("society", "branch", "expert")
# Every demo society's profile holds at least this many terms (tests enforce it); a name alone has 2-4.
MIN_PROFILE_TOKENS = 40


@dataclass(frozen=True)
class ProviderProfile:
    """A provider as matching sees it: its documents, its capacity and their stored terms."""

    level: Level
    id: int
    name: str
    documents: list[str]
    capacity: int
    tokens: list[list[str]] | None
    # The rows whose own documents make the profile, in order ((kind, id)): their stored sentence
    # vectors (api.encoding) make the profile's dense part.
    owners: tuple[tuple[str, int], ...] = ()


@cache
def tokenizer() -> Tokenizer:
    """The one tokenizer of the process (its dictionary loads once)."""
    return Tokenizer()


@cache
def _discipline_children() -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for discipline in load_gbt13745().values():
        if discipline.parent_code:
            children.setdefault(discipline.parent_code, []).append(discipline.name)
    return children


def _discipline_phrase(code: str) -> str | None:
    discipline = load_gbt13745().get(code)
    if discipline is None:
        return None
    phrase = f"{discipline.name}（{discipline.note}）" if discipline.note else discipline.name
    # A broad code covers its subdivisions: their names say what it means in practice.
    children = [name for name in _discipline_children().get(code, []) if not name.endswith("其他学科")]
    return f"{phrase}：{'、'.join(children)}" if children else phrase


def discipline_text(codes: Sequence[str] | None) -> str:
    """Names (with notes and subdivisions) of GB/T 13745-2009 codes, one phrase per code."""
    return "；".join(phrase for code in codes or () if (phrase := _discipline_phrase(code)))


def nsfc_text(codes: Sequence[str] | None) -> str:
    """Names of NSFC 申请代码."""
    table = load_nsfc()
    return "、".join(table[code].name for code in codes or () if code in table)


def industry_text(codes: Sequence[str] | None) -> str:
    """Names of GB/T 4754-2017 industries with their 说明 where it describes the activity."""
    table = load_gbt4754()
    phrases = []
    for code in codes or ():
        if (industry := table.get(code)) is not None:
            described = industry.description.startswith("指")
            phrases.append(f"{industry.name}（{industry.description}）" if described else industry.name)
    return "；".join(phrases)


def _present(texts: Iterable[str | None]) -> list[str]:
    return [text.strip() for text in texts if text and text.strip()]


def society_own_documents(society: Society) -> list[str]:
    """The society's remit, its disciplines, its NSFC fields and the industries it serves."""
    return _present(
        [
            society.scope,
            discipline_text(society.discipline_codes),
            nsfc_text(society.nsfc_codes),
            industry_text(society.industry_codes),
        ]
    )


def branch_own_documents(branch: Branch) -> list[str]:
    """The branch's description with its keywords, and its disciplines and NSFC fields."""
    keywords = "、".join(branch.keywords or ())
    described = "。".join(_present([branch.name, branch.scope, keywords]))
    codes = "；".join(_present([discipline_text(branch.discipline_codes), nsfc_text(branch.nsfc_codes)]))
    return _present([described, codes])


def expert_own_documents(expert: Expert) -> list[str]:
    """The expert's research fields with the names of their disciplines."""
    codes = "；".join(_present([discipline_text(expert.discipline_codes), nsfc_text(expert.nsfc_codes)]))
    return _present([expert.research_fields, codes])


def refresh_tokens(row: Society | Branch | Expert) -> None:
    """Tokenize the row's own documents into its ``tokens`` column (call after every change)."""
    documents = _own_documents(row)
    row.tokens = tokenizer().tokenize_many(documents)


def _own_documents(row: Society | Branch | Expert) -> list[str]:
    if isinstance(row, Society):
        return society_own_documents(row)
    if isinstance(row, Branch):
        return branch_own_documents(row)
    return expert_own_documents(row)


@dataclass(frozen=True)
class _Documents:
    texts: list[str]
    tokens: list[list[str]] | None

    def __add__(self, other: "_Documents") -> "_Documents":
        tokens = None if self.tokens is None or other.tokens is None else self.tokens + other.tokens
        return _Documents(self.texts + other.texts, tokens)


_NONE = _Documents([], [])


def _documents_of(row: Society | Branch | Expert) -> _Documents:
    texts = _own_documents(row)
    # Stored terms are used only when they still line up with the texts (one list per document).
    tokens = row.tokens if row.tokens is not None and len(row.tokens) == len(texts) else None
    return _Documents(texts, tokens)


def _sum(parts: Iterable[_Documents]) -> _Documents:
    total = _NONE
    for part in parts:
        total = total + part
    return total


def _experts_of(posts: Iterable[ExpertPost], active_only: bool) -> list[Expert]:
    experts = {post.expert.id: post.expert for post in posts if not active_only or post.expert.active}
    return [experts[key] for key in sorted(experts)]


def _profile(
    level: Level,
    row: Society | Branch | Expert,
    capacity: int,
    docs: _Documents,
    owners: Iterable[Society | Branch | Expert] = (),
) -> ProviderProfile:
    rows = (row, *owners)
    kinds = tuple((_KIND[type(r)], r.id) for r in rows)
    return ProviderProfile(level, row.id, row.name, docs.texts, capacity, docs.tokens, kinds)


_KIND: dict[type, str] = {Society: "society", Branch: "branch", Expert: "expert"}


def _society_profiles(session: Session, active_only: bool) -> list[ProviderProfile]:
    query = select(Society).order_by(Society.id)
    query = query.options(
        selectinload(Society.branches), selectinload(Society.posts).selectinload(ExpertPost.expert)
    )
    if active_only:
        query = query.where(Society.active.is_(True))
    profiles = []
    for society in session.scalars(query):
        branches = [branch for branch in society.branches if branch.active or not active_only]
        experts = _experts_of(society.posts, active_only)
        docs = _documents_of(society) + _sum(map(_documents_of, branches)) + _sum(map(_documents_of, experts))
        profiles.append(_profile("society", society, society.default_capacity, docs, [*branches, *experts]))
    return profiles


def _branch_profiles(session: Session, active_only: bool) -> list[ProviderProfile]:
    query = select(Branch).join(Branch.society).order_by(Branch.id)
    query = query.options(selectinload(Branch.posts).selectinload(ExpertPost.expert))
    if active_only:
        query = query.where(Branch.active.is_(True), Society.active.is_(True))
    profiles = []
    for branch in session.scalars(query):
        experts = _experts_of(branch.posts, active_only)
        docs = _documents_of(branch) + _sum(map(_documents_of, experts))
        profiles.append(_profile("branch", branch, branch.default_capacity, docs, experts))
    return profiles


def _expert_profiles(session: Session, active_only: bool) -> list[ProviderProfile]:
    query = select(Expert).order_by(Expert.id)
    if active_only:
        query = query.where(Expert.active.is_(True), Expert.available.is_(True))
    return [_profile("expert", e, e.capacity, _documents_of(e)) for e in session.scalars(query)]


def load_provider_profiles(
    session: Session, level: str = "society", *, active_only: bool = True
) -> list[ProviderProfile]:
    """Profiles of every provider of ``level`` ("society", "branch" or "expert"), ordered by id.

    With ``active_only``, inactive providers are left out, and so are inactive branches and experts
    from the documents of a society or branch; experts must also be available.
    """
    loaders = {"society": _society_profiles, "branch": _branch_profiles, "expert": _expert_profiles}
    if level not in loaders:
        raise ValueError(f"unknown provider level {level!r}; expected one of {', '.join(LEVELS)}")
    return loaders[level](session, active_only)
