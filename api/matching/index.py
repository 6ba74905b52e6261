"""The provider index of each level, cached per process and rebuilt when any provider changes.

A society's profile includes its branches' and experts' documents, so the signature covers all three
tables (row count and latest change) plus the expert posts that tie them. The same query also reads
what the capacities left depend on (pairings and succeeded rounds), so a match list needs one small
query to know whether both caches are current.
"""

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.changes import change_stamp
from api.encoding.models import OwnerKind, TextVector
from api.encoding.service import encoder, owner_chunks
from api.matching.index_store import index_key, load_index, save_index
from api.matching.inputs import provider_inputs
from api.matching.models import MatchRound, Pairing, RoundStatus
from api.providers.models import Branch, Expert, ExpertPost, Society
from api.providers.profiles import load_provider_profiles
from matcher import ProviderIndex, fit_index


@dataclass(frozen=True, eq=False)
class LevelIndex:
    """The provider index of one level and the providers' signature it was built for."""

    level: str
    signature: tuple[Any, ...]
    index: ProviderIndex


_LOCK = threading.Lock()
_CACHE: dict[str, LevelIndex] = {}
# Where built indexes are kept between processes (``use_store``); None keeps them in memory only.
_STORE: list[Path | None] = [None]


def use_store(directory: Path | None) -> None:
    """Keep built indexes in ``directory`` too (the service and the worker pass ``data_dir/index``)."""
    _STORE[0] = directory


def _provider_parts() -> list[Any]:
    parts = []
    for model in (Society, Branch, Expert):
        parts += [select(func.count()).select_from(model).scalar_subquery()]
        parts += [select(func.max(model.updated_at)).scalar_subquery()]
    parts += [select(func.count()).select_from(ExpertPost).scalar_subquery()]
    parts += [select(func.coalesce(func.sum(ExpertPost.id), 0)).scalar_subquery()]
    # Provider vectors written by the worker change the dense part of the index.
    encoded = TextVector.owner_kind != OwnerKind.DEMAND
    parts += [select(func.count()).select_from(TextVector).where(encoded).scalar_subquery()]
    parts += [select(func.max(TextVector.encoded_at)).where(encoded).scalar_subquery()]
    return parts


def _pairing_parts() -> list[Any]:
    succeeded = MatchRound.status == RoundStatus.SUCCEEDED
    return [
        select(func.count()).select_from(Pairing).scalar_subquery(),
        select(func.max(Pairing.updated_at)).scalar_subquery(),
        select(func.max(MatchRound.id)).where(succeeded).scalar_subquery(),
        select(func.count()).select_from(MatchRound).where(succeeded).scalar_subquery(),
    ]


@cache
def _signature_query() -> tuple[Any, int]:
    """The query of both signatures, built once (building it cost more than running it), and how many
    of its columns are the providers'."""
    providers = _provider_parts()
    return select(*providers, *_pairing_parts()), len(providers)


# The providers' and pairings' parts of the signatures last read per database, with the change stamp
# they were read under.
_SIGNATURES: dict[str, tuple[Hashable, tuple[str, ...], tuple[str, ...]]] = {}


def signatures(session: Session) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(providers' signature, pairings' signature), in one query, or none when the database's change
    stamp (``api.db.changes``) has not moved since they were last read: on SQLite their query scans
    the providers' tables (17 ms for 2,000 societies), the stamp is a pragma."""
    stamp = change_stamp(session)
    database = _database(session)
    cached = _SIGNATURES.get(database)
    if stamp is not None and cached is not None and cached[0] == stamp:
        providers, pairings = cached[1], cached[2]
    else:
        query, n_providers = _signature_query()
        row = tuple(str(value) for value in session.execute(query).one())
        providers, pairings = row[:n_providers], row[n_providers:]
        if stamp is not None:
            _SIGNATURES[database] = (stamp, providers, pairings)
    return (*providers, _encoder_key()), pairings


def _database(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def provider_signature(session: Session) -> tuple[Any, ...]:
    """What changes whenever any provider (or a post linking them) is added, edited or removed."""
    return (*(str(value) for value in session.execute(select(*_provider_parts())).one()), _encoder_key())


def _encoder_key() -> str:
    """The encoder's model: switching it (or switching it off) changes the dense part of an index."""
    return encoder().identity.checksum or "none"


def provider_index(
    session: Session, level: str, *, n_jobs: int = 1, signature: tuple[Any, ...] | None = None
) -> ProviderIndex:
    """The index of ``level``, from the cache when no provider changed since it was built."""
    signature = provider_signature(session) if signature is None else signature
    cached = _CACHE.get(level)
    if cached is not None and cached.signature == signature:
        return cached.index
    with _LOCK:
        cached = _CACHE.get(level)
        if cached is not None and cached.signature == signature:
            return cached.index
        _CACHE[level] = LevelIndex(level, signature, _stored_or_built(session, level, signature, n_jobs))
        return _CACHE[level].index


def preload_stored(session: Session, level: str, *, signature: tuple[Any, ...] | None = None) -> bool:
    """Put the stored index of ``level`` in the cache when it is current, without fitting one.

    Returns whether the cache now holds a current index of ``level``. A service calls it at start, so
    that its first match list does not wait for the index to be read (a missing or stale index is
    still fitted by the first request that needs it, as before).
    """
    signature = provider_signature(session) if signature is None else signature
    cached = _CACHE.get(level)
    if cached is not None and cached.signature == signature:
        return True
    store = _STORE[0]
    if store is None:
        return False
    stored = load_index(store, level, index_key(_database(session), level, signature))
    if stored is None:
        return False
    with _LOCK:
        _CACHE[level] = LevelIndex(level, signature, stored)
    return True


def _stored_or_built(session: Session, level: str, signature: tuple[Any, ...], n_jobs: int) -> ProviderIndex:
    store = _STORE[0]
    key = index_key(_database(session), level, signature)
    stored = load_index(store, level, key) if store is not None else None
    if stored is not None:
        return stored
    profiles = load_provider_profiles(session, level, active_only=True)
    owners = [owner for profile in profiles for owner in profile.owners]
    chunks = owner_chunks(session, owners)
    if any(owner not in chunks for owner in owners):
        # A partly encoded level would rank its encoded providers above the rest for that alone:
        # the dense part waits until the worker has encoded every provider (the lists say so).
        chunks = {}
    index = fit_index(provider_inputs(profiles, chunks), n_jobs=n_jobs)
    if store is not None:
        save_index(store, level, index, key)
    return index


def clear_cache() -> None:
    """Forget every cached index (the next request rebuilds)."""
    with _LOCK:
        _CACHE.clear()
        _SIGNATURES.clear()
