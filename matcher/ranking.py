"""Rank a corpus: provider documents and demand texts to a demands x providers score matrix.

One pipeline for the service and for ``huiqi evaluate``: texts are tokenized field by field
(``tokenize_corpus``; the service stores these tokens at intake), weighted bags are vectorized, and
providers are scored by one of three aggregations of their documents, optionally fused with a
discriminative model learned from the providers' documents (``RankingConfig.classifier_weight``): by
default a linear SVM on character n-grams of the normalised texts (``features.characters``, texts kept
by ``character_texts``), or a ridge model on the word and character vectors of the cosine. (The
service's provider index, ``api.matching.engine``, fuses the same character SVM.)

Fused scores are not cosines: per demand, the cosine scores and the classifier scores are each
standardised over the providers (z-scores), mixed, and mapped into (0, 1) by the logistic function, so
they stay positive and keep the order of the mix. A demand without any known term scores nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from features.characters import character_text, demand_text, fit_providers
from features.classifier import ProviderClassifier
from features.profiles import DEMAND, PROVIDER, TokenizedProfile
from features.tokenize import Tokenizer
from features.vectorize import TfidfVectorizer
from matcher.candidates import centroids, top_k, top_k_dense, top_k_nearest_documents
from matcher.errors import MatcherError
from matcher.evaluate import Metrics, gold_ranks, metrics_from_ranks

__all__ = [
    "CharacterTexts",
    "LabelledDemand",
    "ProviderDocument",
    "RankingConfig",
    "TokenizedProvider",
    "character_texts",
    "config_for_scale",
    "evaluate",
    "fuse",
    "rank",
    "score_tokens",
    "tokenize_corpus",
]

FloatArray = npt.NDArray[np.float32]
Bag = dict[str, float]
# Dense demand x provider blocks of the fused ranking hold at most this many scores.
_FUSED_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True)
class ProviderDocument:
    """One document of one provider (an abstract, an expert's paper, a branch's scope)."""

    provider_id: str
    name: str
    text: str


@dataclass(frozen=True)
class LabelledDemand:
    """A demand with the ids of its correct providers (``gold``; empty when unlabelled)."""

    demand_id: str
    title: str
    description: str
    gold: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TokenizedProvider:
    """A provider's name terms and the terms of each of its documents, as stored at intake."""

    name: list[str]
    documents: list[list[str]]


@dataclass(frozen=True)
class CharacterTexts:
    """Normalised texts for the character model: each provider's documents, and each demand's text."""

    providers: list[list[str]]
    demands: list[str]


@dataclass(frozen=True)
class RankingConfig:
    """How texts become scores; the defaults were chosen on the csl-dev tuning split.

    Parameters
    ----------
    use_domain_dictionary : bool
        Segment with the domain dictionary.
    char_weight : float
        Share of the cosine given to character n-grams of the words (0: words only).
    char_ngram_range : tuple of int
        Smallest and largest character n-gram.
    sublinear_tf : bool
        ``log(1 + count)`` term frequencies.
    aggregation : {"profile", "centroid", "nearest"}
        ``profile`` joins a provider's documents into one bag of terms; ``centroid`` averages its
        document vectors; ``nearest`` scores the mean of its ``nearest_m`` best documents.
    idf_corpus : {"providers", "all"}
        Learn the idf from the provider profiles (terms every provider uses weigh little) or from every
        document and demand.
    nearest_m : int
        Documents averaged by the ``nearest`` aggregation.
    title_only : bool
        Use only the demand's title (an ablation).
    classifier : {"character_svm", "ridge"}
        The discriminative model fused with the cosine: a linear SVM per provider on character
        1-2-grams of the normalised texts (``features.characters``; needs ``CharacterTexts``), or a
        one-vs-rest ridge model per provider on the cosine's word and character vectors
        (``features.classifier``).
    classifier_weight : float
        Share, in [0, 1], of that model in the fused ranking; 0 ranks by cosine alone. Either model
        needs the providers' documents as examples and dense coefficients (providers x features): for
        up to a few thousand providers.
    classifier_alpha : float
        L2 penalty of the ridge model.
    svm_c : float
        Inverse L2 penalty of the character SVM.
    n_jobs : int
        Processes for tokenizing large batches.
    max_df : float
        Leave out terms (and character n-grams) found in more than this share of the provider profiles
        (1.0 keeps all). They weigh little but dominate the cost of the candidate product.
    """

    use_domain_dictionary: bool = True
    char_weight: float = 0.5
    char_ngram_range: tuple[int, int] = (1, 2)
    sublinear_tf: bool = True
    aggregation: Literal["profile", "centroid", "nearest"] = "profile"
    idf_corpus: Literal["providers", "all"] = "providers"
    nearest_m: int = 10
    title_only: bool = False
    classifier: Literal["character_svm", "ridge"] = "character_svm"
    classifier_weight: float = 0.5
    classifier_alpha: float = 3.0
    svm_c: float = 0.3
    n_jobs: int = 2
    max_df: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.classifier_weight <= 1.0:
            raise MatcherError(f"classifier_weight must be in [0, 1], got {self.classifier_weight}")
        if self.aggregation not in ("profile", "centroid", "nearest"):
            raise MatcherError(f"unknown aggregation {self.aggregation!r}")
        if self.idf_corpus not in ("providers", "all"):
            raise MatcherError(f"unknown idf_corpus {self.idf_corpus!r}")
        if self.classifier not in ("character_svm", "ridge"):
            raise MatcherError(f"unknown classifier {self.classifier!r}")


# Above this many providers the classifiers' dense coefficients (providers x features) and the dense
# fused blocks cost too much memory, and character unigrams too much time (see ``config_for_scale``).
LARGE_SCALE_PROVIDERS = 1_000


def config_for_scale(n_providers: int, base: RankingConfig | None = None) -> RankingConfig:
    """The ranking to use against ``n_providers`` providers.

    Up to ``LARGE_SCALE_PROVIDERS`` the chosen ranking (``base``, by default ``RankingConfig()``). Above,
    the cosine alone (no classifier) over words and character bigrams: character unigrams appear in
    most providers, and the candidate product costs, summed over features, demand postings x provider
    postings, so at 100,000 x 20,000 they made it 4.4 times dearer. On the csl-dev tuning split this
    cosine scores acc@1 0.591 against 0.595 with unigrams (benchmarks/README.md). The character SVM
    of 1,000 providers already holds 756 MB of coefficients, takes 80-88 CPU-seconds to fit on 5,867
    documents and peaks at 3.2 GiB during the fit.

    Parameters
    ----------
    n_providers : int
        Number of providers ranked.
    base : RankingConfig, optional
        The small-scale ranking whose other choices are kept.

    Returns
    -------
    RankingConfig
    """
    chosen = base or RankingConfig()
    if n_providers <= LARGE_SCALE_PROVIDERS:
        return chosen
    return replace(chosen, classifier_weight=0.0, char_ngram_range=(2, 2))


def tokenize_corpus(
    documents: Sequence[ProviderDocument], demands: Sequence[LabelledDemand], config: RankingConfig
) -> tuple[list[str], list[TokenizedProvider], list[dict[str, list[str]]]]:
    """Tokenize provider documents and demands once, field by field.

    Parameters
    ----------
    documents : sequence of ProviderDocument
        Several documents per provider allowed; providers keep the order of their first document.
    demands : sequence of LabelledDemand
        The demands.
    config : RankingConfig
        Tokenizer choices (``use_domain_dictionary``, ``title_only``, ``n_jobs``).

    Returns
    -------
    provider_ids : list of str
        Provider ids in column order.
    providers : list of TokenizedProvider
        Their name terms and document terms.
    demand_profiles : list of dict
        ``{"title": terms, "description": terms}`` per demand (no description when ``title_only``).
    """
    tokenizer = Tokenizer(use_domain_dictionary=config.use_domain_dictionary)
    texts = [d.text for d in documents] + [d.title for d in demands]
    texts += [] if config.title_only else [d.description for d in demands]
    tokens = tokenizer.tokenize_many(texts, n_jobs=config.n_jobs)
    provider_ids = list(dict.fromkeys(d.provider_id for d in documents))
    names = {d.provider_id: d.name for d in documents}
    providers = {pid: TokenizedProvider(tokenizer(names[pid]), []) for pid in provider_ids}
    for document, terms in zip(documents, tokens, strict=False):
        providers[document.provider_id].documents.append(terms)
    n_docs, n_demands = len(documents), len(demands)
    titles = tokens[n_docs : n_docs + n_demands]
    profiles = [{"title": t} for t in titles]
    if not config.title_only:
        for profile, description in zip(profiles, tokens[n_docs + n_demands :], strict=True):
            profile["description"] = description
    return provider_ids, list(providers.values()), profiles


def character_texts(
    documents: Sequence[ProviderDocument], demands: Sequence[LabelledDemand], config: RankingConfig
) -> CharacterTexts:
    """Normalise the texts the character model reads, once (the service keeps them beside the tokens).

    Parameters
    ----------
    documents : sequence of ProviderDocument
        Provider documents; providers in the order of their first document, as ``tokenize_corpus``.
    demands : sequence of LabelledDemand
        The demands.
    config : RankingConfig
        ``title_only`` leaves out the description.

    Returns
    -------
    CharacterTexts
        Each provider's normalised documents, and per demand its title twice (the title's field weight
        in ``features.profiles.DEMAND``) then its description, one per line.
    """
    grouped: dict[str, list[str]] = {}
    for document in documents:
        grouped.setdefault(document.provider_id, []).append(character_text(document.text))
    texts = [_demand_character_text(d, config.title_only) for d in demands]
    return CharacterTexts(list(grouped.values()), texts)


def _demand_character_text(demand: LabelledDemand, title_only: bool) -> str:
    return demand_text(demand.title, None if title_only else demand.description)


def _document_bags(
    providers: Sequence[TokenizedProvider], with_name: bool = True
) -> tuple[list[Bag], npt.NDArray[np.int64]]:
    """One bag per document (with the provider's name, or without), and each document's provider."""
    bags: list[Bag] = []
    owner: list[int] = []
    for column, provider in enumerate(providers):
        for document in provider.documents or [[]]:
            fields = {"name": provider.name, "text": document} if with_name else {"text": document}
            bags.append(PROVIDER.bag(fields))
            owner.append(column)
    return bags, np.asarray(owner, dtype=np.int64)


def _sum_bags(bags: Sequence[Mapping[str, float]], owner: npt.NDArray[np.int64], n: int) -> list[Bag]:
    summed: list[Bag] = [{} for _ in range(n)]
    for bag, row in zip(bags, owner, strict=True):
        target = summed[row]
        for term, weight in bag.items():
            target[term] = target.get(term, 0.0) + weight
    return summed


def _demand_bags(demands: Sequence[TokenizedProfile], title_only: bool) -> list[Bag]:
    fields = [{"title": p.get("title", [])} if title_only else p for p in demands]
    return [DEMAND.bag(profile) for profile in fields]


def score_tokens(
    providers: Sequence[TokenizedProvider],
    demands: Sequence[TokenizedProfile],
    config: RankingConfig,
    k: int | None = None,
    texts: CharacterTexts | None = None,
) -> sp.csr_matrix:
    """Score every demand against every provider from stored tokens; keep the ``k`` best per demand.

    Parameters
    ----------
    providers : sequence of TokenizedProvider
        Column order of the result; a provider without documents is scored by its name alone.
    demands : sequence of mapping of str to sequence of str
        Field name -> terms of each demand (fields of ``features.profiles.DEMAND``).
    config : RankingConfig
        The ranking.
    k : int, optional
        Providers kept per demand; all of them by default.
    texts : CharacterTexts, optional
        Normalised texts of the same providers and demands (``character_texts``); required when the
        ranking fuses the character SVM (``classifier="character_svm"``, ``classifier_weight > 0``).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_demands, n_providers), float32
        Positive scores (cosines, or fused scores in (0, 1) when ``classifier_weight > 0``).
    """
    n = len(providers)
    if n == 0:
        raise MatcherError("cannot rank against zero providers")
    keep = n if k is None else k
    doc_bags, owner = _document_bags(providers)
    profile_bags = _sum_bags(doc_bags, owner, n)
    demand_bags = _demand_bags(demands, config.title_only)
    vectorizer = TfidfVectorizer(
        char_weight=config.char_weight,
        char_ngram_range=config.char_ngram_range,
        sublinear_tf=config.sublinear_tf,
        max_df=config.max_df,
    )
    vectorizer.fit(profile_bags if config.idf_corpus == "providers" else doc_bags + demand_bags)
    queries = vectorizer.transform(demand_bags)
    doc_vectors = vectorizer.transform(doc_bags) if config.aggregation != "profile" else None
    scorer = _classifier_scores(providers, vectorizer, queries, config, texts)
    if scorer is None:
        return _cosine_top_k(queries, vectorizer, profile_bags, doc_vectors, owner, config, keep)
    cosines = _cosine_top_k(queries, vectorizer, profile_bags, doc_vectors, owner, config, n)
    return _fuse_blocks(cosines, np.diff(queries.indptr) == 0, scorer, config.classifier_weight, keep)


BlockScores = Callable[[int, int], FloatArray]
"""Classifier scores of the demands ``start:stop`` against every provider."""


def _classifier_scores(
    providers: Sequence[TokenizedProvider],
    vectorizer: TfidfVectorizer,
    queries: sp.csr_matrix,
    config: RankingConfig,
    texts: CharacterTexts | None,
) -> BlockScores | None:
    """The fitted classifier of ``config`` as block scores; None when the ranking is the cosine alone."""
    if config.classifier_weight == 0:
        return None
    if config.classifier == "ridge":
        return _ridge_scores(providers, vectorizer, queries, config)
    if texts is None or len(texts.providers) != len(providers) or len(texts.demands) != queries.shape[0]:
        raise MatcherError(
            "the character SVM needs the normalised texts of the same providers and demands "
            "(matcher.ranking.character_texts)"
        )
    return _character_scores(texts, config)


def _ridge_scores(
    providers: Sequence[TokenizedProvider],
    vectorizer: TfidfVectorizer,
    queries: sp.csr_matrix,
    config: RankingConfig,
) -> BlockScores:
    # The name is the same in all of a provider's documents: as a feature it would only be memorised.
    examples, example_owner = _document_bags(providers, with_name=False)
    classifier = ProviderClassifier(alpha=config.classifier_alpha)
    classifier.fit(vectorizer.transform(examples), example_owner, len(providers))
    return lambda start, stop: classifier.decision_function(queries[start:stop])


def _character_scores(texts: CharacterTexts, config: RankingConfig) -> BlockScores | None:
    """The character SVM's block scores; None (cosine alone) unless two providers have documents."""
    model = fit_providers(texts.providers, c=config.svm_c)
    if model is None:
        return None
    return lambda start, stop: model.decision_function(texts.demands[start:stop])


def _cosine_top_k(
    queries: sp.csr_matrix,
    vectorizer: TfidfVectorizer,
    profile_bags: Sequence[Bag],
    doc_vectors: sp.csr_matrix | None,
    owner: npt.NDArray[np.int64],
    config: RankingConfig,
    k: int,
) -> sp.csr_matrix:
    n = len(profile_bags)
    if config.aggregation == "profile":
        return top_k(queries, vectorizer.transform(profile_bags), k)
    assert doc_vectors is not None
    if config.aggregation == "nearest":
        return top_k_nearest_documents(queries, doc_vectors, owner, n, k, m=config.nearest_m)
    return top_k(queries, centroids(doc_vectors, owner, n), k)


def _standardise(scores: FloatArray) -> FloatArray:
    """Per row, (score - mean) / std over the providers; a constant row becomes zeros."""
    centred = scores - scores.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    standardised: FloatArray = np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)
    return standardised


def fuse(
    cosines: sp.spmatrix,
    queries: sp.spmatrix,
    classifier: ProviderClassifier,
    classifier_weight: float,
    k: int,
) -> sp.csr_matrix:
    """Mix per-demand standardised cosine and ridge scores; keep the ``k`` best per demand.

    Parameters
    ----------
    cosines : sparse matrix, shape (n_demands, n_providers)
        Cosine scores of every provider (absent entries count 0).
    queries : sparse matrix, shape (n_demands, n_features)
        Demand vectors, in the feature space the classifier was fitted in.
    classifier : ProviderClassifier
        Fitted on the providers' document vectors.
    classifier_weight : float
        Share of the classifier in the mix, in [0, 1].
    k : int
        Providers kept per demand.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_demands, n_providers), float32
        ``logistic((1 - w) z(cosine) + w z(classifier))``; rows of demands without a known term are
        empty.
    """
    rows = sp.csr_matrix(queries)
    empty = np.diff(rows.indptr) == 0
    return _fuse_blocks(
        cosines,
        empty,
        lambda start, stop: classifier.decision_function(rows[start:stop]),
        classifier_weight,
        k,
    )


def _fuse_blocks(
    cosines: sp.spmatrix, empty: npt.NDArray[np.bool_], scores: BlockScores, weight: float, k: int
) -> sp.csr_matrix:
    """``fuse`` over blocks of demands, with classifier scores from ``scores(start, stop)``."""
    matrix = sp.csr_matrix(cosines)
    chunk = max(1, _FUSED_BLOCK_CELLS // max(matrix.shape[1], 1))
    blocks = []
    for start in range(0, matrix.shape[0], chunk):
        stop = min(start + chunk, matrix.shape[0])
        mixed = (1.0 - weight) * _standardise(matrix[start:stop].toarray())
        mixed += weight * _standardise(scores(start, stop))
        fused = (1.0 / (1.0 + np.exp(-mixed))).astype(np.float32)
        fused[empty[start:stop]] = 0.0
        blocks.append(top_k_dense(fused, k))
    if not blocks:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    return sp.csr_matrix(sp.vstack(blocks, format="csr"), dtype=np.float32)


def rank(
    documents: Sequence[ProviderDocument], demands: Sequence[LabelledDemand], config: RankingConfig
) -> tuple[sp.csr_matrix, list[str]]:
    """Scores demands x providers (every provider ranked), and the provider ids in column order.

    Parameters
    ----------
    documents : sequence of ProviderDocument
        Provider documents, several per provider allowed.
    demands : sequence of LabelledDemand
        The demands (``gold`` is not used).
    config : RankingConfig
        The ranking.

    Returns
    -------
    scores : scipy.sparse.csr_matrix, shape (n_demands, n_providers)
    provider_ids : list of str
    """
    provider_ids, providers, profiles = tokenize_corpus(documents, demands, config)
    texts = character_texts(documents, demands, config) if _needs_texts(config) else None
    return score_tokens(providers, profiles, config, texts=texts), provider_ids


def _needs_texts(config: RankingConfig) -> bool:
    return config.classifier == "character_svm" and config.classifier_weight > 0


def evaluate(
    documents: Sequence[ProviderDocument], demands: Sequence[LabelledDemand], config: RankingConfig
) -> Metrics:
    """Rank every demand against every provider and measure where its gold providers land.

    Parameters
    ----------
    documents : sequence of ProviderDocument
        Provider documents.
    demands : sequence of LabelledDemand
        Labelled demands; every gold id must name a provider of ``documents``.
    config : RankingConfig
        The ranking.

    Returns
    -------
    Metrics
        acc@1, hit@5, MRR and macro acc@1 with 95 % bootstrap intervals.
    """
    scores, provider_ids = rank(documents, demands, config)
    column = {pid: i for i, pid in enumerate(provider_ids)}
    unknown = sorted({g for d in demands for g in d.gold} - column.keys())
    if unknown:
        raise MatcherError(f"gold provider id(s) without documents: {', '.join(unknown)}")
    gold = [frozenset(column[g] for g in d.gold) for d in demands]
    groups = [min(g) if g else 0 for g in gold]
    return metrics_from_ranks(gold_ranks(scores, gold), groups)
