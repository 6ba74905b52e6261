"""The dense half of the ranking: encoded chunks in, demand x provider similarities out.

Texts are encoded once (``encode_documents`` for a provider's own documents, ``encode_demand`` for a
demand), by the worker, and stored as float32 bytes with the model's identity. At ranking time the
stored chunks of every provider are stacked (``ProviderChunks``) and a demand's vector is compared with
all of them in one product; a provider's similarity is the best of its chunks (``max``) or the mean
of its chunk similarities (``mean``), and its closest chunk is kept for the reason shown to staff.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from features.encoder import Encoder, chunk_text, demand_query_text
from matcher.errors import MatcherError

__all__ = [
    "DenseAggregation",
    "DenseComponent",
    "EncodedChunk",
    "ProviderChunks",
    "VectorStore",
    "dense_component",
    "dense_similarities",
    "encode_cached",
    "encode_demands",
    "encode_documents",
    "named_chunks",
    "products",
    "source_hash",
    "stack_chunks",
    "vector_from_bytes",
]

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
DenseAggregation = Literal["max", "mean"]
# Up to this many query rows, ``products`` runs in numpy's own loops instead of BLAS.
FEW_ROWS = 4


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


def encode_documents(
    encoder: Encoder, owners: Sequence[tuple[str, Sequence[str]]]
) -> list[list[EncodedChunk]]:
    """Chunk and encode the own documents of several owners in one batch (``named_chunks``).

    Parameters
    ----------
    encoder : Encoder
        An available encoder (passages).
    owners : sequence of (str, sequence of str)
        Per owner, the name its chunks are prefixed with ("" for none) and its documents.

    Returns
    -------
    list of list of EncodedChunk
        Per owner, its chunks in document order (empty for an owner without text).
    """
    cut = [
        [(index, chunk) for index, text in enumerate(docs) for chunk in named_chunks(name, [text])]
        for name, docs in owners
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

    @cached_property
    def grouping(self) -> tuple[IntArray, IntArray, IntArray]:
        """``(order, starts, columns)``: the chunks in provider order (stable), where each provider's
        run starts in that order, and the providers of the runs; sorted once per index, not per list."""
        order = np.argsort(self.owner, kind="stable")
        owners = self.owner[order]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        return order, starts, owners[starts]

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


def products(queries: FloatArray, vectors: FloatArray) -> FloatArray:
    """``queries @ vectors.T``; for a few query rows in numpy's own loops (``einsum``), not BLAS.

    A match list has one query row. BLAS hands a product with one row to its threads, and on a busy
    2-core machine the hand-off cost 10-20 ms where the product itself takes 1-3 ms; ``einsum`` runs
    it in the calling thread, with no process-wide setting that concurrent requests would share.

    Parameters
    ----------
    queries : numpy.ndarray, shape (n, dim), float32
    vectors : numpy.ndarray, shape (m, dim), float32

    Returns
    -------
    numpy.ndarray, shape (n, m), float32
    """
    if queries.shape[0] <= FEW_ROWS:
        out: FloatArray = np.einsum("ij,kj->ik", queries, vectors)
        return out
    return np.asarray(queries @ vectors.T, dtype=np.float32)


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
    per_chunk = products(queries.astype(np.float32), chunks.vectors)
    order, starts, columns = chunks.grouping
    owners = chunks.owner[order]
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


@dataclass(frozen=True, eq=False)
class DenseComponent:
    """Sentence-encoder similarity as a score component of the ranking (``matcher.index.ScoreComponent``).

    A provider's score for a demand is the cosine to its normalised centroid (the mean direction of
    all its chunks) plus the cosine to its closest chunk: the centroid says what the provider does as
    a whole, the closest chunk whether one of its documents is about the demand. On the tuning sets
    the sum beat either alone (benchmarks/README.md, "Sentence encoder"). Providers without chunks
    get the demand's lowest score; a demand without a vector scores every provider alike, so fusion
    (which standardises each component per demand) ranks it by the sparse scores alone.

    Attributes
    ----------
    chunks : ProviderChunks
        Every provider's chunks.
    centroids : ndarray of float32, shape (n_providers, dim)
        Unit centroids (zero rows for providers without chunks).
    weight : float
        Share of the fused ranking.
    """

    chunks: ProviderChunks
    centroids: FloatArray
    weight: float
    name: str = "sentence_encoder"

    @property
    def dim(self) -> int:
        """Vector length."""
        return int(self.centroids.shape[1])

    def encode(self, demands: Sequence[Any]) -> FloatArray:
        """Each demand's stored vector (``DemandInput.vector``); zeros for a demand still pending."""
        out = np.zeros((len(demands), self.dim), dtype=np.float32)
        for row, demand in enumerate(demands):
            vector = getattr(demand, "vector", None)
            if vector is not None and len(vector) == 4 * self.dim:
                out[row] = np.frombuffer(vector, dtype="<f4")
        return out

    def vouched(self, features: Any) -> npt.NDArray[np.bool_]:
        """Which rows (demands) have a vector: for them every provider with chunks may be proposed."""
        return np.asarray(np.asarray(features).any(axis=1), dtype=bool)

    def scores(self, features: Any) -> FloatArray:
        """Centroid cosine plus closest-chunk cosine of each row against every provider."""
        queries = np.asarray(features, dtype=np.float32)
        best, _ = dense_similarities(queries, self.chunks, "max")
        combined = products(queries, self.centroids) + best
        covered = self.chunks.covered
        if not covered.all() and covered.any():
            floor = np.nanmin(combined[:, covered], axis=1, keepdims=True)
            combined[:, ~covered] = np.broadcast_to(floor, (combined.shape[0], int((~covered).sum())))
        out: FloatArray = np.nan_to_num(combined, nan=0.0).astype(np.float32)
        return out

    def restrict(self, rows: IntArray) -> DenseComponent:
        """The component over the providers ``rows`` only (columns renumbered in that order)."""
        new_column = np.full(self.chunks.n_providers, -1, dtype=np.int64)
        new_column[np.asarray(rows, dtype=np.int64)] = np.arange(len(rows))
        keep = new_column[self.chunks.owner] >= 0
        chunks = ProviderChunks(
            np.ascontiguousarray(self.chunks.vectors[keep]),
            new_column[self.chunks.owner[keep]],
            [t for t, k in zip(self.chunks.texts, keep, strict=True) if k],
            len(rows),
        )
        centroids = self.centroids[np.asarray(rows, dtype=np.int64)]
        return DenseComponent(chunks, centroids, self.weight, self.name)

    def closest_chunks(self, queries: FloatArray, cols: IntArray) -> list[str | None]:
        """The text of each provider's chunk closest to each demand (pairs row by row), or None."""
        out: list[str | None] = []
        for query, col in zip(np.asarray(queries, dtype=np.float32), np.asarray(cols), strict=True):
            mine = np.flatnonzero(self.chunks.owner == col)
            if mine.size == 0 or not query.any():
                out.append(None)
                continue
            out.append(self.chunks.texts[int(mine[np.argmax(self.chunks.vectors[mine] @ query)])])
        return out


def dense_component(
    per_provider: Sequence[Sequence[tuple[str, bytes]] | None], weight: float
) -> DenseComponent | None:
    """The dense component of providers' stored chunks; None when no provider has any.

    Parameters
    ----------
    per_provider : sequence of (sequence of (str, bytes)) or None
        Per provider column, its chunks (text, float32 vector bytes) or None.
    weight : float
        Share of the fused ranking.

    Returns
    -------
    DenseComponent or None
    """
    present = [chunks for chunks in per_provider if chunks]
    if not present or weight <= 0:
        return None
    dim = len(present[0][0][1]) // 4
    stacked = stack_chunks([chunks or () for chunks in per_provider], dim)
    sums = np.zeros((stacked.n_providers, dim), dtype=np.float32)
    np.add.at(sums, stacked.owner, stacked.vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    centroids = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
    return DenseComponent(stacked, centroids, weight)


class VectorStore(Protocol):
    """Where encoded texts are kept between runs (``huiqi evaluate`` keeps them in its data directory)."""

    def get(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored vectors of those keys that are stored."""
        ...

    def put(self, items: Mapping[str, bytes]) -> None:
        """Store vectors by key."""
        ...


def encode_cached(
    encoder: Encoder,
    texts: Sequence[str],
    kind: Literal["query", "passage"],
    store: VectorStore | None = None,
    *,
    batch: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> list[bytes]:
    """Vectors (float32 bytes) of ``texts``, encoding only those the store does not hold yet.

    Keys are the model's checksum, the kind and the SHA-1 of the text, so a changed text or another
    model is encoded again.

    Parameters
    ----------
    encoder : Encoder
        An available encoder.
    texts : sequence of str
        Texts to encode.
    kind : {"query", "passage"}
        Demands are queries, provider chunks passages.
    store : VectorStore, optional
        Kept vectors; None encodes everything.
    batch : int
        Texts encoded (and stored) at once.
    progress : callable, optional
        ``progress(done, total)`` after each batch.

    Returns
    -------
    list of bytes
    """
    prefix = f"{encoder.identity.checksum}:{kind}:"
    keys = [prefix + hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    found = store.get(list(dict.fromkeys(keys))) if store is not None else {}
    missing = list({k: i for i, k in enumerate(keys) if k not in found}.values())
    encode = encoder.queries if kind == "query" else encoder.passages
    for start in range(0, len(missing), batch):
        part = missing[start : start + batch]
        vectors = encode([texts[i] for i in part])
        fresh = {keys[i]: _as_bytes(v) for i, v in zip(part, vectors, strict=True)}
        if store is not None:
            store.put(fresh)
        found.update(fresh)
        if progress is not None:
            progress(start + len(part), len(missing))
    return [found[k] for k in keys]


def named_chunks(name: str, documents: Sequence[str]) -> list[str]:
    """A provider's chunks as encoded: each chunk of each document, after the provider's name.

    The name gives every chunk its context (a branch's "分析测试" means something else in a society of
    chemistry than of medicine); on the demo demands it raised the dense part's hit@5 from 0.82 to 0.88.

    Parameters
    ----------
    name : str
        The provider's name.
    documents : sequence of str
        Its documents.

    Returns
    -------
    list of str
    """
    prefix = f"{name.strip()}：" if name.strip() else ""
    return [prefix + chunk for text in documents for chunk in chunk_text(text)]
