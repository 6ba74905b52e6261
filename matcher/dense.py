"""The dense half of the ranking: encoded chunks in, demand x provider similarities out.

Texts are encoded once (``encode_documents`` for a provider's own documents, ``encode_demand`` for a
demand), by the worker, and stored as float32 bytes with the model's identity. At ranking time the
stored chunks of every provider are stacked (``ProviderChunks``) and a demand's vector is compared with
all of them in one product; a provider's similarity is the best of its chunks (``max``) or the mean
of its chunk similarities (``mean``), and its closest chunk is kept for the reason shown to staff.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from features.encoder import Encoder, chunk_text, demand_query_text
from matcher.errors import MatcherError

__all__ = [
    "DenseAggregation",
    "EncodedChunk",
    "ProviderChunks",
    "dense_similarities",
    "encode_demands",
    "encode_documents",
    "source_hash",
    "stack_chunks",
    "vector_from_bytes",
]

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
DenseAggregation = Literal["max", "mean"]


@dataclass(frozen=True)
class EncodedChunk:
    """One encoded chunk: the document it comes from, its text, and its vector as float32 bytes."""

    document: int
    text: str
    vector: bytes


def source_hash(texts: Sequence[str]) -> str:
    """SHA-256 of the texts a set of chunks was cut from (changes when any text changes).

    Parameters
    ----------
    texts : sequence of str
        The owner's documents (or a demand's one text), in order.

    Returns
    -------
    str
        Hex digest.
    """
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def encode_documents(encoder: Encoder, documents: Sequence[Sequence[str]]) -> list[list[EncodedChunk]]:
    """Chunk and encode the own documents of several owners in one batch.

    Parameters
    ----------
    encoder : Encoder
        An available encoder (passages).
    documents : sequence of sequence of str
        Per owner, its documents.

    Returns
    -------
    list of list of EncodedChunk
        Per owner, its chunks in document order (empty for an owner without text).
    """
    cut = [
        [(index, chunk) for index, text in enumerate(docs) for chunk in chunk_text(text)]
        for docs in documents
    ]
    flat = [chunk for owner in cut for _, chunk in owner]
    vectors = encoder.passages(flat) if flat else np.zeros((0, 0), dtype=np.float32)
    result: list[list[EncodedChunk]] = []
    row = 0
    for owner in cut:
        encoded = []
        for index, chunk in owner:
            encoded.append(EncodedChunk(index, chunk, _as_bytes(vectors[row])))
            row += 1
        result.append(encoded)
    return result


def encode_demands(
    encoder: Encoder, demands: Sequence[tuple[str, str | None, Sequence[str]]]
) -> list[EncodedChunk]:
    """Encode demands (title, description, keywords) as queries, one vector each.

    Parameters
    ----------
    encoder : Encoder
        An available encoder (queries).
    demands : sequence of (str, str or None, sequence of str)
        Title, description and keywords of each demand.

    Returns
    -------
    list of EncodedChunk
        One per demand, document 0, its query text.
    """
    texts = [demand_query_text(title, description, keywords) for title, description, keywords in demands]
    vectors = encoder.queries(texts) if texts else np.zeros((0, 0), dtype=np.float32)
    return [EncodedChunk(0, text, _as_bytes(vector)) for text, vector in zip(texts, vectors, strict=True)]


def _as_bytes(vector: FloatArray) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes, dim: int) -> FloatArray:
    """A stored vector back as float32; refuses bytes of another length.

    Parameters
    ----------
    data : bytes
        Little-endian float32 values.
    dim : int
        Expected length.

    Returns
    -------
    numpy.ndarray, shape (dim,), float32
    """
    if len(data) != 4 * dim:
        raise MatcherError(f"a stored vector holds {len(data)} bytes, expected {4 * dim} for dimension {dim}")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


@dataclass(frozen=True)
class ProviderChunks:
    """Every chunk of every provider, stacked.

    Attributes
    ----------
    vectors : numpy.ndarray, shape (n_chunks, dim), float32
        Unit vectors.
    owner : numpy.ndarray, shape (n_chunks,), int64
        Column (provider) of each chunk.
    texts : list of str
        Each chunk's text.
    n_providers : int
        Number of columns; providers without chunks have no dense score.
    """

    vectors: FloatArray
    owner: IntArray
    texts: list[str]
    n_providers: int

    @property
    def covered(self) -> npt.NDArray[np.bool_]:
        """Which providers have at least one chunk."""
        mask = np.zeros(self.n_providers, dtype=bool)
        mask[self.owner] = True
        return mask


def stack_chunks(per_provider: Sequence[Sequence[tuple[str, bytes]]], dim: int) -> ProviderChunks:
    """Stack providers' stored chunks (text, vector bytes) in column order.

    Parameters
    ----------
    per_provider : sequence of sequence of (str, bytes)
        Per provider column, its chunks.
    dim : int
        Vector length of the model.

    Returns
    -------
    ProviderChunks
    """
    texts: list[str] = []
    owner: list[int] = []
    buffers: list[bytes] = []
    for column, chunks in enumerate(per_provider):
        for text, data in chunks:
            if len(data) != 4 * dim:
                raise MatcherError(f"a stored vector holds {len(data)} bytes, expected {4 * dim}")
            texts.append(text)
            owner.append(column)
            buffers.append(data)
    vectors = np.frombuffer(b"".join(buffers), dtype="<f4").astype(np.float32).reshape(len(buffers), dim)
    return ProviderChunks(vectors, np.asarray(owner, dtype=np.int64), texts, len(per_provider))


def dense_similarities(
    queries: FloatArray, chunks: ProviderChunks, aggregation: DenseAggregation = "max"
) -> tuple[FloatArray, IntArray]:
    """Cosine similarity of each demand to each provider, and the provider's closest chunk.

    Parameters
    ----------
    queries : numpy.ndarray, shape (n_demands, dim)
        Unit demand vectors.
    chunks : ProviderChunks
        Every provider's chunks.
    aggregation : {"max", "mean"}
        A provider's similarity: its best chunk's, or the mean over its chunks.

    Returns
    -------
    similarities : numpy.ndarray, shape (n_demands, n_providers), float32
        NaN for providers without chunks.
    closest : numpy.ndarray, shape (n_demands, n_providers), int64
        Index (into ``chunks``) of each provider's closest chunk; -1 without chunks.
    """
    if aggregation not in ("max", "mean"):
        raise MatcherError(f"unknown dense aggregation {aggregation!r}")
    n, m = queries.shape[0], chunks.n_providers
    sims = np.full((n, m), np.nan, dtype=np.float32)
    closest = np.full((n, m), -1, dtype=np.int64)
    if len(chunks.owner) == 0 or n == 0:
        return sims, closest
    if queries.shape[1] != chunks.vectors.shape[1]:
        raise MatcherError(
            f"demand vectors have dimension {queries.shape[1]}, provider chunks {chunks.vectors.shape[1]}"
        )
    per_chunk = queries.astype(np.float32) @ chunks.vectors.T
    order = np.argsort(chunks.owner, kind="stable")
    owners = chunks.owner[order]
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    columns = owners[starts]
    grouped = per_chunk[:, order]
    best = np.maximum.reduceat(grouped, starts, axis=1)
    if aggregation == "max":
        sims[:, columns] = best
    else:
        counts = np.diff(np.r_[starts, len(owners)]).astype(np.float32)
        sims[:, columns] = np.add.reduceat(grouped, starts, axis=1) / counts
    # Closest chunk per provider: the position of its maximum within its group.
    is_best = grouped == np.repeat(best, np.diff(np.r_[starts, len(owners)]), axis=1)
    position = np.where(is_best, np.arange(len(owners))[None, :], len(owners))
    first = np.minimum.reduceat(position, starts, axis=1)
    closest[:, columns] = order[np.minimum(first, len(owners) - 1)]
    return sims, closest
