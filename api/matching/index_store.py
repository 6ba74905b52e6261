"""Provider indexes kept on disk, so a restarted service or a new worker does not refit them.

Fitting a level's index (vectorizer, provider vectors, the character SVM) takes seconds for the demo's
societies and 40-50 s for a text-heavy level of several hundred providers; reading it back takes a
fraction of that. Each level has one file, ``<data_dir>/index/<level>.joblib``, holding a key and the
index. The key covers everything the index depends on: the file format, the database, the providers'
signature (row counts and latest changes, ``api.matching.index``), the ranking configuration and the
tokenizer's dictionaries (``features.vectorize.data_signature``). A file whose key differs is stale and
is replaced by the next build.

The files are pickles, read only from the service's own data directory: whoever can write there can
also replace the database, so loading them adds no trust the service did not already give.
"""

import hashlib
import logging
import os
import tempfile
from collections.abc import Hashable
from pathlib import Path

import joblib

from features.vectorize import data_signature
from matcher import ProviderIndex, RankingConfig

__all__ = ["index_key", "load_index", "save_index"]

FORMAT_VERSION = 2
_LOG = logging.getLogger(__name__)


def index_key(database: str, level: str, signature: tuple[Hashable, ...]) -> str:
    """What an index of ``level`` built now from ``database`` depends on, as a digest."""
    parts = (FORMAT_VERSION, database, level, signature, repr(RankingConfig()), data_signature())
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


def _path(directory: Path, level: str) -> Path:
    return directory / f"{level}.joblib"


def load_index(directory: Path, level: str, key: str) -> ProviderIndex | None:
    """The stored index of ``level`` when its key is ``key``; None when absent, stale or unreadable."""
    path = _path(directory, level)
    if not path.is_file():
        return None
    try:
        payload = joblib.load(path)
    except Exception as error:  # a torn or foreign file must cost a rebuild, never a failed request
        _LOG.warning("ignoring unreadable provider index %s: %s", path, error)
        return None
    if not isinstance(payload, dict) or payload.get("key") != key:
        return None
    index = payload.get("index")
    return index if isinstance(index, ProviderIndex) else None


def save_index(directory: Path, level: str, index: ProviderIndex, key: str) -> None:
    """Write ``index`` under ``key``, atomically: readers see the old file or the new one, whole."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_atomically(directory, level, index, key)
    except OSError as error:  # a full or read-only disk leaves the index in memory only
        _LOG.warning("provider index of %s not stored in %s: %s", level, directory, error)


def _write_atomically(directory: Path, level: str, index: ProviderIndex, key: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{level}-", suffix=".tmp")
    os.close(handle)
    try:
        joblib.dump({"key": key, "index": index}, temporary)
        os.replace(temporary, _path(directory, level))
    finally:
        Path(temporary).unlink(missing_ok=True)
