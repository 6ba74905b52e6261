"""Why a provider suits a demand: the shared terms that add most to its standardised score, and the
provider's sentence closest to the demand.

A term's weight is its part of the pair's cosine less what it gives the average provider: the ranking
standardises the cosine over the providers, so a word every provider holds adds nothing to a
provider's place, however large its cosine share (character n-grams and further score components add
the rest). The closest sentence is the provider's encoded chunk nearest the demand's sentence vector
(``closest_sentences``): a reason even when the two share no word.
Generic words (``matcher.index.GENERIC_TERMS``) and words used by many of the providers are shared by
almost every pair: they still count in the score but are not named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from features.profiles import DEMAND
from matcher.dense import DenseComponent
from matcher.index import DemandVectors, ProviderIndex

__all__ = ["REASONS_PER_PAIR", "closest_sentences", "explain", "reasons"]

REASONS_PER_PAIR = 5


def reasons(
    index: ProviderIndex,
    vectors: DemandVectors,
    tokens: Sequence[Mapping[str, Sequence[str]]],
    rows: npt.ArrayLike,
    cols: npt.ArrayLike,
    top: int = REASONS_PER_PAIR,
) -> list[list[dict[str, Any]]]:
    """Per pair, the informative shared terms that add most to its cosine, with weight and demand field.

    Parameters
    ----------
    index : ProviderIndex
    vectors : DemandVectors
        Vectors of the demands.
    tokens : sequence of mapping
        Stored terms of the same demands (field -> terms), to name the field a term came from.
    rows, cols : array-like of int
        Pairs (demand row, provider column).
    top : int
        Terms named per pair at most.

    Returns
    -------
    list of list of dict
        ``{"term", "weight", "field"}`` per named term, the largest weight first.
    """
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    if rows.size == 0:
        return []
    pair, col, weight = _term_contributions(index, sp.csr_matrix(vectors.cosine)[rows], cols)
    return _named(pair, col, weight, rows.size, index.word_names, [tokens[int(row)] for row in rows], top)


def _term_contributions(
    index: ProviderIndex, left: sp.csr_matrix, cols: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """(pair, word column, weight) of every informative word shared by pair ``p``'s demand (row ``p``
    of ``left``) and provider ``cols[p]`` that adds to the pair's standardised score.

    A term's weight is the demand's weight times how much more the provider holds the term than the
    average provider (the ranking compares a provider with the others): a word every provider holds
    adds to every cosine alike and names nothing. The provider's weights are looked up by key in the
    index's sorted entries, one search for all pairs (no per-pair sparse products).
    """
    words = index.n_words
    pair = np.repeat(np.arange(left.shape[0]), np.diff(left.indptr))
    col = left.indices.astype(np.int64)
    named = col < words
    named[named] = index.informative[col[named]]
    pair, col, demand = pair[named], col[named], np.asarray(left.data[named], np.float32)
    held_keys, held = index.entry_keys
    wanted = cols[pair] * np.int64(index.matrix.shape[1]) + col
    at = np.minimum(np.searchsorted(held_keys, wanted), max(held_keys.size - 1, 0))
    found = held_keys[at] == wanted if held_keys.size else np.zeros(wanted.size, bool)
    pair, col, demand, provider = pair[found], col[found], demand[found], held[at[found]]
    mean = index.word_mean[col]
    weight = demand * provider - demand * mean
    positive = weight > 0
    return pair[positive], col[positive], weight[positive]


def _named(
    pair: npt.NDArray[np.int64],
    col: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float32],
    n_pairs: int,
    names: npt.NDArray[np.object_],
    profiles: Sequence[Mapping[str, Sequence[str]]],
    top: int,
) -> list[list[dict[str, Any]]]:
    """Per pair, its ``top`` largest weights named, with the demand field each term
    came from. One sort for all pairs: a round explains every chosen pair."""
    # ties: the term stored later in the demand's vector first (the order reasons have always had)
    order = np.lexsort((-np.arange(pair.size), -weight, pair))
    pair, col, weight = pair[order], col[order], weight[order]
    bounds = np.searchsorted(pair, np.arange(n_pairs + 1))
    rank = np.arange(pair.size) - bounds[pair]
    kept = rank < top
    pair, terms = pair[kept], [str(term) for term in names[col[kept]]]
    weights = [round(float(value), 6) for value in weight[kept]]
    out: list[list[dict[str, Any]]] = [[] for _ in range(n_pairs)]
    bounds = np.searchsorted(pair, np.arange(n_pairs + 1))
    for r in np.flatnonzero(np.diff(bounds)).tolist():
        start, stop = int(bounds[r]), int(bounds[r + 1])
        fields = DEMAND.first_fields(profiles[r], terms[start:stop])
        out[r] = [
            {"term": term, "weight": value, "field": field}
            for term, value, field in zip(terms[start:stop], weights[start:stop], fields, strict=True)
        ]
    return out


def explain(reasons_of_pair: Sequence[Mapping[str, Any]], sentence: str | None = None) -> str:
    """One Chinese sentence naming the shared terms and the demand fields they came from.

    Parameters
    ----------
    reasons_of_pair : sequence of mapping
        One pair's reasons (``reasons``).
    sentence : str, optional
        The provider's closest sentence (``closest_sentences``).

    Returns
    -------
    str
    """
    closest = f"；最接近的表述：“{sentence}”" if sentence else ""
    if not reasons_of_pair:
        return ("语义相近" + closest) if sentence else "无共同关键词，仅字面片段相近"
    parts = [f"“{r['term']}”（{r['field'] or '需求'}）" for r in reasons_of_pair]
    return "共同关键词：" + "、".join(parts) + closest


def closest_sentences(
    index: ProviderIndex, vectors: DemandVectors, rows: npt.ArrayLike, cols: npt.ArrayLike
) -> list[str | None]:
    """Per pair, the provider's encoded chunk closest to the demand, or None without a dense part.

    Parameters
    ----------
    index : ProviderIndex
    vectors : DemandVectors
        Vectors of the demands.
    rows, cols : array-like of int
        Pairs (demand row, provider column).

    Returns
    -------
    list of str or None
    """
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    for component, features in zip(index.components, vectors.extra, strict=True):
        if isinstance(component, DenseComponent):
            return component.closest_chunks(np.asarray(features)[rows], cols)
    return [None] * int(rows.size)
