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
    words = index.n_words
    left = sp.csr_matrix(sp.csr_matrix(vectors.cosine)[rows][:, :words])
    left = sp.csr_matrix(left @ sp.diags(index.informative.astype(left.dtype)))
    right = sp.csr_matrix(index.word_matrix[cols])
    shared = sp.csr_matrix(left.multiply(right))
    shared.eliminate_zeros()
    # What a term adds to the pair's standardised score (the ranking compares a provider with the
    # others): the demand's weight times how much more the provider holds the term than the average
    # provider. A word every provider holds adds to every cosine alike and names nothing.
    mean = index.word_mean
    left_shared = sp.csr_matrix(left.multiply(right > 0))
    products = sp.csr_matrix(shared - left_shared.multiply(mean[None, :]), dtype=np.float32)
    products.data[products.data < 0] = 0
    products.eliminate_zeros()
    names = index.word_names
    return [_pair_reasons(products, r, names, tokens[int(rows[r])], top) for r in range(products.shape[0])]


def _pair_reasons(
    products: sp.csr_matrix,
    r: int,
    names: npt.NDArray[np.object_],
    profile: Mapping[str, Sequence[str]],
    top: int,
) -> list[dict[str, Any]]:
    start, stop = products.indptr[r], products.indptr[r + 1]
    values, columns = products.data[start:stop], products.indices[start:stop]
    best = np.argsort(-values, kind="stable")[:top]
    out = []
    for at in best:
        term = str(names[columns[at]])
        fields = DEMAND.fields_of(profile, term)
        out.append(
            {"term": term, "weight": round(float(values[at]), 6), "field": fields[0] if fields else ""}
        )
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
