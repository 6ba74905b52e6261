"""Why a provider suits a demand: the shared terms that contribute most to their cosine score.

A pair's score is the dot product of two unit vectors, so it splits exactly into one contribution per
feature. Word features are credited to their word; a character n-gram feature (``#电池``) is credited to
the demand's word(s) that contain it, shared equally, so staff read words, never n-grams, and the
contributions of the reasons add up to the score (less what falls outside the ``limit`` best terms).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from features.profiles import ProfileSpec, TokenizedProfile
from features.vectorize import TfidfVectorizer, char_ngrams

__all__ = ["Reason", "explain"]


@dataclass(frozen=True)
class Reason:
    """One shared term and what it adds to the score.

    Parameters
    ----------
    term : str
        The word, as in the demand.
    contribution : float
        Its part of the cosine score.
    share : float
        ``contribution / score``.
    demand_fields : tuple of str
        Chinese labels of the demand fields holding the term (``技术需求名称``).
    provider_fields : tuple of str
        Chinese labels of the provider fields holding the term; empty when the term reaches the
        provider only through a related word (a shared character n-gram).
    """

    term: str
    contribution: float
    share: float
    demand_fields: tuple[str, ...]
    provider_fields: tuple[str, ...]

    def describe(self) -> str:
        """One line in Chinese for staff.

        For example ``“激光焊接”：贡献 0.082（35%），来自需求的技术需求名称、具体说明``.
        """
        where = "、".join(self.demand_fields) or "需求"
        line = f"“{self.term}”：贡献 {self.contribution:.3f}（{self.share:.0%}），来自需求的{where}"
        if self.provider_fields:
            line += f"；对方的{'、'.join(self.provider_fields)}也提到"
        return line


def _contributions(demand: sp.spmatrix, provider: sp.spmatrix) -> dict[int, float]:
    """Feature column -> product of the two vectors' values, for the features both have."""
    product = sp.csr_matrix(sp.csr_matrix(demand).multiply(sp.csr_matrix(provider)))
    return {int(c): float(v) for c, v in zip(product.indices, product.data, strict=True) if v > 0}


def _credit_words(
    contributions: dict[int, float], words: Sequence[str], vectorizer: TfidfVectorizer
) -> dict[str, float]:
    """Credit each feature's contribution to the demand words it stems from."""
    low, high = vectorizer.char_ngram_range
    offset = len(vectorizer.word_vocabulary_)
    names = {i: w for w, i in vectorizer.word_vocabulary_.items()}
    holders: dict[str, list[str]] = {}
    for word in words:
        for gram in set(char_ngrams(word, low, high)):
            holders.setdefault(gram, []).append(word)
    grams = {offset + i: g for g, i in vectorizer.char_vocabulary_.items() if g in holders}
    credit: dict[str, float] = {}
    for column, value in contributions.items():
        owners = [names[column]] if column in names else holders.get(grams.get(column, ""), [])
        for word in owners:
            credit[word] = credit.get(word, 0.0) + value / len(owners)
    return credit


def explain(
    vectorizer: TfidfVectorizer,
    demand_vector: sp.spmatrix,
    provider_vector: sp.spmatrix,
    demand: TokenizedProfile,
    demand_spec: ProfileSpec,
    provider: TokenizedProfile | None = None,
    provider_spec: ProfileSpec | None = None,
    *,
    limit: int = 5,
) -> list[Reason]:
    """The ``limit`` shared terms contributing most to the score of one (demand, provider) pair.

    Parameters
    ----------
    vectorizer : TfidfVectorizer
        The fitted vectorizer that made both vectors.
    demand_vector, provider_vector : sparse matrix, shape (1, n_features)
        The pair's vectors (for a provider with several documents: the vector it was scored with).
    demand : mapping of str to sequence of str
        The demand's stored tokens by field.
    demand_spec : ProfileSpec
        Its field spec (labels).
    provider, provider_spec : optional
        The provider's tokens by field and spec, to name the provider fields of each term.
    limit : int
        Most reasons returned.

    Returns
    -------
    list of Reason
        By decreasing contribution; empty when the pair shares nothing.
    """
    score = float((sp.csr_matrix(demand_vector) @ sp.csr_matrix(provider_vector).T).toarray()[0, 0])
    words = list(dict.fromkeys(t for terms in demand.values() for t in terms))
    credit = _credit_words(_contributions(demand_vector, provider_vector), words, vectorizer)
    best = sorted(credit.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [
        Reason(
            term=word,
            contribution=value,
            share=value / score if score > 0 else 0.0,
            demand_fields=demand_spec.fields_of(demand, word),
            provider_fields=provider_spec.fields_of(provider, word) if provider and provider_spec else (),
        )
        for word, value in best
        if value > 0 and np.isfinite(value)
    ]
