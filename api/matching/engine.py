"""The numeric half of matching, free of the database: provider index, demand vectors, reasons.

The vectorizer learns its idf from the provider profiles (the setting the ranking harness chose), so a
provider index serves the provisional match lists and every round alike, and a demand scores the same
in both. Each provider is one bag of terms: its name plus all its documents (the ``profile``
aggregation of the harness).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from api.providers.profiles import ProviderProfile
from features.profiles import DEMAND, PROVIDER
from features.tokenize import Tokenizer
from features.vectorize import TfidfVectorizer

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
DemandTokens = dict[str, list[str]]
# Demand fields tokenized at intake, in the order of the demand profile spec.
DEMAND_FIELDS = tuple(spec.name for spec in DEMAND.fields)
REASONS_PER_PAIR = 5


@cache
def tokenizer() -> Tokenizer:
    """The process's tokenizer (its dictionary loads once)."""
    return Tokenizer()


def demand_record(row: Any) -> dict[str, str | None]:
    """The text fields of a demand row, keywords joined into one text."""
    record: dict[str, str | None] = {name: getattr(row, name, None) for name in DEMAND_FIELDS}
    record["keywords"] = "、".join(getattr(row, "keywords", None) or [])
    return record


def tokenize_demands(records: Sequence[Mapping[str, str | None]], n_jobs: int = 1) -> list[DemandTokens]:
    """Tokenize demands field by field, every field of every demand in one batch."""
    slots = [(i, name) for i, record in enumerate(records) for name in DEMAND_FIELDS if record.get(name)]
    texts = [str(records[i][name]) for i, name in slots]
    terms = tokenizer().tokenize_many(texts, n_jobs=n_jobs)
    out: list[DemandTokens] = [{} for _ in records]
    for (i, name), found in zip(slots, terms, strict=True):
        out[i][name] = found
    return out


def stored_tokens(value: object) -> DemandTokens | None:
    """Stored demand terms as field -> terms; None when absent or in an unknown shape."""
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        return {str(k): [str(t) for t in v] for k, v in value.items() if k in DEMAND_FIELDS}
    return None


@dataclass(frozen=True, eq=False)
class ProviderIndex:
    """Provider vectors of one level with the vectorizer that made them."""

    level: str
    ids: IntArray
    names: list[str]
    capacity: IntArray
    vectorizer: TfidfVectorizer
    matrix: sp.csr_matrix
    signature: tuple[Any, ...] = ()
    position: dict[int, int] = field(default_factory=dict)
    # Word columns only, and their names: what reasons need, computed once per index.
    words: sp.csr_matrix | None = None
    word_names: npt.NDArray[np.object_] | None = None

    @property
    def n_words(self) -> int:
        """Number of word features (the leading columns of every vector)."""
        return len(self.vectorizer.word_vocabulary_)


def provider_bags(profiles: Sequence[ProviderProfile], n_jobs: int = 1) -> list[dict[str, float]]:
    """One weighted bag per provider: its name plus every document (stored terms when present)."""
    missing = [doc for p in profiles if p.tokens is None for doc in p.documents]
    terms = tokenizer().tokenize_many(missing + [p.name for p in profiles], n_jobs=n_jobs)
    fresh, names = iter(terms[: len(missing)]), terms[len(missing) :]
    bags = []
    for profile, name in zip(profiles, names, strict=True):
        documents = profile.tokens if profile.tokens is not None else [next(fresh) for _ in profile.documents]
        bags.append(PROVIDER.bag({"name": name, "text": [term for doc in documents for term in doc]}))
    return bags


def build_index(
    level: str, profiles: Sequence[ProviderProfile], signature: tuple[Any, ...] = (), n_jobs: int = 1
) -> ProviderIndex:
    """Fit the vectorizer on the providers' bags and vectorize them."""
    bags = provider_bags(profiles, n_jobs=n_jobs)
    vectorizer = TfidfVectorizer().fit(bags if bags else [{"": 1.0}])
    matrix = sp.csr_matrix(vectorizer.transform(bags)) if bags else sp.csr_matrix((0, 1), dtype=np.float32)
    ids = np.array([p.id for p in profiles], dtype=np.int64)
    n_words = len(vectorizer.word_vocabulary_)
    return ProviderIndex(
        level=level,
        ids=ids,
        names=[p.name for p in profiles],
        capacity=np.array([p.capacity for p in profiles], dtype=np.int64),
        vectorizer=vectorizer,
        matrix=matrix,
        signature=signature,
        position={int(pid): row for row, pid in enumerate(ids)},
        words=sp.csr_matrix(matrix[:, :n_words]),
        word_names=vectorizer.feature_names()[:n_words],
    )


def demand_vectors(index: ProviderIndex, profiles: Sequence[Mapping[str, Sequence[str]]]) -> sp.csr_matrix:
    """L2-normalised demand vectors in the index's feature space."""
    bags = [DEMAND.bag(profile) for profile in profiles]
    return sp.csr_matrix(index.vectorizer.transform(bags)) if bags else sp.csr_matrix((0, 1))


def pair_scores(demands: sp.csr_matrix, index: ProviderIndex, rows: IntArray, cols: IntArray) -> FloatArray:
    """Exact cosine of each (demand row, provider row) pair."""
    if rows.size == 0:
        return np.zeros(0)
    products = demands[rows].multiply(index.matrix[cols])
    return np.asarray(products.sum(axis=1), dtype=np.float64).ravel()


def reasons(
    demands: sp.csr_matrix,
    profiles: Sequence[Mapping[str, Sequence[str]]],
    index: ProviderIndex,
    rows: IntArray,
    cols: IntArray,
    top: int = REASONS_PER_PAIR,
) -> list[list[dict[str, Any]]]:
    """Per pair, the shared terms that add most to its score, with their weight and demand field.

    A term's weight is the product of its word features in the two vectors: the part of the cosine
    that the shared word itself contributes (character n-grams add the rest of the score).
    """
    if rows.size == 0:
        return []
    words = index.n_words
    provider_words = index.words if index.words is not None else sp.csr_matrix(index.matrix[:, :words])
    left = sp.csr_matrix(sp.csr_matrix(demands)[rows][:, :words])
    products = sp.csr_matrix(left.multiply(provider_words[cols]))
    products.eliminate_zeros()
    names = index.word_names if index.word_names is not None else index.vectorizer.feature_names()
    return [_pair_reasons(products, r, names, profiles[int(rows[r])], top) for r in range(products.shape[0])]


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
    """One Chinese sentence naming the shared terms and where they came from."""
    if not reasons_of_pair:
        return "无共同关键词，仅字面片段相近"
    parts = [f"“{r['term']}”（{r['field'] or '需求'}）" for r in reasons_of_pair]
    return "共同关键词：" + "、".join(parts)
