"""The numeric half of matching, free of the database: provider index, demand vectors, scores, reasons.

The ranking is ``matcher.ranking``'s, with the ``RankingConfig`` defaults chosen on the csl-dev tuning
split: words plus character 1-2-grams of the words, idf learned from the provider profiles, each
provider one bag of terms (its name plus all its documents), and for levels of up to
``CLASSIFIER_MAX_PROVIDERS`` providers the cosine fused half and half with a linear SVM per provider on
character 1-2-grams of the normalised texts (``features.characters``). The cosine reads the terms
stored at intake; the SVM reads the text itself, normalised when the index or the demand vectors are
built (``demand_record``, ``demand_character_text``): no segmentation, so it costs little. A demand
vector holds the cosine's features, then the SVM's n-grams. Larger levels, and levels whose SVM would
hold more than ``CHARACTER_MAX_COEFFICIENTS`` coefficients even with only the n-grams that two
providers share (``character_min_df``), rank by cosine alone.
``RankingConfig(classifier="ridge")`` fuses the earlier ridge model instead (``features.classifier``).

Fused scores are not cosines (see ``matcher.ranking.fuse``). Which providers are candidates at all
is decided by a similarity of its own: the cosine without single-character n-grams must reach the
round's ``min_score`` (be positive, for a match list), so "no provider above the threshold" keeps its
meaning (with 1-grams, 量子 would share 子 with every 高分子 society). A provider index serves the
provisional match lists and every round alike, so a demand scores the same in both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer as CharacterVectorizer

from api.providers.profiles import ProviderProfile
from features.characters import character_text, demand_text, fit_providers
from features.classifier import ProviderClassifier
from features.profiles import DEMAND, PROVIDER
from features.tokenize import Tokenizer
from features.vectorize import TfidfVectorizer, char_ngrams
from matcher.ranking import RankingConfig

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
DemandTokens = dict[str, list[str]]
DemandRecord = Mapping[str, str | None]
# Demand fields tokenized at intake, in the order of the demand profile spec.
DEMAND_FIELDS = tuple(spec.name for spec in DEMAND.fields)
REASONS_PER_PAIR = 5
RANKING = RankingConfig()
# Above this many providers a level ranks by cosine alone (classifier fit time and dense coefficients).
CLASSIFIER_MAX_PROVIDERS = 600
# The character SVM holds at most this many coefficients (providers x n-grams); its fit holds them as
# float64 beside a float32 copy. 5,867 csl-dev abstracts over 300 providers (198,000 n-grams) peak at
# 1.16 GiB resident; over 600, 2.07 GiB, and 987 MB with the 81,000 n-grams of at least two providers.
# The 209 demo societies have 19,000 n-grams (4 million coefficients).
CHARACTER_MAX_COEFFICIENTS = 60_000_000
# Demand fields the character SVM reads after the title (twice) and the description: the other intake
# fields, which the word profile reads too.
CHARACTER_EXTRA_FIELDS = tuple(name for name in DEMAND_FIELDS if name not in ("title", "description"))
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
    """Provider vectors of one level with the vectorizer and classifier (SVM or ridge) that made them."""

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
    # Coefficients of the fused model as features x providers (C order) and intercepts; None: cosine only.
    # Ridge: over the cosine's features. Character SVM: over the n-grams of ``characters``.
    coef_t: Float32Array | None = None
    intercept: Float32Array | None = None
    classifier_weight: float = 0.0
    # Word columns that may be named as reasons (informative: not generic, not too common).
    informative: npt.NDArray[np.bool_] | None = None
    # Provider vectors without single-character n-grams (``gate_t``: transposed): the similarity that
    # decides candidacy. One shared character (子 in 量子 and 高分子) is no reason to propose a provider.
    gate: sp.csr_matrix | None = None
    gate_t: sp.csr_matrix | None = None
    # The character SVM's n-gram vectorizer; demand vectors then carry its n-grams after the cosine's.
    characters: CharacterVectorizer | None = None

    @property
    def width(self) -> int:
        """Number of the cosine's features (the leading columns of a demand vector)."""
        return int(self.matrix.shape[1])

    @property
    def n_words(self) -> int:
        """Number of word features (the leading columns of every vector)."""
        return len(self.vectorizer.word_vocabulary_)

    @property
    def fused(self) -> bool:
        """Whether scores fuse the cosine with a classifier (ridge or character SVM)."""
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
    """Fit the vectorizer on the providers' bags and vectorize them; fit the classifier on small levels."""
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
    coef_t, intercept, characters = _classifier(vectorizer, profiles, providers, config)
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
        characters=characters,
    )


def _multi_char_columns(vectorizer: TfidfVectorizer) -> Float32Array:
    """1 for word columns and character n-grams of two characters or more, 0 for single characters."""
    names = vectorizer.feature_names()
    return np.fromiter((not (n.startswith("#") and len(n) == 2) for n in names), np.float32, names.size)


Classifier = tuple[Float32Array | None, Float32Array | None, CharacterVectorizer | None]


def _classifier(
    vectorizer: TfidfVectorizer,
    profiles: Sequence[ProviderProfile],
    providers: Sequence[ProviderTerms],
    config: RankingConfig,
) -> Classifier:
    """Coefficients (features x providers), intercepts and n-gram vectorizer of the model fused on this level.

    None of them when the level ranks by cosine alone: ``classifier_weight`` 0, fewer than two providers,
    or more than ``CLASSIFIER_MAX_PROVIDERS``.
    """
    if config.classifier_weight == 0 or not 2 <= len(providers) <= CLASSIFIER_MAX_PROVIDERS:
        return None, None, None
    if config.classifier == "ridge":
        return (*_ridge(vectorizer, providers, config), None)
    return _character_svm(profiles, config)


def _character_svm(profiles: Sequence[ProviderProfile], config: RankingConfig) -> Classifier:
    """The character SVM on the providers' normalised documents (as ``matcher.ranking`` fits it).

    Like ``matcher.ranking``, a level where fewer than two providers have documents ranks by cosine; so
    does a level too large for ``CHARACTER_MAX_COEFFICIENTS`` (see ``character_min_df``).
    """
    texts = [[character_text(document) for document in profile.documents] for profile in profiles]
    min_df = character_min_df(texts)
    model = None if min_df is None else fit_providers(texts, c=config.svm_c, min_df=min_df)
    if model is None:
        return None, None, None
    return model.weights_, model.intercept_, model.vectorizer_


def character_min_df(texts: Sequence[Sequence[str]]) -> int | None:
    """How many providers an n-gram needs to be kept so that the SVM's coefficients fit the budget.

    1 (every n-gram) while providers x distinct character 1-2-grams stay within
    ``CHARACTER_MAX_COEFFICIENTS``; else 2 (n-grams of at least two providers: on csl-dev -0.007 acc@1
    on the report split, 0.634 to 0.627) when those fit; None when neither fits. (The SVM's vocabulary
    also holds the pairs across the line breaks that join a provider's documents, 2-3 % more on the
    demo societies; these counts leave them out.)

    Parameters
    ----------
    texts : sequence of sequence of str
        Each provider's normalised documents.

    Returns
    -------
    int or None
        The ``min_df`` of ``CharacterSvm``, or None: rank by cosine alone.
    """
    providers_of: Counter[str] = Counter()
    for documents in texts:
        grams: set[str] = set()
        for text in documents:
            grams.update(text)
            grams.update(map(str.__add__, text, text[1:]))
        providers_of.update(grams)
    for min_df in (1, 2):
        if len(texts) * sum(count >= min_df for count in providers_of.values()) <= CHARACTER_MAX_COEFFICIENTS:
            return min_df
    return None


def _ridge(
    vectorizer: TfidfVectorizer, providers: Sequence[ProviderTerms], config: RankingConfig
) -> tuple[Float32Array, Float32Array]:
    """Ridge coefficients (features x providers) learned from the documents without the names."""
    n = len(providers)
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


def demand_character_text(record: DemandRecord) -> str:
    """The text the character SVM reads: the normalised title twice (its field weight), then the description.

    The same text as ``matcher.ranking.character_texts`` makes of a demand's title and description; the
    other intake fields (keywords, main business, company profile) follow, one per line, when present.
    """
    extra = [text for name in CHARACTER_EXTRA_FIELDS if (text := record.get(name))]
    return demand_text(record.get("title") or "", record.get("description") or "", extra)


def demand_vectors(
    index: ProviderIndex,
    profiles: Sequence[Mapping[str, Sequence[str]]],
    records: Sequence[DemandRecord] | None = None,
) -> sp.csr_matrix:
    """L2-normalised demand vectors in the index's feature space (then its character n-grams, if any).

    ``records`` (``demand_record`` of each demand) are read only when the index fuses the character SVM,
    which needs the text itself: the n-grams of the normalised fields, not the stored terms.
    """
    if len(profiles) == 1:
        return demand_vector(index, profiles[0], records[0] if records else None)
    bags = [DEMAND.bag(profile) for profile in profiles]
    cosine = sp.csr_matrix(index.vectorizer.transform(bags)) if bags else sp.csr_matrix((0, index.width))
    return _with_characters(index, cosine, records)


def _with_characters(
    index: ProviderIndex, cosine: sp.csr_matrix, records: Sequence[DemandRecord] | None
) -> sp.csr_matrix:
    """The cosine's vectors followed by the character SVM's n-gram vectors (unchanged without the SVM)."""
    if index.characters is None:
        return cosine
    if records is None or len(records) != cosine.shape[0]:
        raise ValueError("the character SVM needs the text fields of every demand (engine.demand_record)")
    grams = index.characters.transform([demand_character_text(record) for record in records])
    return sp.csr_matrix(sp.hstack([cosine, grams], format="csr"), dtype=np.float32)


def demand_vector(
    index: ProviderIndex, profile: Mapping[str, Sequence[str]], record: DemandRecord | None = None
) -> sp.csr_matrix:
    """One demand's vector, equal to ``demand_vectors`` but weighing the cosine's block by ``idf[indices]``.

    The vectorizer multiplies by ``sp.diags(idf)``, which builds a features x features matrix per call
    (about 14 ms for one demand); scaling the few stored counts costs microseconds. ``record`` is needed
    when the index fuses the character SVM.
    """
    return _with_characters(index, _cosine_vector(index, profile), None if record is None else [record])


def demand_rows(
    index: ProviderIndex,
    profiles: Sequence[Mapping[str, Sequence[str]]],
    records: Sequence[DemandRecord] | None = None,
) -> sp.csr_matrix:
    """``demand_vector`` of each demand, stacked: every value bit for bit a single demand's.

    The cosine's block is weighed demand by demand, as ``demand_vector`` weighs it (``demand_vectors``
    sums in another order, so its last bits may differ); the character n-grams are transformed in one
    call, row by row the same arithmetic.
    """
    cosine = sp.vstack([_cosine_vector(index, profile) for profile in profiles], format="csr")
    return _with_characters(index, sp.csr_matrix(cosine), records)


def _cosine_vector(index: ProviderIndex, profile: Mapping[str, Sequence[str]]) -> sp.csr_matrix:
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
    """Dense gate similarities and ranking scores (fused when the index has a classifier) of some rows.

    The gate similarity is the cosine without single-character n-grams (``ProviderIndex.gate``). The
    fusion is ``matcher.ranking.fuse`` without its top-k: per row, cosines and classifier scores are
    standardised over the providers, mixed and mapped into (0, 1); a row without any term scores 0.
    """
    rows = sp.csr_matrix(vectors, dtype=np.float32)
    left = _cosine_columns(index, rows)
    gate_t = index.gate_t if index.gate_t is not None else sp.csr_matrix(index.matrix.T)
    right = index.matrix_t if index.matrix_t is not None else sp.csr_matrix(index.matrix.T)
    gates = np.asarray((left @ gate_t).toarray(), dtype=np.float32)
    cosines = np.asarray((left @ right).toarray(), dtype=np.float32)
    if not index.fused:
        return gates, cosines
    weight = index.classifier_weight
    mixed = (1.0 - weight) * _standardise(cosines) + weight * _standardise(_classifier_scores(index, rows))
    fused = (1.0 / (1.0 + np.exp(-mixed))).astype(np.float32)
    # As in matcher.ranking, a demand without any known term scores nothing, whatever its characters say.
    fused[np.diff(left.indptr) == 0] = 0.0
    return gates, fused


def _cosine_columns(index: ProviderIndex, vectors: sp.csr_matrix) -> sp.csr_matrix:
    """The cosine's columns of demand vectors (without the character SVM's n-grams)."""
    return vectors if vectors.shape[1] == index.width else sp.csr_matrix(vectors[:, : index.width])


def _classifier_scores(index: ProviderIndex, vectors: sp.csr_matrix) -> Float32Array:
    """Raw classifier scores (rows x providers): the SVM reads the n-gram columns, ridge the cosine's."""
    assert index.coef_t is not None
    assert index.intercept is not None
    features = vectors[:, index.width :] if index.characters is not None else _cosine_columns(index, vectors)
    return np.asarray(features @ index.coef_t, dtype=np.float32) + index.intercept


def gate_of_pairs(demands: sp.csr_matrix, index: ProviderIndex, rows: IntArray, cols: IntArray) -> FloatArray:
    """The gate similarity (cosine without single characters) of each (demand row, provider row) pair."""
    gate = index.gate if index.gate is not None else index.matrix
    products = _cosine_columns(index, sp.csr_matrix(demands)[rows]).multiply(gate[cols])
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
