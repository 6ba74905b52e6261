"""Provider scores from character n-grams of the whole text: a linear SVM per provider.

The word tokens lose what the segmenter and the stopword list drop: single characters outside
``features.tokenize.SIGNAL_CHARS`` (肝, 肺, 病 ...) and every character pair that straddles two words
(纳米|材料 gives 米材). Character 1-2-grams of the normalised text keep both, without a dictionary. On
those n-grams a one-vs-rest linear SVM (squared hinge, classes weighted inversely to their number of
documents) learns which n-grams set each provider apart, from the providers' own documents.

The texts are normalised once (``character_text``), as the word tokens are tokenized once at intake.
The coefficients are dense (n-grams x providers, float32, stored as ``weights_``): 67 disciplines x
129,000 n-grams of csl-dev take 35 MB, 1,000 providers about 760 MB, so the model is meant for up to
about a thousand providers (``matcher.ranking.config_for_scale``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer as SklearnTfidf
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from features.tokenize import normalize

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
# Score of a provider without documents: no SVM was learned for it, so it ranks below every learned one.
_UNLEARNED_SCORE = -1.0


def character_text(text: str) -> str:
    """The text the character model reads: NFKC, pinyin ruby removed, simplified, lower-cased.

    Parameters
    ----------
    text : str
        Raw text of one field.

    Returns
    -------
    str
        The normalised text (``features.tokenize.normalize``).
    """
    return normalize(text)


def demand_text(title: str, description: str | None, extra: Sequence[str] = ()) -> str:
    """The text the character model reads of a demand, one normalised field per line.

    The title comes twice (its field weight in ``features.profiles.DEMAND``), then the description
    (left out when None), then any ``extra`` fields.

    Parameters
    ----------
    title : str
        Raw title.
    description : str or None
        Raw description; None leaves its line out (a title-only ablation).
    extra : sequence of str
        Further raw fields, in order.

    Returns
    -------
    str
    """
    normal_title = character_text(title)
    lines = [normal_title, normal_title]
    lines += [character_text(text) for text in ([] if description is None else [description]) + list(extra)]
    return "\n".join(lines)


def fit_providers(texts: Sequence[Sequence[str]], *, c: float, min_df: int = 1) -> CharacterSvm | None:
    """The SVM fitted on each provider's normalised documents; None unless two providers have some.

    Parameters
    ----------
    texts : sequence of sequence of str
        Each provider's normalised documents (``character_text``), in provider column order.
    c : float
        Inverse L2 penalty.
    min_df : int
        See ``CharacterSvm``.

    Returns
    -------
    CharacterSvm or None
        None: too few providers with documents to learn anything that sets one apart.
    """
    owner = np.fromiter((p for p, documents in enumerate(texts) for _ in documents), dtype=np.int64)
    if np.unique(owner).size < 2:
        return None
    documents = [text for own in texts for text in own]
    return CharacterSvm(c=c, min_df=min_df).fit(documents, owner, len(texts))


class CharacterSvm(BaseEstimator):  # type: ignore[misc]
    """One-vs-rest linear SVM per provider on TF-IDF character n-grams (scikit-learn conventions).

    Parameters
    ----------
    c : float
        Inverse L2 penalty of the SVM (chosen on the csl-dev tuning split: 0.3).
    ngram_range : tuple of int
        Smallest and largest character n-gram.
    min_df : int
        Keep only n-grams found in at least this many providers' documents (1 keeps all): fewer
        coefficients for levels too large to hold them all.
    """

    def __init__(self, *, c: float = 0.3, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1) -> None:
        self.c = c
        self.ngram_range = ngram_range
        self.min_df = min_df

    def fit(self, documents: Sequence[str], owner: npt.ArrayLike, n_providers: int) -> Self:
        """Learn the n-gram idf from the providers' joined documents and one SVM per provider.

        Parameters
        ----------
        documents : sequence of str
            Normalised document texts (``character_text``).
        owner : array-like of int, shape (n_documents,)
            Provider column of each document, in ``[0, n_providers)``; at least two providers must
            have documents.
        n_providers : int
            Number of providers; one without documents scores a constant below every learned score.

        Returns
        -------
        CharacterSvm
            self, fitted.
        """
        owners = self._check(documents, owner, n_providers)
        joined = [
            "\n".join(documents[int(i)] for i in np.flatnonzero(owners == p)) for p in range(n_providers)
        ]
        # The idf comes from the provider profiles, as for the word cosine: an n-gram every provider
        # uses weighs little however often it appears.
        self.vectorizer_ = SklearnTfidf(
            analyzer="char",
            ngram_range=tuple(self.ngram_range),
            sublinear_tf=True,
            dtype=np.float32,
            min_df=self.min_df,
        ).fit(joined)
        model = LinearSVC(C=self.c, class_weight="balanced")
        with warnings.catch_warnings():
            # One document per provider is a normal profile (a society's scope), not a labelling mistake.
            warnings.filterwarnings("ignore", message="The number of unique classes", category=UserWarning)
            model.fit(self.vectorizer_.transform(documents), owners)
        coef, self.intercept_ = self._full_coefficients(model, n_providers)
        # Features x providers in C order: a sparse row times it reads each used n-gram's weights in one
        # run (the transpose of providers x features would be copied whole at every call).
        self.weights_: FloatArray = np.ascontiguousarray(coef.T)
        return self

    def _check(self, documents: Sequence[str], owner: npt.ArrayLike, n_providers: int) -> IntArray:
        owners = np.asarray(owner, dtype=np.int64)
        if owners.shape != (len(documents),):
            raise ValueError(f"need one owner per document, got {owners.shape} for {len(documents)}")
        if owners.size and (owners.min() < 0 or owners.max() >= n_providers):
            raise ValueError(f"owner values must lie in [0, {n_providers})")
        if np.unique(owners).size < 2:
            raise ValueError("the character model needs documents of at least two providers")
        if not self.c > 0:
            raise ValueError(f"c must be positive, got {self.c}")
        return owners

    @staticmethod
    def _full_coefficients(model: LinearSVC, n_providers: int) -> tuple[FloatArray, FloatArray]:
        """One row per provider: learned classes in place, the rest zero with a low intercept."""
        learned = np.asarray(model.classes_, dtype=np.int64)
        coef, intercept = np.asarray(model.coef_), np.asarray(model.intercept_)
        if learned.size == 2:  # liblinear keeps one hyperplane for two classes: its sides are the two
            coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
        full = np.zeros((n_providers, coef.shape[1]), dtype=np.float32)
        bias = np.full(n_providers, _UNLEARNED_SCORE, dtype=np.float32)
        full[learned], bias[learned] = coef, intercept
        return full, bias

    def decision_function(self, texts: Sequence[str]) -> FloatArray:
        """Scores of each text against every provider (higher is more likely its provider).

        Parameters
        ----------
        texts : sequence of str
            Normalised texts (``character_text``).

        Returns
        -------
        ndarray of float32, shape (len(texts), n_providers)
        """
        check_is_fitted(self, "weights_")
        vectors = self.vectorizer_.transform(list(texts))
        return np.asarray(vectors @ self.weights_ + self.intercept_, dtype=np.float32)

    @property
    def n_bytes(self) -> int:
        """Memory of the fitted coefficients."""
        check_is_fitted(self, "weights_")
        return int(self.weights_.nbytes + self.intercept_.nbytes)
