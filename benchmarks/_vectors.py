"""Encoded texts kept on disk for benchmarks and experiments (``var/e5cache.sqlite``, not committed).

Encoding runs at about 5-10 texts per second on two cores, so the corpora of the experiments are
encoded once and every experiment reads the vectors back. Keys are (model checksum, query or passage,
SHA-1 of the text): a changed text or model is encoded again, nothing stale is read.

    .venv/bin/python -m benchmarks._vectors          # encode the tuning corpora in the background
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from features.encoder import E5Encoder, Encoder

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "e5cache.sqlite"
FloatArray = npt.NDArray[np.float32]


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=60)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS vectors (model TEXT, kind TEXT, sha TEXT, vec BLOB, "
        "PRIMARY KEY (model, kind, sha))"
    )
    return db


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cached(
    texts: Sequence[str],
    kind: str,
    encoder: Encoder | None = None,
    *,
    batch: int = 64,
    progress: bool = False,
    path: Path = CACHE,
) -> FloatArray:
    """Vectors of ``texts`` (``kind`` "query" or "passage"), encoding only those not cached yet."""
    model = encoder or _encoder()
    checksum = model.identity.checksum
    db = _connect(path)
    shas = [_sha(t) for t in texts]
    found: dict[str, bytes] = {}
    unique = list(dict.fromkeys(shas))
    for start in range(0, len(unique), 900):
        part = unique[start : start + 900]
        marks = ",".join("?" * len(part))
        rows = db.execute(
            f"SELECT sha, vec FROM vectors WHERE model=? AND kind=? AND sha IN ({marks})",
            [checksum, kind, *part],
        )
        found.update(rows.fetchall())
    missing = [i for i, s in enumerate(shas) if s not in found]
    missing = list({shas[i]: i for i in missing}.values())
    started = time.perf_counter()
    for start in range(0, len(missing), batch):
        indices = missing[start : start + batch]
        chunk = [texts[i] for i in indices]
        vectors = model.queries(chunk) if kind == "query" else model.passages(chunk)
        rows = [(checksum, kind, shas[i], v.tobytes()) for i, v in zip(indices, vectors, strict=True)]
        db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)
        db.commit()
        found.update((shas[i], v.tobytes()) for i, v in zip(indices, vectors, strict=True))
        if progress:
            done = start + len(indices)
            rate = done / (time.perf_counter() - started)
            print(f"{kind}: {done}/{len(missing)} encoded, {rate:.1f} texts/s", flush=True)
    db.close()
    dim = model.identity.dim
    return np.stack([np.frombuffer(found[s], dtype=np.float32) for s in shas]) if shas else np.zeros((0, dim))


_ENCODER: E5Encoder | None = None


def _encoder() -> E5Encoder:
    global _ENCODER
    if _ENCODER is None:
        _ENCODER = E5Encoder()
    return _ENCODER


def main(corpora: Sequence[str]) -> None:
    """Encode the named tuning corpora into the cache (demo, csl, market), with progress."""
    from benchmarks import _dense

    for name in corpora:
        for kind, texts in _dense.texts_to_encode(name):
            print(f"{name} {kind}: {len(texts)} texts", flush=True)
            cached(texts, kind, progress=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["demo", "csl"])


class BenchStore:
    """The experiments' cache as a ``matcher.dense.VectorStore`` (keys ``checksum:kind:sha1``)."""

    def __init__(self, path: Path = CACHE) -> None:
        self.path = path

    def get(self, keys: Sequence[str]) -> dict[str, bytes]:
        """Stored vectors of the keys found."""
        db = _connect(self.path)
        found: dict[str, bytes] = {}
        parts = [key.split(":") for key in keys]
        for model, kind in {(m, k) for m, k, _ in parts}:
            shas = [sha for m, k, sha in parts if (m, k) == (model, kind)]
            for start in range(0, len(shas), 900):
                chunk = shas[start : start + 900]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT sha, vec FROM vectors WHERE model=? AND kind=? AND sha IN ({marks})"
                for sha, vec in db.execute(query, [model, kind, *chunk]):
                    found[f"{model}:{kind}:{sha}"] = vec
        db.close()
        return found

    def put(self, items: Mapping[str, bytes]) -> None:
        """Store vectors."""
        db = _connect(self.path)
        rows = [(*key.split(":"), vector) for key, vector in items.items()]
        db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)
        db.commit()
        db.close()
