"""The provider index and the one ranking path: demand vectors, score components, fusion, top-k.

Every score a person sees comes from here: a match list, a round's candidates and affinities, the
diagnosis of a round and ``huiqi evaluate`` all call :func:`top_candidates` / :func:`pair_scores` on a
:class:`ProviderIndex`, so they rank identically.

The ranking is a list of score components fused in one place (:func:`fuse`):

* the **cosine** of TF-IDF vectors (``features.vectorize``) over words and character n-grams of the
  words, read from the terms stored at intake; a provider is one bag of terms (its name plus all its
  documents), the idf is learned from the provider profiles;
* any number of further components (:class:`ScoreComponent`): today a linear SVM per provider on
  character n-grams of the normalised texts (:class:`CharacterComponent`, ``features.characters``)
  and the sentence encoder (``matcher.dense.DenseComponent``);
* staff decisions (``matcher.feedback.FeedbackComponent``, :func:`with_feedback`): not a share of the
  mix but an amount added to it, so a provider accepted for similar demands moves up and one rejected
  moves down, in match lists, rounds and evaluation alike.

With the cosine alone, a score is the cosine. With further components, per demand each component's
scores are standardised over the providers (z-scores), mixed with their weights (the cosine takes the
rest of 1) and mapped into (0, 1) by the logistic function. A demand without any known term scores
nothing. A provider is a candidate of a demand only if they share a term or a character n-gram of two
characters or more (the *gate*: one shared character, 子 in 量子 and 高分子, is no reason to propose a
provider), or the demand has a sentence vector and the provider encoded chunks (its closest sentence
is then the reason), and its score reaches the threshold asked for; the threshold applies to the score
shown.

Above ``RankingConfig.max_classifier_providers`` providers the ranking is the cosine alone over words
and character bigrams (:meth:`RankingConfig.for_scale`): candidates then come from one compiled sparse
top-k product (``matcher.candidates.top_k``, both cores), never from a dense block.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from features.profiles import DEMAND, PROVIDER
from matcher.candidates import top_k, top_k_dense
from matcher.dense import DenseComponent, dense_component
from matcher.errors import MatcherError, SolveCancelled
from matcher.feedback import FeedbackComponent
from matcher.texts import demand_character_text, tokenizer
from matcher.types import DemandInput, ProviderInput

if TYPE_CHECKING:  # scikit-learn loads in about a second: only fitting an index needs it (imported there)
    from sklearn.feature_extraction.text import TfidfVectorizer as CharacterVectorizer

    from features.vectorize import TfidfVectorizer

__all__ = [
    "CharacterComponent",
    "DemandVectors",
    "ProviderIndex",
    "RankingConfig",
    "ScoreComponent",
    "demand_vectors",
    "fit_index",
    "fuse",
    "pair_scores",
    "ranked",
    "restrict",
    "score_block",
    "top_candidates",
    "with_feedback",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
# Dense demand x provider score blocks hold at most this many cells.
BLOCK_CELLS = 1 << 22
# A candidate below this score is no candidate (scores are positive; float rounding aside).
_POSITIVE = 1e-12
# Up to this many demands (a match list, a page of them) one scipy product and a dense top-k beat the
# threaded top-k product, whose set-up dominates a single row.
SMALL_BATCH = 64


@dataclass(frozen=True)
class RankingConfig:
    """How texts become scores; the defaults were chosen on the csl-dev tuning split.

    Parameters
    ----------
    char_weight : float
        Share of the cosine given to character n-grams of the words (0: words only).
    char_ngram_range : tuple of int
        Smallest and largest character n-gram of the cosine.
    sublinear_tf : bool
        ``log(1 + count)`` term frequencies.
    classifier_weight : float
        Share, in [0, 1], of the character SVM in the fused ranking; 0 ranks by the cosine alone.
    svm_c : float
        Inverse L2 penalty of the character SVM.
    max_classifier_providers : int
        Above this many providers the ranking is the cosine alone over words and character bigrams
        (``for_scale``): the SVM's dense coefficients (providers x n-grams) and the dense fused blocks
        cost too much, and character unigrams make the candidate product 4.4 times dearer.
    max_coefficients : int
        The SVM holds at most this many coefficients (providers x n-grams): every n-gram while they
        fit, else the n-grams of at least two providers, else the cosine alone (``character_min_df``).
    dense_weight : float
        Share, in [0, 1), of the sentence-encoder similarity (``matcher.dense.DenseComponent``) when
        the providers carry encoded chunks; the sparse scores (cosine and character SVM, in their own
        proportions) share the rest. 0.5 was chosen on the tuning sets (demo demands, csl-dev tuning
        split; benchmarks/README.md, "Sentence encoder").
    max_dense_providers : int
        Above this many providers the dense part is left out: its scores are dense blocks
        (demands x providers) and its product grows with every chunk.
    calibration : tuple of float
        ``(slope, intercept)``: a fused score is ``logistic(slope * mix + intercept)``, the share of
        pairs with that mix that are right (gold) on the tuning sets, so ``100 x`` the score is the
        匹配度 staff read (benchmarks/calibration.py; top-1 pairs: demo 71 predicted / 67 % right, csl-dev
        56 / 65 %).
    """

    char_weight: float = 0.5
    char_ngram_range: tuple[int, int] = (1, 2)
    sublinear_tf: bool = True
    classifier_weight: float = 0.5
    svm_c: float = 0.3
    max_classifier_providers: int = 600
    max_coefficients: int = 60_000_000
    dense_weight: float = 0.7
    max_dense_providers: int = 5_000
    calibration: tuple[float, float] = (2.3065, -7.0265)

    def __post_init__(self) -> None:
        if not 0.0 <= self.dense_weight < 1.0:
            raise MatcherError(f"dense_weight must be in [0, 1), got {self.dense_weight}")
        if not 0.0 <= self.classifier_weight <= 1.0:
            raise MatcherError(f"classifier_weight must be in [0, 1], got {self.classifier_weight}")
        if not 0.0 <= self.char_weight <= 1.0:
            raise MatcherError(f"char_weight must be in [0, 1], got {self.char_weight}")
        if not self.svm_c > 0:
            raise MatcherError(f"svm_c must be positive, got {self.svm_c}")

    def for_scale(self, n_providers: int) -> RankingConfig:
        """The ranking to use against ``n_providers`` providers.

        Parameters
        ----------
        n_providers : int
            Number of providers ranked.

        Returns
        -------
        RankingConfig
            ``self`` up to ``max_classifier_providers``; above, the cosine alone over words and
            character bigrams (csl-dev tuning split: acc@1 0.591 against 0.595 with unigrams).
        """
        if n_providers <= self.max_classifier_providers:
            return self
        return replace(self, classifier_weight=0.0, char_ngram_range=(2, 2))


class ScoreComponent(Protocol):
    """A score of demands against the index's providers, fused with the cosine by :func:`fuse`.

    ``encode`` turns demands into row-sliceable features (a sparse matrix or an array), ``scores``
    turns a block of those rows into a dense rows x providers block (any scale: fusion standardises
    it), and ``restrict`` keeps some providers only.
    """

    @property
    def name(self) -> str:
        """Short name (shown in timings and notes)."""
        ...

    @property
    def weight(self) -> float:
        """Share of the fused ranking, in (0, 1]."""
        ...

    def encode(self, demands: Sequence[DemandInput]) -> Any:
        """Features of each demand, one row each."""
        ...

    def scores(self, features: Any) -> Float32Array:
        """Scores of a block of feature rows against every provider."""
        ...

    def restrict(self, rows: IntArray) -> ScoreComponent:
        """The component over the providers ``rows`` only."""
        ...


@dataclass(frozen=True, eq=False)
class CharacterComponent:
    """A linear SVM per provider on character 1-2-grams of the normalised texts (``features.characters``).

    Attributes
    ----------
    vectorizer : sklearn TfidfVectorizer
        The n-gram vectorizer the SVM was fitted with.
    coef_t : ndarray of float32, shape (n_features, n_providers)
        Coefficients, features x providers in C order: a sparse row times it reads each used n-gram's
        weights in one run.
    intercept : ndarray of float32, shape (n_providers,)
    weight : float
        Share of the fused ranking.
    """

    vectorizer: CharacterVectorizer
    coef_t: Float32Array
    intercept: Float32Array
    weight: float
    name: str = "character_svm"

    def encode(self, demands: Sequence[DemandInput]) -> sp.csr_matrix:
        """N-gram vectors of each demand's normalised text (``matcher.texts.demand_character_text``)."""
        texts = [demand_character_text(demand.texts) for demand in demands]
        return sp.csr_matrix(self.vectorizer.transform(texts), dtype=np.float32)

    def scores(self, features: Any) -> Float32Array:
        """Decision values of each row against every provider."""
        return np.asarray(features @ self.coef_t, dtype=np.float32) + self.intercept

    def restrict(self, rows: IntArray) -> CharacterComponent:
        """The SVMs of the providers ``rows`` only."""
        return replace(
            self, coef_t=np.ascontiguousarray(self.coef_t[:, rows]), intercept=self.intercept[rows]
        )


@dataclass(frozen=True, eq=False)
class ProviderIndex:
    """Provider vectors with the vectorizer and the score components that rank demands against them.

    Attributes
    ----------
    ids : ndarray of int64
        Provider ids in column order.
    names : list of str
    capacity : ndarray of int64
        Default capacity of each provider.
    config : RankingConfig
        The ranking actually used (after ``for_scale``).
    vectorizer : features.vectorize.TfidfVectorizer
    matrix : scipy.sparse.csr_matrix, shape (n_providers, n_features)
        L2-normalised provider vectors.
    matrix_t : scipy.sparse.csr_matrix
        Its transpose (features x providers): a demand row times it is one sparse product.
    gate_t : scipy.sparse.csr_matrix or None
        The transposed vectors without single-character n-grams (the candidacy gate); None when the
        cosine has none (the gate is then the cosine itself).
    components : tuple of ScoreComponent
        Components fused with the cosine; empty: the cosine alone.
    informative : ndarray of bool
        Word columns worth naming as reasons (``matcher.reasons``).
    word_names : ndarray of str
        The word columns' terms.
    position : dict of int to int
        Provider id -> column.
    """

    ids: IntArray
    names: list[str]
    capacity: IntArray
    config: RankingConfig
    vectorizer: TfidfVectorizer
    matrix: sp.csr_matrix
    matrix_t: sp.csr_matrix
    gate_t: sp.csr_matrix | None
    components: tuple[ScoreComponent, ...]
    informative: npt.NDArray[np.bool_]
    word_names: npt.NDArray[np.object_]
    position: dict[int, int] = field(default_factory=dict)

    @property
    def n_providers(self) -> int:
        """Number of providers (columns of every score)."""
        return int(self.ids.size)

    @property
    def n_words(self) -> int:
        """Number of word features (the leading columns of every vector)."""
        return len(self.vectorizer.word_vocabulary_)

    @cached_property
    def entry_keys(self) -> tuple[npt.NDArray[np.int64], Float32Array]:
        """``matrix``'s stored entries as ascending keys ``row * n_columns + column`` and their weights,
        built once per index: reasons look a provider's term weights up by key for all pairs at once."""
        matrix = self.matrix if self.matrix.has_sorted_indices else self.matrix.sorted_indices()
        width = np.int64(matrix.shape[1])
        keys = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr)) * width
        keys += matrix.indices  # ascending: rows in order, columns sorted within a row
        return keys, np.asarray(matrix.data, np.float32)

    @property
    def fused(self) -> bool:
        """Whether scores fuse the cosine with further components."""
        return bool(self.components)

    @property
    def fused_components(self) -> tuple[str, ...]:
        """Names of the components fused with the cosine."""
        return tuple(component.name for component in self.components)


@dataclass(frozen=True, eq=False)
class DemandVectors:
    """Demands in the index's feature spaces: the cosine's vectors and each component's features.

    Attributes
    ----------
    cosine : scipy.sparse.csr_matrix, shape (n_demands, n_features)
        L2-normalised TF-IDF vectors.
    extra : tuple
        One row-sliceable block per component of the index, in its order.
    """

    cosine: sp.csr_matrix
    extra: tuple[Any, ...] = ()

    @property
    def n(self) -> int:
        """Number of demands."""
        return int(self.cosine.shape[0])

    def rows(self, selection: slice | IntArray) -> DemandVectors:
        """The vectors of some demands (a slice or an array of rows)."""
        return DemandVectors(self.cosine[selection], tuple(block[selection] for block in self.extra))


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------


def fit_index(
    providers: Sequence[ProviderInput], config: RankingConfig | None = None, *, n_jobs: int = 1
) -> ProviderIndex:
    """Fit the vectorizer on the providers' profiles, vectorize them and fit the score components.

    Parameters
    ----------
    providers : sequence of ProviderInput
        Column order of every score. Documents without stored terms are tokenized here.
    config : RankingConfig, optional
        The ranking (``RankingConfig()`` by default), adjusted to the number of providers
        (:meth:`RankingConfig.for_scale`).
    n_jobs : int
        Processes for tokenizing.

    Returns
    -------
    ProviderIndex
    """
    from features.vectorize import TfidfVectorizer

    chosen = (config or RankingConfig()).for_scale(len(providers))
    profiles = [{"name": name, "text": text} for name, text in _provider_terms(providers, n_jobs)]
    vectorizer = TfidfVectorizer(
        char_weight=chosen.char_weight,
        char_ngram_range=chosen.char_ngram_range,
        sublinear_tf=chosen.sublinear_tf,
    )
    if profiles:  # the profiles x terms matrix is made once, for the fit and for the vectors
        weights, terms = PROVIDER.weight_matrix(profiles)
        matrix = sp.csr_matrix(vectorizer.fit_weights(weights, terms).transform_weights(weights, terms))
    else:
        vectorizer.fit([{"": 1.0}])
        matrix = sp.csr_matrix((0, 1), dtype=np.float32)
    ids = np.array([p.id for p in providers], dtype=np.int64)
    names = vectorizer.feature_names()
    return ProviderIndex(
        ids=ids,
        names=[p.name for p in providers],
        capacity=np.array([p.capacity for p in providers], dtype=np.int64),
        config=chosen,
        vectorizer=vectorizer,
        matrix=matrix,
        matrix_t=sp.csr_matrix(matrix.T),
        gate_t=_gate_t(vectorizer, matrix, names),
        components=_components(providers, chosen),
        informative=_informative(vectorizer, matrix, names),
        word_names=names[: len(vectorizer.word_vocabulary_)],
        position={int(pid): row for row, pid in enumerate(ids)},
    )


def _provider_terms(providers: Sequence[ProviderInput], n_jobs: int) -> list[tuple[list[str], list[str]]]:
    """Name terms and all document terms of each provider (stored terms when present)."""
    missing = [doc for p in providers if p.tokens is None for doc in p.documents]
    terms = tokenizer().tokenize_many(missing + [p.name for p in providers], n_jobs=n_jobs)
    fresh, names = iter(terms[: len(missing)]), terms[len(missing) :]
    out = []
    for provider, name in zip(providers, names, strict=True):
        documents = (
            provider.tokens if provider.tokens is not None else [next(fresh) for _ in provider.documents]
        )
        out.append((name, [term for document in documents for term in document]))
    return out


def _gate_t(
    vectorizer: TfidfVectorizer, matrix: sp.csr_matrix, names: npt.NDArray[np.object_]
) -> sp.csr_matrix | None:
    """Transposed provider vectors without single-character n-grams; None when there are none."""
    if not vectorizer.char_vocabulary_ or vectorizer.char_ngram_range[0] > 1:
        return None
    keep = np.fromiter((not (n.startswith("#") and len(n) == 2) for n in names), np.float32, names.size)
    return sp.csr_matrix((matrix @ sp.diags(keep)).T)


def _components(providers: Sequence[ProviderInput], config: RankingConfig) -> tuple[ScoreComponent, ...]:
    """The components fused with the cosine: the sentence encoder when the providers carry encoded
    chunks, and the character SVM when the level is small enough; the sparse part (cosine and SVM in
    their configured proportions) takes what the encoder leaves."""
    dense = None
    if len(providers) <= config.max_dense_providers:
        dense = dense_component([p.chunks for p in providers], config.dense_weight)
    sparse_share = 1.0 - (dense.weight if dense is not None else 0.0)
    character = _character_component(providers, config, config.classifier_weight * sparse_share)
    return tuple(c for c in (character, dense) if c is not None)


def _character_component(
    providers: Sequence[ProviderInput], config: RankingConfig, weight: float
) -> CharacterComponent | None:
    if weight == 0 or not 2 <= len(providers) <= config.max_classifier_providers:
        return None
    from features.characters import character_text, fit_providers

    texts = [[character_text(document) for document in p.documents] for p in providers]
    min_df = character_min_df(texts, config.max_coefficients)
    model = None if min_df is None else fit_providers(texts, c=config.svm_c, min_df=min_df)
    if model is None:
        return None
    return CharacterComponent(model.vectorizer_, model.weights_, model.intercept_, weight)


def character_min_df(texts: Sequence[Sequence[str]], max_coefficients: int) -> int | None:
    """How many providers an n-gram needs to be kept so that the SVM's coefficients fit the budget.

    1 (every n-gram) while providers x distinct character 1-2-grams stay within ``max_coefficients``;
    else 2 (n-grams of at least two providers: on csl-dev -0.007 acc@1 on the report split) when those
    fit; None when neither fits.

    Parameters
    ----------
    texts : sequence of sequence of str
        Each provider's normalised documents.
    max_coefficients : int
        The budget.

    Returns
    -------
    int or None
        The ``min_df`` of ``CharacterSvm``, or None: rank by the cosine alone.
    """
    providers_of: Counter[str] = Counter()
    for documents in texts:
        grams: set[str] = set()
        for text in documents:
            grams.update(text)
            grams.update(map(str.__add__, text, text[1:]))
        providers_of.update(grams)
    for min_df in (1, 2):
        if len(texts) * sum(count >= min_df for count in providers_of.values()) <= max_coefficients:
            return min_df
    return None


# Words every technology text uses: true shared terms, but they tell staff nothing.
_GENERIC_WORDS = (
    "技术 提高 提升 研究 开发 研发 应用 问题 实现 需要 需求 方法 方案 "
    "工艺 产品 系统 设计 生产 企业 公司 进行 解决 相关 服务 合作 推广 "
    "项目 能力 水平 国内 国际 行业 领域 发展 创新 科技 质量 效率 成本 "
    "降低 改进 优化 关键 主要 现有 目前 要求 支持 提供 建设 管理 达到 "
    "具有 "
)
GENERIC_TERMS = frozenset(_GENERIC_WORDS.split())
# A term found in more than this share of the providers (and in more than COMMON_TERM_MIN_PROVIDERS
# of them) is too common to be a reason.
COMMON_TERM_SHARE = 0.1
COMMON_TERM_MIN_PROVIDERS = 5


def _informative(
    vectorizer: TfidfVectorizer, matrix: sp.csr_matrix, all_names: npt.NDArray[np.object_]
) -> npt.NDArray[np.bool_]:
    """Word columns worth naming: not generic, and not used by too many of the providers."""
    n_words = len(vectorizer.word_vocabulary_)
    words = sp.csr_matrix(matrix[:, :n_words])
    names = all_names[:n_words]
    used_by = np.bincount(words.indices, minlength=n_words)
    limit = max(COMMON_TERM_SHARE * words.shape[0], COMMON_TERM_MIN_PROVIDERS)
    generic = np.fromiter((str(n) in GENERIC_TERMS for n in names), dtype=bool, count=names.size)
    return np.asarray((used_by <= limit) & ~generic, dtype=bool)


def restrict(index: ProviderIndex, provider_ids: Sequence[int]) -> ProviderIndex:
    """The index of some of its providers only (fused scores are standardised over these).

    Parameters
    ----------
    index : ProviderIndex
    provider_ids : sequence of int
        Ids to keep; ids the index does not hold are ignored.

    Returns
    -------
    ProviderIndex
        Columns in the index's order.
    """
    rows = np.array(sorted(index.position[p] for p in set(provider_ids) if p in index.position), np.int64)
    matrix = sp.csr_matrix(index.matrix[rows])
    gate_t = None if index.gate_t is None else sp.csr_matrix(index.gate_t[:, rows])
    return replace(
        index,
        ids=index.ids[rows],
        names=[index.names[r] for r in rows],
        capacity=index.capacity[rows],
        matrix=matrix,
        matrix_t=sp.csr_matrix(matrix.T),
        gate_t=gate_t,
        components=tuple(c.restrict(rows) for c in index.components),
        position={int(index.ids[r]): i for i, r in enumerate(rows)},
    )


# ---------------------------------------------------------------------------------------------
# Demand vectors, scores and fusion
# ---------------------------------------------------------------------------------------------


def demand_vectors(index: ProviderIndex, demands: Sequence[DemandInput]) -> DemandVectors:
    """The demands in the index's feature spaces.

    Parameters
    ----------
    index : ProviderIndex
    demands : sequence of DemandInput
        Stored terms (and texts, read by components that read text).

    Returns
    -------
    DemandVectors
    """
    if demands:
        weights, terms = DEMAND.weight_matrix([demand.tokens for demand in demands])
        cosine = sp.csr_matrix(index.vectorizer.transform_weights(weights, terms), dtype=np.float32)
    else:
        cosine = sp.csr_matrix((0, index.matrix.shape[1]), dtype=np.float32)
    return DemandVectors(cosine, tuple(component.encode(demands) for component in index.components))


def fuse(
    cosines: Float32Array,
    components: Sequence[tuple[float, Float32Array]],
    calibration: tuple[float, float] = (1.0, 0.0),
    offsets: Sequence[Float32Array] = (),
) -> Float32Array:
    """The one place where scores are fused.

    Parameters
    ----------
    cosines : ndarray of float32, shape (n_demands, n_providers)
        The cosine block.
    components : sequence of (weight, scores)
        Further components' blocks of the same shape with their weights (summing to at most 1; the
        cosine takes the rest).
    calibration : tuple of float
        ``(slope, intercept)`` applied to the mix before the logistic (``RankingConfig.calibration``).
    offsets : sequence of ndarray of float32
        Blocks of the same shape added to the mix as they are (staff decisions,
        ``matcher.feedback.FeedbackComponent``); only with further components.

    Returns
    -------
    ndarray of float32
        The cosines themselves without further components; else
        ``logistic(slope * ((1 - sum w) z(cosine) + sum w z(component) + sum offsets) + intercept)``,
        z standardising each row over the providers. Rows of demands without any known term (all
        cosines 0) score 0.
    """
    if not components:
        return cosines
    rest = 1.0 - sum(weight for weight, _ in components)
    mixed = rest * _standardise(cosines) if rest > 0 else np.zeros_like(cosines)
    for weight, scores in components:
        mixed += weight * _standardise(np.asarray(scores, dtype=np.float32))
    for offset in offsets:
        mixed += np.asarray(offset, dtype=np.float32)
    slope, intercept = calibration
    fused: Float32Array = (1.0 / (1.0 + np.exp(-(slope * mixed + intercept)))).astype(np.float32)
    fused[~cosines.any(axis=1)] = 0.0
    return fused


def _standardise(scores: Float32Array) -> Float32Array:
    """Per row, (score - mean) / std over the providers; a constant row becomes zeros."""
    centred = scores - scores.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    out: Float32Array = np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)
    return out


def score_block(index: ProviderIndex, vectors: DemandVectors) -> tuple[Float32Array, Float32Array]:
    """Dense gate similarities and ranking scores of a block of demands against every provider.

    Parameters
    ----------
    index : ProviderIndex
    vectors : DemandVectors
        A block small enough to hold densely (``BLOCK_CELLS`` cells).

    Returns
    -------
    gates, scores : ndarray of float32, shape (n_demands, n_providers)
        The gate (the cosine without single-character n-grams) and the fused score.
    """
    cosines = np.asarray((vectors.cosine @ index.matrix_t).toarray(), dtype=np.float32)
    gates = (
        cosines if index.gate_t is None else np.asarray((vectors.cosine @ index.gate_t).toarray(), np.float32)
    )
    pairs = list(zip(index.components, vectors.extra, strict=True))
    blocks = [(c.weight, c.scores(f)) for c, f in pairs if not isinstance(c, FeedbackComponent)]
    offsets = [c.scores(f) for c, f in pairs if isinstance(c, FeedbackComponent)]
    for component, features in zip(index.components, vectors.extra, strict=True):
        if isinstance(component, DenseComponent):
            # A demand with a sentence vector may be proposed any provider: the closest sentence of the
            # provider's documents is its reason even without a shared word (on the demo demands the
            # word gate cost 1-2 points of hit@5 once the dense part ranks).
            gates = np.where(component.vouched(features)[:, None], np.float32(1.0), gates).astype(np.float32)
    # The calibration was fitted on the ranking with its dense part; without it the mix is another
    # scale, so its scores stay the plain logistic of the mix (and the page says the dense part is off).
    dense = any(isinstance(component, DenseComponent) for component in index.components)
    return gates, fuse(cosines, blocks, index.config.calibration if dense else (1.0, 0.0), offsets)


def with_feedback(index: ProviderIndex, component: FeedbackComponent | None) -> ProviderIndex:
    """The index ranking with staff decisions (``matcher.feedback``), or without any when None.

    Decisions need the demands' sentence vectors, so they join an index with a dense part only;
    without one (a level above ``max_dense_providers``, or not encoded yet) the index is returned
    without them.

    Parameters
    ----------
    index : ProviderIndex
    component : FeedbackComponent or None
        Built over the index's columns (``matcher.feedback.feedback_component``).

    Returns
    -------
    ProviderIndex
    """
    kept = tuple(c for c in index.components if not isinstance(c, FeedbackComponent))
    dense = next((c for c in kept if isinstance(c, DenseComponent)), None)
    if component is None or dense is None or dense.dim != component.dim:
        return index if kept == index.components else replace(index, components=kept)
    if component.outcome.shape[1] != index.n_providers:
        raise MatcherError(
            f"decisions cover {component.outcome.shape[1]} providers, the index {index.n_providers}"
        )
    return replace(index, components=(*kept, component))


def _blocks(index: ProviderIndex, n: int) -> list[tuple[int, int]]:
    """(start, stop) of the dense blocks over ``n`` demands."""
    step = max(1, BLOCK_CELLS // max(index.n_providers, 1))
    return [(start, min(start + step, n)) for start in range(0, n, step)]


def _gated(gates: Float32Array, scores: Float32Array, min_score: float) -> Float32Array:
    keep = (gates > _POSITIVE) & (scores >= max(np.float32(min_score), np.float32(_POSITIVE)))
    return np.where(keep, scores, np.float32(0.0)).astype(np.float32)


def top_candidates(
    index: ProviderIndex,
    vectors: DemandVectors,
    k: int,
    min_score: float = 0.0,
    *,
    should_stop: Callable[[], bool] | None = None,
) -> sp.csr_matrix:
    """Each demand's ``k`` best providers among those that pass the gate and score ``min_score`` or more.

    Parameters
    ----------
    index : ProviderIndex
    vectors : DemandVectors
    k : int
        Providers kept per demand.
    min_score : float
        Threshold on the score (the score a match list shows).
    should_stop : callable, optional
        Asked between blocks; True stops with :class:`matcher.errors.SolveCancelled`.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_demands, n_providers), float32
        At most ``k`` scores per row, all positive. A row holding fewer than ``k`` has no other
        candidate; a full row's smallest score bounds every provider left out.
    """
    if k < 1:
        raise MatcherError(f"k must be at least 1, got {k}")
    n, m = vectors.n, index.n_providers
    if n == 0 or m == 0:
        return sp.csr_matrix((n, m), dtype=np.float32)
    if not index.fused and index.gate_t is None and n > SMALL_BATCH:  # the cosine is the gate: one product
        _check_stop(should_stop)
        found = top_k(vectors.cosine, index.matrix_t, k, threshold=_below(min_score), transposed=True)
        _check_stop(should_stop)
        return found
    parts = []
    for start, stop in _blocks(index, n):
        _check_stop(should_stop)
        gates, scores = score_block(index, vectors.rows(slice(start, stop)))
        parts.append(top_k_dense(_gated(gates, scores, min_score), k))
    return sp.csr_matrix(sp.vstack(parts, format="csr"), dtype=np.float32)


def _below(min_score: float) -> float:
    """The largest float32 under ``min_score`` (the product keeps scores above its threshold), at least
    the smallest positive score."""
    return max(float(np.nextafter(np.float32(min_score), np.float32(0.0))), _POSITIVE)


def _check_stop(should_stop: Callable[[], bool] | None) -> None:
    if should_stop is not None and should_stop():
        raise SolveCancelled("matching was cancelled")


def ranked(scores: sp.csr_matrix) -> list[tuple[IntArray, Float32Array]]:
    """Each row's providers and scores, best first, ties by provider column.

    Parameters
    ----------
    scores : scipy.sparse.csr_matrix
        From :func:`top_candidates`.

    Returns
    -------
    list of (ndarray of int64, ndarray of float32)
    """
    matrix = sp.csr_matrix(scores)
    out = []
    for row in range(matrix.shape[0]):
        start, stop = matrix.indptr[row], matrix.indptr[row + 1]
        cols, values = matrix.indices[start:stop].astype(np.int64), matrix.data[start:stop]
        order = np.lexsort((cols, -values))
        out.append((cols[order], np.asarray(values[order], dtype=np.float32)))
    return out


def pair_scores(index: ProviderIndex, vectors: DemandVectors, rows: IntArray, cols: IntArray) -> FloatArray:
    """The exact score of each (demand row, provider column) pair, gate or not.

    Parameters
    ----------
    index : ProviderIndex
    vectors : DemandVectors
    rows, cols : ndarray of int64
        Pairs.

    Returns
    -------
    ndarray of float64
    """
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    if rows.size == 0:
        return np.zeros(0)
    if not index.fused:
        products = vectors.cosine[rows].multiply(index.matrix[cols])
        return np.asarray(products.sum(axis=1), dtype=np.float64).ravel()
    unique, inverse = np.unique(rows, return_inverse=True)
    out = np.zeros(rows.size)
    for start, stop in _blocks(index, unique.size):
        block = score_block(index, vectors.rows(unique[start:stop]))[1]
        at = np.flatnonzero((inverse >= start) & (inverse < stop))
        out[at] = block[inverse[at] - start, cols[at]]
    return out
