"""The provider index of each level, cached per process and rebuilt when any provider changes.

A society's profile includes its branches' and experts' documents, so the signature covers all three
tables (row count and latest change) plus the expert posts that tie them; one small query per request.
"""

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.matching.engine import ProviderIndex, build_index
from api.providers.models import Branch, Expert, ExpertPost, Society
from api.providers.profiles import load_provider_profiles

_LOCK = threading.Lock()
_CACHE: dict[str, ProviderIndex] = {}


def provider_signature(session: Session) -> tuple[Any, ...]:
    """What changes whenever any provider (or a post linking them) is added, edited or removed."""
    parts = []
    for model in (Society, Branch, Expert):
        parts += [select(func.count()).select_from(model).scalar_subquery()]
        parts += [select(func.max(model.updated_at)).scalar_subquery()]
    parts += [select(func.count()).select_from(ExpertPost).scalar_subquery()]
    parts += [select(func.coalesce(func.sum(ExpertPost.id), 0)).scalar_subquery()]
    row = session.execute(select(*parts)).one()
    return tuple(str(value) for value in row)


def provider_index(session: Session, level: str, *, n_jobs: int = 1) -> ProviderIndex:
    """The index of ``level``, from the cache when no provider changed since it was built."""
    signature = provider_signature(session)
    cached = _CACHE.get(level)
    if cached is not None and cached.signature == signature:
        return cached
    with _LOCK:
        cached = _CACHE.get(level)
        if cached is not None and cached.signature == signature:
            return cached
        profiles = load_provider_profiles(session, level, active_only=True)
        index = build_index(level, profiles, signature, n_jobs=n_jobs)
        _CACHE[level] = index
        return index


def clear_cache() -> None:
    """Forget every cached index (the next request rebuilds)."""
    with _LOCK:
        _CACHE.clear()
