"""Weighted bags of terms to L2-normalised TF-IDF vectors: words, plus character n-grams of the words.

The vectorizer takes bags (term -> weighted count, see ``features.profiles``), not raw text, so texts are
tokenized once at intake and every round vectorizes the stored tokens. The word block and the
character block are each TF-IDF weighted and L2-normalised, then joined with weights
``sqrt(1 - char_weight)`` and ``sqrt(char_weight)``: the cosine of two vectors is
``(1 - char_weight) * word cosine + char_weight * character cosine``, and every vector has norm 1.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

import joblib
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from features.tokenize import STOPWORDS, USERDICT

Bag = Mapping[str, float]
FORMAT_VERSION = 1
_RE_CJK_TERM = re.compile("^[\u4e00-\u9fd5]+$")


class VectorizerVersionError(RuntimeError):
    """A persisted vectorizer was made by another format or with other dictionaries: refit it."""


def data_signature() -> str:
    """Digest of the dictionaries the stored tokens depend on (a change means re-tokenize and refit)."""
    digest = hashlib.sha256(USERDICT.read_bytes() + b"\0" + STOPWORDS.read_bytes())
    return f"{FORMAT_VERSION}:{digest.hexdigest()[:16]}"


@lru_cache(maxsize=1 << 18)
def char_ngrams(term: str, low: int, high: int) -> tuple[str, ...]:
    """Character n-grams (``low`` to ``high``) inside a Chinese term; other terms have none.

    Parameters
    ----------
    term : str
        One term.
    low, high : int
        Smallest and largest n.

    Returns
    -------
    tuple of str
        The n-grams, in order, repeats kept.
    """
    if not _RE_CJK_TERM.match(term):
        return ()
    return tuple(term[i : i + n] for n in range(low, high + 1) for i in range(len(term) - n + 1))


def _block_counts(
    weights: sp.csr_matrix,
    terms: Sequence[str],
    vocabulary: dict[str, int],
    grow: bool,
    ngrams: tuple[int, int] | None,
) -> sp.csr_matrix:
    """Weighted counts of words (``ngrams`` None) or of their character n-grams, one row per bag.

    The counts are (bags x distinct terms) @ (distinct terms x features): each distinct term is expanded
    into its features once, however many bags hold it, and the sums run in the sparse product. The bags
    x terms matrix (``_term_weights``) is made once and serves both blocks. With ``grow`` the vocabulary
    gains features in order of first appearance (bags in order, terms in bag order, n-grams in term
    order), as a bag-by-bag scan would add them.
    """
    features = _term_features(terms, vocabulary, grow, ngrams)
    return sp.csr_matrix(weights @ features)


def _weights_of(bags: Sequence[Bag]) -> tuple[sp.csr_matrix, list[str]]:
    """Bags x distinct terms, and the distinct terms in column order."""
    terms: dict[str, int] = {}
    weights = _term_weights(bags, terms)
    return weights, list(terms)


def _term_weights(bags: Sequence[Bag], terms: dict[str, int]) -> sp.csr_matrix:
    """Bags x distinct terms (numbered into ``terms`` by first appearance), holding each term's weight."""
    indptr = np.zeros(len(bags) + 1, dtype=np.int64)
    indices: list[int] = []
    values: list[float] = []
    for row, bag in enumerate(bags):
        for term in bag:
            terms.setdefault(term, len(terms))
        indices.extend(map(terms.__getitem__, bag))
        values.extend(bag.values())
        indptr[row + 1] = len(indices)
    data = np.asarray(values, dtype=np.float64)
    return sp.csr_matrix((data, np.asarray(indices, dtype=np.int64), indptr), shape=(len(bags), len(terms)))


def _term_features(
    terms: Sequence[str], vocabulary: dict[str, int], grow: bool, ngrams: tuple[int, int] | None
) -> sp.csr_matrix:
    """Distinct terms x features: how often each feature occurs in each term (repeated n-grams count)."""
    rows: list[int] = []
    columns: list[int] = []
    for row, term in enumerate(terms):
        for feature in (term,) if ngrams is None else char_ngrams(term, *ngrams):
            column = vocabulary.get(feature)
            if column is None:
                if not grow:
                    continue
                column = vocabulary[feature] = len(vocabulary)
            rows.append(row)
            columns.append(column)
    ones = np.ones(len(rows), dtype=np.float64)
    return sp.csr_matrix((ones, (rows, columns)), shape=(len(terms), len(vocabulary)))


def _unit_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm in place (zero rows stay zero): ``sklearn.preprocessing.normalize``
    without its parameter checks, which cost more than the arithmetic when one demand is vectorized."""
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), lengths)
    norms = np.sqrt(np.bincount(rows, weights=matrix.data.astype(np.float64) ** 2, minlength=matrix.shape[0]))
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    matrix.data = matrix.data * scale[rows].astype(matrix.data.dtype)
    return matrix


class TfidfVectorizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """TF-IDF over weighted bags of terms, words and character n-grams (scikit-learn conventions).

    Parameters
    ----------
    char_weight : float
        Share of the cosine given to the character n-gram block, in [0, 1]; 0 uses words only.
    char_ngram_range : tuple of int
        Smallest and largest character n-gram.
    sublinear_tf : bool
        Use ``log(1 + count)`` instead of the count (weighted counts may be below 1).
    min_df : int
        Ignore features found in fewer documents of the fitting corpus.
    max_df : float
        Ignore features found in more than this share of the documents of the fitting corpus, in (0, 1].
        Such features weigh little (low idf) but cost the most in the candidate product: its multiply-adds
        are, summed over features, demand postings x provider postings.
    dtype : numpy dtype
        Dtype of the output (float32 halves the memory of the candidate step).
    """

    def __init__(
        self,
        *,
        char_weight: float = 0.5,
        char_ngram_range: tuple[int, int] = (2, 3),
        sublinear_tf: bool = True,
        min_df: int = 1,
        max_df: float = 1.0,
        dtype: type[np.floating[Any]] = np.float32,
    ) -> None:
        self.char_weight = char_weight
        self.char_ngram_range = char_ngram_range
        self.sublinear_tf = sublinear_tf
        self.min_df = min_df
        self.max_df = max_df
        self.dtype = dtype

    def fit(self, bags: Sequence[Bag], y: object = None) -> Self:
        """Learn the vocabularies and the inverse document frequencies from ``bags``.

        Parameters
        ----------
        bags : sequence of mapping of str to float
            Weighted term counts of every document (demands and providers alike).
        y : ignored

        Returns
        -------
        TfidfVectorizer
            self, fitted.
        """
        if not 0.0 <= self.char_weight <= 1.0:
            raise ValueError(f"char_weight must be in [0, 1], got {self.char_weight}")
        if not bags:
            raise ValueError("cannot fit on an empty corpus")
        if not 0.0 < self.max_df <= 1.0:
            raise ValueError(f"max_df must be in (0, 1], got {self.max_df}")
        self.signature_ = data_signature()
        weights, terms = _weights_of(bags)
        self.word_vocabulary_, self.word_idf_ = self._fit_block(weights, terms, None)
        ngrams = self._ngrams() if self.char_weight > 0 else None
        self.char_vocabulary_, self.char_idf_ = (
            self._fit_block(weights, terms, ngrams) if ngrams else ({}, np.ones(0))
        )
        self.n_features_out_ = len(self.word_vocabulary_) + len(self.char_vocabulary_)
        return self

    def _ngrams(self) -> tuple[int, int]:
        low, high = self.char_ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"char_ngram_range must satisfy 1 <= low <= high, got {self.char_ngram_range}")
        return int(low), int(high)

    def _fit_block(
        self, weights: sp.csr_matrix, terms: Sequence[str], ngrams: tuple[int, int] | None
    ) -> tuple[dict[str, int], npt.NDArray[np.float64]]:
        vocabulary: dict[str, int] = {}
        counts = _block_counts(weights, terms, vocabulary, True, ngrams)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        n_bags = weights.shape[0]
        kept = np.flatnonzero((df >= self.min_df) & (df <= self.max_df * n_bags))
        names = np.empty(len(vocabulary), dtype=object)
        names[list(vocabulary.values())] = list(vocabulary)
        kept_vocabulary = {str(names[i]): position for position, i in enumerate(kept)}
        idf = np.log((1.0 + n_bags) / (1.0 + df[kept])) + 1.0
        return kept_vocabulary, idf

    def transform(self, bags: Sequence[Bag]) -> sp.csr_matrix:
        """Vectorize ``bags``: one L2-normalised row each (an empty bag gives a zero row).

        Parameters
        ----------
        bags : sequence of mapping of str to float
            Weighted term counts.

        Returns
        -------
        scipy.sparse.csr_matrix
            Shape ``(len(bags), n_features_out_)``, dtype ``self.dtype``.
        """
        return self.transform_weights(*_weights_of(bags))

    def transform_weights(self, weights: sp.csr_matrix, terms: Sequence[str]) -> sp.csr_matrix:
        """Vectorize bags given as a bags x distinct terms matrix (``ProfileSpec.weight_matrix``).

        Parameters
        ----------
        weights : scipy.sparse.csr_matrix
            Row per bag, column per distinct term: the term's weighted count.
        terms : sequence of str
            The terms of the columns.

        Returns
        -------
        scipy.sparse.csr_matrix
            As :meth:`transform`.
        """
        check_is_fitted(self, "word_vocabulary_")
        words = self._weigh(_block_counts(weights, terms, self.word_vocabulary_, False, None), self.word_idf_)
        if not self.char_vocabulary_:
            return words.astype(self.dtype)
        ngrams = self._ngrams()
        chars = self._weigh(
            _block_counts(weights, terms, self.char_vocabulary_, False, ngrams), self.char_idf_
        )
        joined = sp.hstack([words * np.sqrt(1.0 - self.char_weight), chars * np.sqrt(self.char_weight)])
        return sp.csr_matrix(_unit_rows(sp.csr_matrix(joined)), dtype=self.dtype)

    def _weigh(self, counts: sp.csr_matrix, idf: npt.NDArray[np.float64]) -> sp.csr_matrix:
        if self.sublinear_tf:
            counts.data = np.log1p(counts.data)
        # Scale the stored counts in place: a product with sp.diags(idf) builds a features x features
        # matrix on every call, which dominates the cost of vectorizing one demand.
        counts.data = counts.data * idf[counts.indices]
        return _unit_rows(counts)

    def feature_names(self) -> npt.NDArray[np.object_]:
        """Feature names in column order: the words, then the character n-grams prefixed with ``#``."""
        check_is_fitted(self, "word_vocabulary_")
        names = np.empty(self.n_features_out_, dtype=object)
        names[list(self.word_vocabulary_.values())] = list(self.word_vocabulary_)
        offset = len(self.word_vocabulary_)
        for gram, index in self.char_vocabulary_.items():
            names[offset + index] = "#" + gram
        return names

    def features_of(self, term: str) -> list[int]:
        """Column indices of ``term``: its word column and its character n-gram columns, if known."""
        check_is_fitted(self, "word_vocabulary_")
        found = [self.word_vocabulary_[term]] if term in self.word_vocabulary_ else []
        offset = len(self.word_vocabulary_)
        if self.char_vocabulary_:
            grams = char_ngrams(term, *self.char_ngram_range)
            found += [
                offset + self.char_vocabulary_[g] for g in dict.fromkeys(grams) if g in self.char_vocabulary_
            ]
        return found

    def save(self, path: Path) -> None:
        """Persist the fitted vectorizer with its format version and dictionary signature."""
        check_is_fitted(self, "word_vocabulary_")
        joblib.dump({"signature": self.signature_, "vectorizer": self}, path)

    @classmethod
    def load(cls, path: Path) -> TfidfVectorizer:
        """Load a vectorizer saved by ``save``; raise VectorizerVersionError if it is stale.

        Parameters
        ----------
        path : pathlib.Path
            File written by ``save``.

        Returns
        -------
        TfidfVectorizer
            The fitted vectorizer.
        """
        payload = joblib.load(path)
        if not isinstance(payload, dict) or not isinstance(payload.get("vectorizer"), cls):
            raise VectorizerVersionError(f"{path} does not hold a saved {cls.__name__}")
        if payload.get("signature") != data_signature():
            raise VectorizerVersionError(
                f"{path} was fitted with format/dictionaries {payload.get('signature')}, "
                f"this build has {data_signature()}: refit"
            )
        vectorizer: TfidfVectorizer = payload["vectorizer"]
        return vectorizer
