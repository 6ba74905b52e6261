"""Exact top-k candidates against a dense brute force, centroids and nearest-document ranking."""

import numpy as np
import pytest
import scipy.sparse as sp

from matcher.candidates import centroids, rank_one, top_k, top_k_dense, top_k_nearest_documents
from matcher.errors import MatcherError, ShapeMismatchError


def random_unit_rows(rows: int, columns: int, density: float, seed: int) -> sp.csr_matrix:
    matrix = sp.random(rows, columns, density=density, random_state=seed, format="csr", dtype=np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale) @ matrix, dtype=np.float32)


def brute_top_k(scores: np.ndarray, k: int) -> list[set[int]]:
    """Column sets of the k best positive scores per row (inputs are tie-free random floats)."""
    return [set(np.argsort(-row)[: min(k, int((row > 0).sum()))]) for row in scores]


@pytest.mark.parametrize(("k", "block_rows", "n_threads"), [(5, 7, 1), (5, 1000, 2), (50, 13, 2), (1, 3, 1)])
def test_top_k_matches_brute_force(k: int, block_rows: int, n_threads: int) -> None:
    demands, providers = random_unit_rows(60, 300, 0.05, 1), random_unit_rows(40, 300, 0.2, 2)
    dense = (demands @ providers.T).toarray()
    result = top_k(demands, providers, k, block_rows=block_rows, n_threads=n_threads)
    assert result.shape == (60, 40)
    assert result.dtype == np.float32
    assert [set(row.indices) for row in result] == brute_top_k(dense, k)
    rows, columns = result.nonzero()
    np.testing.assert_allclose(result[rows, columns].A1, dense[rows, columns], rtol=1e-5)
    assert (result.data > 0).all()


def test_top_k_sums_in_float32_in_entry_order_and_breaks_ties_by_column() -> None:
    demands, providers = random_unit_rows(30, 80, 0.2, 6), random_unit_rows(25, 80, 0.3, 7)
    # Providers 3 and 20 are one vector: every demand scores them alike, and the lower column wins a
    # place at the cut.
    providers = sp.csr_matrix(sp.vstack([providers[:20], providers[3], providers[21:]]), dtype=np.float32)
    right = sp.csr_matrix(providers.T, dtype=np.float32)
    expected = np.zeros((30, 25), np.float32)
    for i in range(30):  # the kernel's order: the demand's entries, then each feature's providers
        for p in range(demands.indptr[i], demands.indptr[i + 1]):
            f, v = demands.indices[p], demands.data[p]
            for q in range(right.indptr[f], right.indptr[f + 1]):
                expected[i, right.indices[q]] += np.float32(v * right.data[q])
    for k, threads in ((1, 1), (4, 2), (25, 2)):
        result = top_k(demands, right, k, transposed=True, n_threads=threads, block_rows=4)
        for i in range(30):
            order = sorted(np.flatnonzero(expected[i] > 0), key=lambda c, i=i: (-expected[i, c], c))[:k]
            assert list(result[i].indices) == sorted(order)
            assert np.array_equal(result[i].data, expected[i, sorted(order)])  # bit for bit
    assert (expected[:, 3] == expected[:, 20]).all()


def test_top_k_keeps_only_scores_above_the_threshold() -> None:
    demands, providers = random_unit_rows(20, 50, 0.3, 8), random_unit_rows(30, 50, 0.3, 9)
    dense = (demands @ providers.T).toarray()
    cut = float(np.median(dense[dense > 0]))
    result = top_k(demands, providers, 30, threshold=cut)
    assert result.nnz == int((dense > np.float32(cut)).sum())
    assert (result.data > cut).all()
    assert result.has_sorted_indices


def test_top_k_of_empty_and_zero_inputs() -> None:
    providers = random_unit_rows(5, 20, 0.3, 3)
    assert top_k(sp.csr_matrix((0, 20), dtype=np.float32), providers).shape == (0, 5)
    assert top_k(sp.csr_matrix((3, 20), dtype=np.float32), providers).nnz == 0


def test_shape_and_k_errors() -> None:
    with pytest.raises(ShapeMismatchError, match="10 features but provider vectors have 20"):
        top_k(random_unit_rows(2, 10, 0.5, 1), random_unit_rows(2, 20, 0.5, 1))
    with pytest.raises(MatcherError, match="k must be"):
        top_k(random_unit_rows(2, 10, 0.5, 1), random_unit_rows(2, 10, 0.5, 1), 0)


def test_rank_one_orders_by_score_and_agrees_with_top_k() -> None:
    demands, providers = random_unit_rows(10, 200, 0.05, 4), random_unit_rows(30, 200, 0.2, 5)
    batch = top_k(demands, providers, 7)
    for i in range(10):
        indices, scores = rank_one(demands[i], providers, 7)
        assert list(scores) == sorted(scores, reverse=True)
        assert set(indices) == set(batch[i].indices)
    with pytest.raises(ShapeMismatchError, match="one demand row"):
        rank_one(demands[:2], providers)


def test_rank_one_csc_index_gives_the_same_ranking() -> None:
    demands, providers = random_unit_rows(10, 200, 0.05, 4), random_unit_rows(30, 200, 0.2, 5)
    index = providers.tocsc()
    for i in range(10):
        by_row, by_feature = rank_one(demands[i], providers, 7), rank_one(demands[i], index, 7)
        np.testing.assert_array_equal(by_row[0], by_feature[0])
        np.testing.assert_allclose(by_row[1], by_feature[1], rtol=1e-6)


def test_centroid_is_the_normalised_sum_of_documents() -> None:
    documents = random_unit_rows(6, 50, 0.3, 6)
    owner = np.array([0, 0, 2, 2, 2, 0])
    result = centroids(documents, owner, 4).toarray()
    expected = documents[[0, 1, 5]].toarray().sum(axis=0)
    np.testing.assert_allclose(result[0], expected / np.linalg.norm(expected), rtol=1e-5)
    assert not result[1].any()
    assert not result[3].any()
    with pytest.raises(ShapeMismatchError, match="owner"):
        centroids(documents, owner[:3], 4)
    with pytest.raises(ShapeMismatchError, match="owner values"):
        centroids(documents, owner + 3, 4)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_nearest_documents_matches_brute_force(m: int) -> None:
    demands, documents = random_unit_rows(25, 120, 0.08, 7), random_unit_rows(40, 120, 0.15, 8)
    owner = np.random.default_rng(9).integers(0, 9, size=40)
    doc_scores = (demands @ documents.T).toarray()
    expected = np.zeros((25, 10))
    for provider in range(9):
        own = -np.sort(-doc_scores[:, owner == provider], axis=1)[:, :m]
        expected[:, provider] = np.pad(own, ((0, 0), (0, m - own.shape[1]))).mean(axis=1)
    result = top_k_nearest_documents(demands, documents, owner, 10, 4, m=m)
    assert [set(row.indices) for row in result] == brute_top_k(expected, 4)
    rows, columns = result.nonzero()
    np.testing.assert_allclose(result[rows, columns].A1, expected[rows, columns], rtol=1e-5)


def test_top_k_dense_keeps_the_best_positive_scores() -> None:
    scores = np.array([[0.1, 0.5, 0.0, 0.3], [0.0, 0.0, 0.0, 0.0], [0.9, 0.2, 0.4, 0.7]])
    result = top_k_dense(scores, 2)
    assert [sorted(row.indices) for row in result] == [[1, 3], [], [0, 3]]
    assert result.dtype == np.float32
    with pytest.raises(MatcherError, match="k must be at least 1"):
        top_k_dense(scores, 0)
    with pytest.raises(ShapeMismatchError, match="2-d"):
        top_k_dense(scores[0], 1)
