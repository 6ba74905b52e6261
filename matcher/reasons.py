"""Why a provider suits a demand: the informative shared terms that add most to their cosine.

A term's weight is the product of its word features in the two vectors: the part of the cosine that
the shared word itself contributes (character n-grams and further score components add the rest).
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
from matcher.index import DemandVectors, ProviderIndex

__all__ = ["REASONS_PER_PAIR", "explain", "reasons"]

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
    products = sp.csr_matrix(left.multiply(index.matrix[cols][:, :words]))
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


def explain(reasons_of_pair: Sequence[Mapping[str, Any]]) -> str:
    """One Chinese sentence naming the shared terms and the demand fields they came from.

    Parameters
    ----------
    reasons_of_pair : sequence of mapping
        One pair's reasons (``reasons``).

    Returns
    -------
    str
    """
    if not reasons_of_pair:
        return "无共同关键词，仅字面片段相近"
    parts = [f"“{r['term']}”（{r['field'] or '需求'}）" for r in reasons_of_pair]
    return "共同关键词：" + "、".join(parts)
