"""Why a provider suits a demand: the shared terms that carry the pair's score, the provider's sentence
closest to the demand, and the demand's sentence that best matches it.

A term's contribution is its part of the pair's cosine: the demand's weight times the provider's, both
after idf, in the space the ranking scores. A term is named when its contribution is at least
``MIN_TERM_SHARE`` of the whole cosine (words and character n-grams): a word that both texts merely
mention (中心, 稳定) adds a sliver and is not named, whatever the word; one that carries the score is.
Word columns the index marks as not worth naming (``ProviderIndex.informative``: words used by many of
the providers, and ``matcher.index.GENERIC_TERMS``) never are. A pair without a word to name names the
character pairs that carry its cosine instead, so that every listed pair has a reason.

The provider's closest sentence is its encoded chunk nearest the demand's sentence vector (a reason
even when the two share no word). The demand's matching sentence is the one of its title and
description that shares most weighted terms with that chunk (or, without one, most of the pair's
named terms); the pages highlight both sentences and the named terms in both texts.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from features.profiles import DEMAND
from features.tokenize import normalize
from matcher.dense import DenseComponent
from matcher.index import DemandVectors, ProviderIndex
from matcher.types import DemandInput

__all__ = [
    "MIN_TERM_SHARE",
    "REASONS_PER_PAIR",
    "PairReason",
    "closest_sentences",
    "demand_sentences",
    "explain",
    "explain_pairs",
    "reasons",
    "split_phrases",
]

REASONS_PER_PAIR = 5
# A term adding less than this share of the pair's cosine is mentioned, not a reason (on the demo
# demands' top-10 lists, 5 % leaves the words that carry a pair and drops 中心-like passers-by).
MIN_TERM_SHARE = 0.05
# The demand fields staff read as its text (the page shows the title, then the description).
SENTENCE_FIELDS = ("title", "description")
# A sentence longer than this is cut at commas into phrases of about this length: the highlight then
# shows the clause that matches, not a paragraph.
PHRASE_CHARS = 60
_SENTENCE_END = re.compile(r"[^。！？；!?;\n]+")
_CLAUSE = re.compile(r"[^，,、：:]+[，,、：:]?")
_WORDLIKE = re.compile(r"\w")


@dataclass(frozen=True)
class PairReason:
    """Why one pair: its named terms, the provider's closest sentence and the demand's matching one.

    Attributes
    ----------
    terms : list of dict
        ``{"term", "weight", "field"}``, the largest contribution first (``reasons``).
    provider_sentence : str or None
        The provider's chunk closest to the demand (None without a dense part).
    demand_sentence : str or None
        A sentence or phrase of the demand's title or description, verbatim, that best matches the
        provider's sentence (or holds most named terms); None when none shares anything.
    """

    terms: list[dict[str, Any]]
    provider_sentence: str | None
    demand_sentence: str | None

    @property
    def text(self) -> str:
        """The reason as one Chinese sentence (``explain``)."""
        return explain(self.terms, self.provider_sentence, self.demand_sentence)


def explain_pairs(
    index: ProviderIndex,
    vectors: DemandVectors,
    demands: Sequence[DemandInput],
    rows: npt.ArrayLike,
    cols: npt.ArrayLike,
    top: int = REASONS_PER_PAIR,
) -> list[PairReason]:
    """Every reason of each pair: named terms, the provider's closest sentence, the demand's sentence.

    Parameters
    ----------
    index : ProviderIndex
    vectors : DemandVectors
        Vectors of ``demands``.
    demands : sequence of DemandInput
        The demands (stored terms name the field of a term; texts give the demand's sentences).
    rows, cols : array-like of int
        Pairs (demand row, provider column).
    top : int
        Terms named per pair at most.

    Returns
    -------
    list of PairReason
        One per pair, in order.
    """
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    terms = reasons(index, vectors, [demand.tokens for demand in demands], rows, cols, top)
    provider = closest_sentences(index, vectors, rows, cols)
    demand = demand_sentences(index, vectors, demands, rows, provider, terms)
    return [PairReason(*parts) for parts in zip(terms, provider, demand, strict=True)]


def reasons(
    index: ProviderIndex,
    vectors: DemandVectors,
    tokens: Sequence[Mapping[str, Sequence[str]]],
    rows: npt.ArrayLike,
    cols: npt.ArrayLike,
    top: int = REASONS_PER_PAIR,
) -> list[list[dict[str, Any]]]:
    """Per pair, the shared terms that carry its score, with their contribution and demand field.

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
        ``{"term", "weight", "field"}`` per named term (``weight``: its part of the pair's cosine),
        the largest first; only terms giving at least ``MIN_TERM_SHARE`` of the cosine. A pair without
        such a word names the character pairs that carry it (field "" unless a field holds one as a
        term).
    """
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    if rows.size == 0:
        return []
    pair, col, weight = _term_contributions(index, sp.csr_matrix(vectors.cosine)[rows], cols)
    names = _feature_names(index)[0]
    return _named(pair, col, weight, rows.size, names, [tokens[int(row)] for row in rows], top)


def _term_contributions(
    index: ProviderIndex, left: sp.csr_matrix, cols: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """(pair, column, contribution) of every term of pair ``p`` (demand row ``p`` of ``left``,
    provider ``cols[p]``) whose part of the pair's cosine is at least ``MIN_TERM_SHARE``: nameable
    words, and for a pair without one, the character pairs the two texts share (a literal fragment
    is then the reason the pair is listed).

    Every shared column (words and character n-grams) is looked up, to know the whole cosine; the
    provider's weights are found by key in the index's sorted entries, one search for all pairs (no
    per-pair sparse products).
    """
    pair = np.repeat(np.arange(left.shape[0]), np.diff(left.indptr))
    col = left.indices.astype(np.int64)
    held_keys, held = index.entry_keys
    wanted = cols[pair] * np.int64(index.matrix.shape[1]) + col
    at = np.minimum(np.searchsorted(held_keys, wanted), max(held_keys.size - 1, 0))
    found = held_keys[at] == wanted if held_keys.size else np.zeros(wanted.size, bool)
    pair, col = pair[found], col[found]
    contribution = np.asarray(left.data[found], np.float32) * held[at[found]]
    cosine = np.bincount(pair, weights=contribution, minlength=left.shape[0])
    carries = (contribution >= MIN_TERM_SHARE * cosine[pair]) & (contribution > 0)
    word = col < index.n_words
    named = carries & word
    named[named] = index.informative[col[named]]
    worded = np.bincount(pair[named], minlength=left.shape[0]) > 0
    fragment = carries & ~word & ~worded[pair]
    fragment[fragment] = _feature_names(index)[1][col[fragment]]
    kept = named | fragment
    return pair[kept], col[kept], contribution[kept]


_NAMES: weakref.WeakKeyDictionary[ProviderIndex, tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]]
_NAMES = weakref.WeakKeyDictionary()


def _feature_names(index: ProviderIndex) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Every column's term as staff read it (character n-grams without their ``#``) and which
    columns are character pairs worth naming (not a word the index does not name); made once per
    index."""
    if index not in _NAMES:
        names = index.vectorizer.feature_names()
        plain = np.array([n[1:] if n.startswith("#") else n for n in names], dtype=object)
        unnamed = {str(n) for n, ok in zip(index.word_names, index.informative, strict=True) if not ok}
        pairs = np.fromiter(
            (n.startswith("#") and len(n) == 3 and n[1:] not in unnamed for n in names), bool, names.size
        )
        _NAMES[index] = (plain, pairs)
    return _NAMES[index]


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


def explain(
    reasons_of_pair: Sequence[Mapping[str, Any]],
    sentence: str | None = None,
    demand_sentence: str | None = None,
) -> str:
    """One Chinese sentence naming the shared terms, their demand fields and the closest sentences.

    Parameters
    ----------
    reasons_of_pair : sequence of mapping
        One pair's reasons (``reasons``).
    sentence : str, optional
        The provider's closest sentence (``closest_sentences``).
    demand_sentence : str, optional
        The demand's matching sentence (``demand_sentences``).

    Returns
    -------
    str
    """
    closest = f"；最接近的表述：服务方“{sentence}”" if sentence else ""
    if demand_sentence:
        closest += (
            f"，对应需求中的“{demand_sentence}”" if sentence else f"；需求中相关的表述：“{demand_sentence}”"
        )
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


@dataclass(frozen=True)
class _Phrase:
    """One sentence or phrase of a demand, verbatim, with the demand's weights (after idf) of the
    nameable words and of the character pairs it holds."""

    text: str
    words: dict[str, float]
    grams: dict[str, float]


def demand_sentences(
    index: ProviderIndex,
    vectors: DemandVectors,
    demands: Sequence[DemandInput],
    rows: npt.ArrayLike,
    provider_sentences: Sequence[str | None],
    terms: Sequence[Sequence[Mapping[str, Any]]],
) -> list[str | None]:
    """Per pair, the demand's sentence or phrase (verbatim) that best matches the provider's.

    The demand has one sentence vector, not one per sentence, so the match is in the sparse space:
    each phrase of the demand's title and description is weighed by the demand's weights (after idf)
    of its nameable words that the provider's sentence holds or the pair names, plus those of its
    character pairs the provider's sentence holds. The heaviest phrase is the match.

    Parameters
    ----------
    index : ProviderIndex
    vectors : DemandVectors
        Vectors of ``demands``.
    demands : sequence of DemandInput
        The demands (``texts`` give the title and description).
    rows : array-like of int
        The demand row of each pair.
    provider_sentences : sequence of str or None
        Per pair, the provider's closest sentence (``closest_sentences``).
    terms : sequence of sequence of mapping
        Per pair, its named terms (``reasons``).

    Returns
    -------
    list of str or None
        None when no phrase shares a weighted word or character pair with the provider's sentence
        and holds no named term.
    """
    cosine = sp.csr_matrix(vectors.cosine)
    phrases: dict[int, list[_Phrase]] = {}
    targets = _normalized([sentence or "" for sentence in provider_sentences])
    out: list[str | None] = []
    for row, target, named in zip(np.asarray(rows, np.int64).tolist(), targets, terms, strict=True):
        if row not in phrases:
            phrases[row] = _phrases_of(index, cosine, row, demands[row].texts)
        out.append(_best_phrase(phrases[row], target, {str(r["term"]) for r in named}))
    return out


def _normalized(texts: Sequence[str]) -> list[str]:
    """``features.tokenize.normalize`` of each text, in one call when the texts have no line break
    (the conversion's fixed cost is paid once per list, not once per sentence)."""
    if not texts:
        return []
    if not any("\n" in text for text in texts):
        joined = normalize("\n".join(texts)).split("\n")
        if len(joined) == len(texts):
            return joined
    return [normalize(text) for text in texts]


def split_phrases(text: str) -> list[str]:
    """A text's sentences, verbatim; a sentence over ``PHRASE_CHARS`` cut at commas into phrases of
    about that length. Every piece is a substring of ``text``; pieces without a word are dropped.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of str
    """
    out: list[str] = []
    for sentence in _SENTENCE_END.finditer(text):
        if sentence.end() - sentence.start() <= PHRASE_CHARS:
            out.append(sentence.group())
            continue
        start = end = sentence.start()
        for clause in _CLAUSE.finditer(text, sentence.start(), sentence.end()):
            if end > start and clause.end() - start > PHRASE_CHARS:
                out.append(text[start:end])
                start = clause.start()
            end = clause.end()
        out.append(text[start:end])
    trimmed = (piece.strip().rstrip("，,、：:").strip() for piece in out)
    return [piece for piece in trimmed if _WORDLIKE.search(piece)]


def _phrases_of(
    index: ProviderIndex, cosine: sp.csr_matrix, row: int, texts: Mapping[str, str | None]
) -> list[_Phrase]:
    """The phrases of one demand with the weights of the nameable words and character pairs each holds."""
    start, stop = int(cosine.indptr[row]), int(cosine.indptr[row + 1])
    weight = dict(zip(cosine.indices[start:stop].tolist(), cosine.data[start:stop].tolist(), strict=True))
    words = {
        str(index.word_names[c]): w for c, w in weight.items() if c < index.n_words and index.informative[c]
    }
    grams, offset = index.vectorizer.char_vocabulary_ or {}, index.n_words
    pieces = [text for field in SENTENCE_FIELDS for text in split_phrases(texts.get(field) or "")]
    out = []
    for text, plain in zip(pieces, _normalized(pieces), strict=True):
        held = {g: weight.get(offset + grams[g], 0.0) for g in _bigrams(plain) if g in grams}
        out.append(_Phrase(text, {t: w for t, w in words.items() if t in plain}, held))
    return out


def _bigrams(text: str) -> set[str]:
    """Adjacent character pairs of a text's word characters (punctuation and spaces break pairs)."""
    return {a + b for a, b in pairwise(text) if a.isalnum() and b.isalnum()}


def _best_phrase(phrases: Sequence[_Phrase], target: str, named: set[str]) -> str | None:
    """The heaviest phrase in what it shares with the provider's sentence (normalised; "" for none)
    and the named terms. A phrase's character pairs are word characters, so finding one in the target
    is finding it among the target's pairs."""
    weights = [
        sum(w for t, w in p.words.items() if t in named or t in target)
        + sum(w for g, w in p.grams.items() if g in target or g in named)
        for p in phrases
    ]
    if not weights or max(weights) <= 0:
        return None
    return phrases[weights.index(max(weights))].text
