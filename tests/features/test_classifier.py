"""One-vs-rest ridge provider scores: own documents rank their provider first; bad inputs refused."""

import numpy as np
import pytest
import scipy.sparse as sp

from features.classifier import ProviderClassifier


def documents() -> tuple[sp.csr_matrix, np.ndarray]:
    """Six documents of three providers; each provider owns two features, feature 6 is shared."""
    rows = [[0, 6], [1, 6], [2, 6], [3, 6], [4, 6], [5, 6]]
    dense = np.zeros((6, 7), dtype=np.float32)
    for row, columns in enumerate(rows):
        dense[row, columns] = 1.0
    return sp.csr_matrix(dense), np.array([0, 0, 1, 1, 2, 2])


def test_each_document_scores_its_own_provider_highest() -> None:
    vectors, owner = documents()
    scores = ProviderClassifier(alpha=0.5).fit(vectors, owner, 3).decision_function(vectors)
    assert scores.shape == (6, 3)
    assert scores.dtype == np.float32
    assert list(scores.argmax(axis=1)) == list(owner)


def test_shared_feature_alone_does_not_pick_a_provider() -> None:
    vectors, owner = documents()
    shared = sp.csr_matrix(np.eye(7, dtype=np.float32)[[6]])
    scores = ProviderClassifier().fit(vectors, owner, 3).decision_function(shared)
    np.testing.assert_allclose(scores[0], scores[0, 0], atol=1e-4)


def test_provider_without_documents_scores_below_the_others() -> None:
    vectors, owner = documents()
    model = ProviderClassifier(alpha=0.5).fit(vectors, owner, 4)
    scores = model.decision_function(vectors)
    assert (scores[:, 3] < scores.max(axis=1)).all()
    assert model.n_bytes == model.coef_.nbytes + model.intercept_.nbytes


@pytest.mark.parametrize(
    ("owner", "n_providers", "alpha", "message"),
    [
        ([0, 0, 1], 3, 1.0, "one owner per document"),
        ([0, 0, 1, 1, 2, 3], 3, 1.0, r"owner values must lie in \[0, 3\)"),
        ([0, 0, 1, 1, 2, 2], 3, 0.0, "alpha must be positive"),
    ],
)
def test_bad_inputs_are_refused(owner: list[int], n_providers: int, alpha: float, message: str) -> None:
    vectors, _ = documents()
    with pytest.raises(ValueError, match=message):
        ProviderClassifier(alpha=alpha).fit(vectors, owner, n_providers)
