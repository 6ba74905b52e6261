"""The numeric half of matching, free of the database: provider index, demand vectors, scores, reasons.

The ranking is the one ``matcher.ranking`` chose on the csl-dev tuning split (``RankingConfig``
defaults): words plus character 1-2-grams of the words, idf learned from the provider profiles, each
provider one bag of terms (its name plus all its documents), and for levels of up to
``CLASSIFIER_MAX_PROVIDERS`` providers the cosine fused half and half with a one-vs-rest ridge model
fitted on the providers' documents (``features.classifier``). Larger levels rank by cosine alone: the
ridge model of 2,000 providers takes about 100 s to fit and 320 MB of dense coefficients.

Fused scores are not cosines (see ``matcher.ranking.fuse``). Which providers are candidates at all
is decided by a similarity of its own: the cosine without single-character n-grams must reach the
round's ``min_score`` (be positive, for a match list), so "no provider above the threshold" keeps its
meaning (with 1-grams, 量子 would share 子 with every 高分子 society). A provider index serves the
provisional match lists and every round alike, so a demand scores the same in both.
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
from features.classifier import ProviderClassifier
from features.profiles import DEMAND, PROVIDER
from features.tokenize import Tokenizer
from features.vectorize import TfidfVectorizer, char_ngrams
from matcher.ranking import RankingConfig

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
DemandTokens = dict[str, list[str]]
# Demand fields tokenized at intake, in the order of the demand profile spec.
DEMAND_FIELDS = tuple(spec.name for spec in DEMAND.fields)
REASONS_PER_PAIR = 5
RANKING = RankingConfig()
# Above this many providers a level ranks by cosine alone (ridge fit time and dense coefficients).
CLASSIFIER_MAX_PROVIDERS = 600
# Dense demand x provider score blocks hold at most this many cells.
BLOCK_CELLS = 1 << 22
# Words that every technology text uses: true shared terms, but they tell staff nothing.
_GENERIC_WORDS = (
    "技术 提高 提升 研究 开发 研发 应用 问题 实现 需要 需求 方法 方案 "
    "工艺 产品 系统 设计 生产 企业 公司 进行 解决 相关 服务 合作 推广 "
    "项目 能力 水平 国内 国际 行业 领域 发展 创新 科技 质量 效率 成本 "
    "降低 改进 优化 关键 主要 现有 目前 要求 支持 提供 建设 管理 达到 "
    "具有 "
)
GENERIC_TERMS = frozenset(_GENERIC_WORDS.split())
# A term found in more than this share of a level's providers (and in more than
# COMMON_TERM_MIN_PROVIDERS of them) is too common to be a reason.
COMMON_TERM_SHARE = 0.1
COMMON_TERM_MIN_PROVIDERS = 5


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
    """Provider vectors of one level with the vectorizer (and ridge model) that made them."""

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
    # Features x providers, so a demand row times it is one sparse product.
    matrix_t: sp.csr_matrix | None = None
    # Ridge coefficients as features x providers (C order) and intercepts; None: cosine only.
    coef_t: Float32Array | None = None
    intercept: Float32Array | None = None
    classifier_weight: float = 0.0
    # Word columns that may be named as reasons (informative: not generic, not too common).
    informative: npt.NDArray[np.bool_] | None = None
    # Provider vectors without single-character n-grams (``gate_t``: transposed): the similarity that
    # decides candidacy. One shared character (子 in 量子 and 高分子) is no reason to propose a provider.
    gate: sp.csr_matrix | None = None
    gate_t: sp.csr_matrix | None = None

    @property
    def n_words(self) -> int:
        """Number of word features (the leading columns of every vector)."""
        return len(self.vectorizer.word_vocabulary_)

    @property
    def fused(self) -> bool:
        """Whether scores fuse the cosine with the ridge model."""
        return self.coef_t is not None and self.classifier_weight > 0


@dataclass(frozen=True)
class ProviderTerms:
    """A provider's name terms and the terms of each of its documents."""

    name: list[str]
    documents: list[list[str]]


def provider_terms(profiles: Sequence[ProviderProfile], n_jobs: int = 1) -> list[ProviderTerms]:
    """Name terms and document terms of every provider (stored terms when present)."""
    missing = [doc for p in profiles if p.tokens is None for doc in p.documents]
    terms = tokenizer().tokenize_many(missing + [p.name for p in profiles], n_jobs=n_jobs)
    fresh, names = iter(terms[: len(missing)]), terms[len(missing) :]
    out = []
    for profile, name in zip(profiles, names, strict=True):
        documents = profile.tokens if profile.tokens is not None else [next(fresh) for _ in profile.documents]
        out.append(ProviderTerms(name, [list(doc) for doc in documents]))
    return out


def provider_bags(profiles: Sequence[ProviderProfile], n_jobs: int = 1) -> list[dict[str, float]]:
    """One weighted bag per provider: its name plus every document (stored terms when present)."""
    return [_profile_bag(p) for p in provider_terms(profiles, n_jobs=n_jobs)]


def _profile_bag(provider: ProviderTerms) -> dict[str, float]:
    return PROVIDER.bag({"name": provider.name, "text": [t for doc in provider.documents for t in doc]})


def build_index(
    level: str,
    profiles: Sequence[ProviderProfile],
    signature: tuple[Any, ...] = (),
    n_jobs: int = 1,
    config: RankingConfig = RANKING,
) -> ProviderIndex:
    """Fit the vectorizer on the providers' bags and vectorize them; fit the ridge model on small levels."""
    providers = provider_terms(profiles, n_jobs=n_jobs)
    bags = [_profile_bag(p) for p in providers]
    vectorizer = TfidfVectorizer(
        char_weight=config.char_weight,
        char_ngram_range=config.char_ngram_range,
        sublinear_tf=config.sublinear_tf,
    ).fit(bags if bags else [{"": 1.0}])
    matrix = sp.csr_matrix(vectorizer.transform(bags)) if bags else sp.csr_matrix((0, 1), dtype=np.float32)
    ids = np.array([p.id for p in profiles], dtype=np.int64)
    n_words = len(vectorizer.word_vocabulary_)
    coef_t, intercept = _ridge(vectorizer, providers, config)
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
        matrix_t=sp.csr_matrix(matrix.T),
        coef_t=coef_t,
        intercept=intercept,
        classifier_weight=config.classifier_weight if coef_t is not None else 0.0,
        informative=_informative(vectorizer, matrix[:, :n_words]),
        gate=(gate := sp.csr_matrix(matrix @ sp.diags(_multi_char_columns(vectorizer)))),
        gate_t=sp.csr_matrix(gate.T),
    )


def _multi_char_columns(vectorizer: TfidfVectorizer) -> Float32Array:
    """1 for word columns and character n-grams of two characters or more, 0 for single characters."""
    names = vectorizer.feature_names()
    return np.fromiter((not (n.startswith("#") and len(n) == 2) for n in names), np.float32, names.size)


def _ridge(
    vectorizer: TfidfVectorizer, providers: Sequence[ProviderTerms], config: RankingConfig
) -> tuple[Float32Array | None, Float32Array | None]:
    """Ridge coefficients (features x providers) learned from the documents without the names."""
    n = len(providers)
    if config.classifier_weight == 0 or not 2 <= n <= CLASSIFIER_MAX_PROVIDERS:
        return None, None
    owner = [row for row, p in enumerate(providers) for _ in p.documents or [[]]]
    examples = [PROVIDER.bag({"text": doc}) for p in providers for doc in p.documents or [[]]]
    model = ProviderClassifier(alpha=config.classifier_alpha)
    model.fit(vectorizer.transform(examples), np.asarray(owner, np.int64), n)
    return np.ascontiguousarray(model.coef_.T), model.intercept_


def _informative(vectorizer: TfidfVectorizer, words: sp.csr_matrix) -> npt.NDArray[np.bool_]:
    """Word columns worth naming: not generic, and not used by too many of the level's providers."""
    names = vectorizer.feature_names()[: words.shape[1]]
    used_by = np.bincount(sp.csr_matrix(words).indices, minlength=words.shape[1])
    limit = max(COMMON_TERM_SHARE * words.shape[0], COMMON_TERM_MIN_PROVIDERS)
    generic = np.fromiter((str(n) in GENERIC_TERMS for n in names), dtype=bool, count=names.size)
    return np.asarray((used_by <= limit) & ~generic, dtype=bool)


def demand_vectors(index: ProviderIndex, profiles: Sequence[Mapping[str, Sequence[str]]]) -> sp.csr_matrix:
    """L2-normalised demand vectors in the index's feature space."""
    if len(profiles) == 1:
        return demand_vector(index, profiles[0])
    bags = [DEMAND.bag(profile) for profile in profiles]
    return sp.csr_matrix(index.vectorizer.transform(bags)) if bags else sp.csr_matrix((0, 1))


def demand_vector(index: ProviderIndex, profile: Mapping[str, Sequence[str]]) -> sp.csr_matrix:
    """One demand's vector, equal to ``vectorizer.transform`` but weighing by ``idf[indices]``.

    The vectorizer multiplies by ``sp.diags(idf)``, which builds a features x features matrix per call
    (about 14 ms for one demand); scaling the few stored counts costs microseconds.
    """
    vectorizer, bag = index.vectorizer, DEMAND.bag(profile)
    words = _weighted_block(bag, vectorizer.word_vocabulary_, vectorizer.word_idf_, vectorizer, None)
    if not vectorizer.char_vocabulary_:
        return _row(words, vectorizer.n_features_out_, vectorizer.dtype)
    grams = tuple(vectorizer.char_ngram_range)
    chars = _weighted_block(bag, vectorizer.char_vocabulary_, vectorizer.char_idf_, vectorizer, grams)
    offset, share = len(vectorizer.word_vocabulary_), float(vectorizer.char_weight)
    joined = {col: value * np.sqrt(1.0 - share) for col, value in words.items()}
    joined.update({offset + col: value * np.sqrt(share) for col, value in chars.items()})
    norm = np.sqrt(sum(v * v for v in joined.values()))
    return _row(
        {c: v / norm for c, v in joined.items()} if norm else {}, vectorizer.n_features_out_, vectorizer.dtype
    )


def _weighted_block(
    bag: Mapping[str, float],
    vocabulary: Mapping[str, int],
    idf: FloatArray,
    vectorizer: TfidfVectorizer,
    grams: tuple[int, ...] | None,
) -> dict[int, float]:
    """TF-IDF weights of one block of one bag, L2-normalised (an empty block stays empty)."""
    counts: dict[int, float] = {}
    for term, weight in bag.items():
        for feature in (term,) if grams is None else char_ngrams(term, grams[0], grams[1]):
            if (col := vocabulary.get(feature)) is not None:
                counts[col] = counts.get(col, 0.0) + weight
    tf = {c: float(np.log1p(v)) if vectorizer.sublinear_tf else v for c, v in counts.items()}
    weighted = {c: v * float(idf[c]) for c, v in tf.items()}
    norm = np.sqrt(sum(v * v for v in weighted.values()))
    return {c: v / norm for c, v in weighted.items()} if norm else {}


def _row(values: Mapping[int, float], width: int, dtype: Any) -> sp.csr_matrix:
    cols = np.array(sorted(values), dtype=np.int32)
    data = np.array([values[c] for c in cols], dtype=dtype)
    return sp.csr_matrix((data, cols, np.array([0, cols.size], dtype=np.int32)), shape=(1, width))


def score_block(index: ProviderIndex, vectors: sp.csr_matrix) -> tuple[Float32Array, Float32Array]:
    """Dense gate similarities and ranking scores (fused when the index has a ridge model) of some rows.

    The gate similarity is the cosine without single-character n-grams (``ProviderIndex.gate``). The
    fusion is ``matcher.ranking.fuse`` without its top-k: per row, cosines and ridge scores are
    standardised over the providers, mixed and mapped into (0, 1); a row without any term scores 0.
    """
    left = sp.csr_matrix(vectors, dtype=np.float32)
    gate_t = index.gate_t if index.gate_t is not None else sp.csr_matrix(index.matrix.T)
    right = index.matrix_t if index.matrix_t is not None else sp.csr_matrix(index.matrix.T)
    gates = np.asarray((left @ gate_t).toarray(), dtype=np.float32)
    cosines = np.asarray((left @ right).toarray(), dtype=np.float32)
    if not index.fused:
        return gates, cosines
    assert index.coef_t is not None
    assert index.intercept is not None
    raw = np.asarray(left @ index.coef_t, dtype=np.float32) + index.intercept
    weight = index.classifier_weight
    mixed = (1.0 - weight) * _standardise(cosines) + weight * _standardise(raw)
    fused = (1.0 / (1.0 + np.exp(-mixed))).astype(np.float32)
    fused[np.diff(left.indptr) == 0] = 0.0
    return gates, fused


def gate_of_pairs(demands: sp.csr_matrix, index: ProviderIndex, rows: IntArray, cols: IntArray) -> FloatArray:
    """The gate similarity (cosine without single characters) of each (demand row, provider row) pair."""
    gate = index.gate if index.gate is not None else index.matrix
    products = sp.csr_matrix(demands)[rows].multiply(gate[cols])
    return np.asarray(products.sum(axis=1), dtype=np.float64).ravel()


def _standardise(scores: Float32Array) -> Float32Array:
    """Per row, (score - mean) / std over the providers; a constant row becomes zeros."""
    centred = scores - scores.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    out: Float32Array = np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)
    return out


def gated_scores(index: ProviderIndex, vectors: sp.csr_matrix, min_similarity: float) -> Float32Array:
    """Ranking scores of the pairs whose gate similarity reaches ``min_similarity`` (and is positive)."""
    gates, scores = score_block(index, vectors)
    return np.where((gates >= min_similarity) & (gates > 0), scores, np.float32(0.0)).astype(np.float32)


def rank_demand(index: ProviderIndex, vector: sp.csr_matrix, k: int) -> tuple[IntArray, Float32Array]:
    """Provider rows of one demand's ``k`` best candidates (positive cosine) and their scores, best first."""
    scores = gated_scores(index, vector, 0.0)[0]
    candidates = np.flatnonzero(scores > 0)
    order = np.lexsort((candidates, -scores[candidates]))[:k]
    return candidates[order].astype(np.int64), scores[candidates[order]]


def pair_scores(demands: sp.csr_matrix, index: ProviderIndex, rows: IntArray, cols: IntArray) -> FloatArray:
    """Exact ranking score of each (demand row, provider row) pair (cosine, or fused)."""
    if rows.size == 0:
        return np.zeros(0)
    if not index.fused:
        products = demands[rows].multiply(index.matrix[cols])
        return np.asarray(products.sum(axis=1), dtype=np.float64).ravel()
    unique, inverse = np.unique(rows, return_inverse=True)
    out = np.zeros(rows.size)
    chunk = max(1, BLOCK_CELLS // max(index.ids.size, 1))
    for start in range(0, unique.size, chunk):
        block = score_block(index, demands[unique[start : start + chunk]])[1]
        at = np.flatnonzero((inverse >= start) & (inverse < start + chunk))
        out[at] = block[inverse[at] - start, cols[at]]
    return out


def reasons(
    demands: sp.csr_matrix,
    profiles: Sequence[Mapping[str, Sequence[str]]],
    index: ProviderIndex,
    rows: IntArray,
    cols: IntArray,
    top: int = REASONS_PER_PAIR,
) -> list[list[dict[str, Any]]]:
    """Per pair, the informative shared terms that add most to its cosine, with weight and demand field.

    A term's weight is the product of its word features in the two vectors: the part of the cosine
    that the shared word itself contributes (character n-grams add the rest of the score). Generic
    words (``GENERIC_TERMS``) and words used by many of the level's providers are shared by almost
    every pair: they still count in the score but are not named.
    """
    if rows.size == 0:
        return []
    words = index.n_words
    provider_words = index.words if index.words is not None else sp.csr_matrix(index.matrix[:, :words])
    left = sp.csr_matrix(sp.csr_matrix(demands)[rows][:, :words])
    if index.informative is not None:
        left = sp.csr_matrix(left @ sp.diags(index.informative.astype(left.dtype)))
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
