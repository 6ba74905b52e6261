"""Sparse cosine affinities: exact top-k providers per demand, in compiled code on both cores.

Rows of the inputs are L2-normalised TF-IDF vectors (``features.vectorize``), so a dot product is a
cosine. The result is a CSR matrix demands x providers holding, per demand, its ``k`` best positive
scores: exactly the allowed pairs and affinities the solver takes.

A provider described by several documents (an expert's papers, a society's branches) is scored either
against the centroid of its documents (``centroids``) or by its nearest documents
(``top_k_nearest_documents``: the mean of its ``m`` best document cosines).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from matcher.errors import MatcherError, ShapeMismatchError

__all__ = ["centroids", "rank_one", "top_k", "top_k_dense", "top_k_nearest_documents"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]
# Demands per unit of work of a thread of the top-k product: small enough to share the rows out
# evenly between the threads, large enough that handing a block out costs nothing.
DEFAULT_BLOCK_ROWS = 256
# Dense demand x document blocks of the nearest-document ranking hold at most this many scores.
_DENSE_BLOCK_CELLS = 1 << 24


def _check_pair(demands: sp.spmatrix, providers: sp.spmatrix, k: int) -> None:
    if demands.ndim != 2 or providers.ndim != 2 or demands.shape[1] != providers.shape[1]:
        raise ShapeMismatchError(
            f"demand vectors have {demands.shape[1]} features but provider vectors have {providers.shape[1]}"
        )
    if k < 1:
        raise MatcherError(f"k must be at least 1, got {k}")


def _as_csr32(matrix: sp.spmatrix) -> sp.csr_matrix:
    return sp.csr_matrix(matrix, dtype=np.float32)


def top_k(
    demands: sp.spmatrix,
    providers: sp.spmatrix,
    k: int = 50,
    *,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    n_threads: int = 2,
    threshold: float = 0.0,
    transposed: bool = False,
) -> sp.csr_matrix:
    """Exact top-``k`` cosine scores of every demand against every provider.

    The product runs in compiled code (``matcher._topk``), one dense float32 accumulator per thread,
    blocks of rows shared out to ``n_threads`` threads that release the GIL. Sums are float32, made
    in the order of the demand's entries, then of each feature's providers.

    Parameters
    ----------
    demands : sparse matrix, shape (n_demands, n_features)
        L2-normalised demand vectors.
    providers : sparse matrix, shape (n_providers, n_features)
        L2-normalised provider vectors (one per provider, e.g. from ``centroids``).
    k : int
        Providers kept per demand (fewer when fewer share a term with it).
    block_rows : int
        Demands per unit of work handed to a thread.
    n_threads : int
        Threads of the product.
    threshold : float
        Keep only scores above it (0: every positive score).
    transposed : bool
        ``providers`` is already features x providers (CSR, float32): the index keeps it so, and the
        transpose of every call is saved.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_demands, n_providers), float32
        Per row, the ``min(k, n_providers)`` largest scores above ``threshold`` (among equal scores at
        the cut, the lower columns), sorted indices; nothing else is stored.
    """
    right = _as_csr32(providers) if transposed else _as_csr32(providers).T.tocsr()
    _check_pair(demands, right.T, k)
    if block_rows < 1:
        raise MatcherError(f"block_rows must be at least 1, got {block_rows}")
    left = _as_csr32(demands)
    n, n_providers = left.shape[0], right.shape[1]
    top = min(k, n_providers)
    if n == 0 or top == 0:
        return sp.csr_matrix((n, n_providers), dtype=np.float32)
    return _compiled_top_k(left, right, top, threshold, max(n_threads, 1), block_rows)


def _compiled_top_k(
    left: sp.csr_matrix, right: sp.csr_matrix, top: int, threshold: float, n_threads: int, block_rows: int
) -> sp.csr_matrix:
    """Run ``matcher._topk.top_rows`` over blocks of rows and gather the kept entries as CSR."""
    from matcher._topk import top_rows

    n, n_providers = left.shape[0], right.shape[1]
    a = (
        np.ascontiguousarray(left.data, np.float32),
        left.indices.astype(np.int32),
        left.indptr.astype(np.int64),
    )
    b = (
        np.ascontiguousarray(right.data, np.float32),
        right.indices.astype(np.int32),
        right.indptr.astype(np.int64),
    )
    values = np.empty((n, top), np.float32)
    columns = np.empty((n, top), np.int32)
    counts = np.zeros(n, np.int32)

    def run(start: int) -> None:
        stop = min(start + block_rows, n)
        top_rows(
            *a,
            *b,
            start,
            stop,
            n_providers,
            top,
            threshold,
            values[start:stop],
            columns[start:stop],
            counts[start:stop],
        )

    starts = range(0, n, block_rows)
    if n_threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(min(n_threads, len(starts))) as pool:
            list(pool.map(run, starts))
    else:
        for start in starts:
            run(start)
    kept = np.arange(top) < counts[:, None]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    return sp.csr_matrix((values[kept], columns[kept], indptr), shape=(n, n_providers))


def _clean(scores: sp.spmatrix, n_providers: int) -> sp.csr_matrix:
    """float32 CSR with sorted indices and no explicit zeros."""
    out = sp.csr_matrix(scores, dtype=np.float32, shape=(scores.shape[0], n_providers))
    out.eliminate_zeros()
    out.sort_indices()
    return out


def rank_one(demand: sp.spmatrix, providers: sp.spmatrix, k: int = 50) -> tuple[IntArray, FloatArray]:
    """Rank one demand against all providers: best providers first.

    Parameters
    ----------
    demand : sparse matrix, shape (1, n_features)
        One L2-normalised demand vector.
    providers : sparse matrix, shape (n_providers, n_features)
        Provider vectors. Pass them in CSC format (``providers.tocsc()``, once) for the fast path: the
        transpose is then a features x providers index, and the product reads only the postings of the
        demand's own terms instead of every stored entry of every provider.
    k : int
        How many to return at most.

    Returns
    -------
    indices : ndarray of int64
        Provider rows with a positive score, by decreasing score (ties by row).
    scores : ndarray of float32
        Their cosine scores.
    """
    _check_pair(demand, providers, k)
    if demand.shape[0] != 1:
        raise ShapeMismatchError(f"rank_one takes one demand row, got {demand.shape[0]}")
    rows, values = _scores_of_one(demand, providers)
    positive = values > 0
    rows, values = rows[positive], values[positive]
    order = np.lexsort((rows, -values))[:k]
    return rows[order], values[order]


def _scores_of_one(demand: sp.spmatrix, providers: sp.spmatrix) -> tuple[IntArray, FloatArray]:
    """Provider rows sharing a feature with the demand, and their scores (unordered)."""
    if sp.issparse(providers) and providers.format == "csc":
        found = (sp.csr_matrix(demand) @ providers.T).tocoo()  # .T of CSC is CSR, without a copy
        return found.col.astype(np.int64), found.data.astype(np.float32)
    column = (sp.csr_matrix(providers) @ sp.csr_matrix(demand).T).tocoo()
    return column.row.astype(np.int64), column.data.astype(np.float32)


def _check_owner(documents: sp.spmatrix, owner: npt.ArrayLike, n_providers: int) -> IntArray:
    owners = np.asarray(owner, dtype=np.int64)
    if owners.shape != (documents.shape[0],):
        raise ShapeMismatchError(
            f"owner has {owners.size} entries but there are {documents.shape[0]} documents"
        )
    if owners.size and (owners.min() < 0 or owners.max() >= n_providers):
        raise ShapeMismatchError(
            f"owner values must lie in [0, {n_providers}), got {owners.min()}..{owners.max()}"
        )
    return owners


def _membership(owner: IntArray, n_providers: int) -> sp.csr_matrix:
    """Providers x documents 0/1 matrix."""
    ones = np.ones(owner.size, dtype=np.float32)
    return sp.csr_matrix((ones, (owner, np.arange(owner.size))), shape=(n_providers, owner.size))


def centroids(documents: sp.spmatrix, owner: npt.ArrayLike, n_providers: int) -> sp.csr_matrix:
    """One vector per provider: the L2-normalised sum of its (normalised) document vectors.

    Parameters
    ----------
    documents : sparse matrix, shape (n_documents, n_features)
        L2-normalised document vectors.
    owner : array-like of int, shape (n_documents,)
        Provider row of each document.
    n_providers : int
        Number of providers (a provider without documents gets a zero row).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_providers, n_features), float32
    """
    owners = _check_owner(documents, owner, n_providers)
    summed = sp.csr_matrix(_membership(owners, n_providers) @ _as_csr32(documents))
    norms = np.sqrt(np.asarray(summed.multiply(summed).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ summed, dtype=np.float32)


def _document_slots(owner: IntArray, n_providers: int) -> IntArray:
    """Providers x max-documents table of document rows, padded with ``n_documents`` (a zero column)."""
    order = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=n_providers)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    width = max(int(counts.max(initial=0)), 1)
    slots = np.full((n_providers, width), owner.size, dtype=np.int64)
    rank_in_owner = np.arange(owner.size) - np.repeat(starts, counts)
    slots[owner[order], rank_in_owner] = order
    return slots


def _aggregate(scores: FloatArray, slots: IntArray, m: int) -> FloatArray:
    """Per provider, the mean of its ``m`` best document scores; padding scores 0."""
    padded = np.concatenate([scores, np.zeros((scores.shape[0], 1), np.float32)], axis=1)
    per_provider = padded[:, slots]  # demands x providers x slots
    best: FloatArray = per_provider.max(axis=2)
    if m == 1:
        return best
    width = per_provider.shape[2]
    top_m = -np.partition(-per_provider, min(m, width) - 1, axis=2)[:, :, :m]
    return np.asarray(top_m.mean(axis=2), dtype=np.float32)


def _dense_top_k(scores: FloatArray, k: int) -> sp.csr_matrix:
    top = min(k, scores.shape[1])
    columns = np.argpartition(-scores, top - 1, axis=1)[:, :top]
    values = np.take_along_axis(scores, columns, axis=1)
    rows = np.repeat(np.arange(scores.shape[0]), top)
    return sp.csr_matrix((values.ravel(), (rows, columns.ravel())), shape=scores.shape)


def top_k_dense(scores: npt.ArrayLike, k: int) -> sp.csr_matrix:
    """The ``k`` largest strictly positive scores of each row of a dense demands x providers block.

    Parameters
    ----------
    scores : array-like of float, shape (n_demands, n_providers)
        Dense scores.
    k : int
        Providers kept per demand.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_demands, n_providers), float32
    """
    if k < 1:
        raise MatcherError(f"k must be at least 1, got {k}")
    block = np.asarray(scores, dtype=np.float32)
    if block.ndim != 2:
        raise ShapeMismatchError(f"scores must be a 2-d array, got {block.ndim} dimension(s)")
    if block.shape[1] == 0:
        return sp.csr_matrix(block.shape, dtype=np.float32)
    return _clean(_dense_top_k(block, k), block.shape[1])


def top_k_nearest_documents(
    demands: sp.spmatrix,
    documents: sp.spmatrix,
    owner: npt.ArrayLike,
    n_providers: int,
    k: int = 50,
    *,
    m: int = 1,
) -> sp.csr_matrix:
    """Exact top-``k`` providers per demand, a provider scoring the mean of its ``m`` best documents.

    Parameters
    ----------
    demands : sparse matrix, shape (n_demands, n_features)
        L2-normalised demand vectors.
    documents : sparse matrix, shape (n_documents, n_features)
        L2-normalised document vectors.
    owner : array-like of int, shape (n_documents,)
        Provider row of each document.
    n_providers : int
        Number of providers.
    k : int
        Providers kept per demand.
    m : int
        Documents averaged per provider (1: the nearest document alone). A provider with fewer than
        ``m`` documents counts the missing ones as 0, which favours providers with more evidence.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_demands, n_providers), float32
        Per row, the ``min(k, n_providers)`` largest strictly positive aggregated scores.
    """
    _check_pair(demands, documents, k)
    if m < 1:
        raise MatcherError(f"m must be at least 1, got {m}")
    owners = _check_owner(documents, owner, n_providers)
    slots = _document_slots(owners, n_providers)
    left, right = _as_csr32(demands), _as_csr32(documents).T.tocsr()
    chunk = max(1, _DENSE_BLOCK_CELLS // max(slots.size, 1))
    blocks = []
    for start in range(0, left.shape[0], chunk):
        scores = np.asarray((left[start : start + chunk] @ right).toarray(), dtype=np.float32)
        blocks.append(_dense_top_k(_aggregate(scores, slots, m), k))
    result = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n_providers))
    return _clean(result, n_providers)
