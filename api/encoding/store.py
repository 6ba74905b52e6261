"""Encoded texts kept in a SQLite file of the data directory, for ``huiqi evaluate``.

``huiqi evaluate`` reads providers and demands from CSV files, not from the database, so their
vectors are not stored with any row: they are kept here by (model checksum, kind, SHA-1 of the text)
and a second evaluation of the same files encodes nothing.
"""

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path


class FileVectorStore:
    """A ``matcher.dense.VectorStore`` in one SQLite file (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=60)
        connection.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return connection

    def get(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored vectors of those keys that are stored."""
        found: dict[str, bytes] = {}
        with self._connect() as connection:
            for start in range(0, len(keys), 500):
                part = list(keys[start : start + 500])
                marks = ",".join("?" * len(part))
                query = f"SELECT key, vector FROM vectors WHERE key IN ({marks})"
                found.update((key, bytes(vector)) for key, vector in connection.execute(query, part))
        return found

    def put(self, items: Mapping[str, bytes]) -> None:
        """Store vectors by key (replacing any earlier one)."""
        with self._connect() as connection:
            connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", list(items.items()))
