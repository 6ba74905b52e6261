"""Dense similarities over stacked provider chunks, against a direct computation."""

import numpy as np
import pytest

from features.encoder import NullEncoder
from matcher.dense import (
    FEW_ROWS,
    ProviderChunks,
    dense_similarities,
    encode_demands,
    products,
    source_hash,
    stack_chunks,
    vector_from_bytes,
)
from matcher.errors import MatcherError


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("seed", range(5))
def test_max_and_mean_over_chunks_equal_a_direct_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    dim, n_providers = 8, 6
    owners = rng.integers(0, n_providers, size=20)
    owners[owners == 3] = 4  # provider 3 has no chunk
    vectors = _unit(rng, len(owners), dim)
    per_provider = [
        [(f"c{i}", vectors[i].astype("<f4").tobytes()) for i in np.flatnonzero(owners == p)]
        for p in range(n_providers)
    ]
    chunks = stack_chunks(per_provider, dim)
    queries = _unit(rng, 4, dim)
    best, closest = dense_similarities(queries, chunks, "max")
    mean, _ = dense_similarities(queries, chunks, "mean")
    for q in range(4):
        for p in range(n_providers):
            mine = [i for i, o in enumerate(chunks.owner) if o == p]
            if not mine:
                assert np.isnan(best[q, p])
                assert np.isnan(mean[q, p])
                assert closest[q, p] == -1
                continue
            sims = chunks.vectors[mine] @ queries[q]
            assert best[q, p] == pytest.approx(sims.max(), abs=1e-6)
            assert mean[q, p] == pytest.approx(sims.mean(), abs=1e-6)
            assert closest[q, p] == mine[int(np.argmax(sims))]
            assert chunks.texts[closest[q, p]] in {t for t, _ in per_provider[p]}
    assert chunks.covered.tolist() == [p != 3 and bool((owners == p).any()) for p in range(n_providers)]


def test_bad_inputs_are_refused_precisely() -> None:
    with pytest.raises(MatcherError, match="expected 16"):
        vector_from_bytes(b"\x00" * 12, 4)
    with pytest.raises(MatcherError, match="expected 16"):
        stack_chunks([[("a", b"\x00" * 8)]], 4)
    chunks = stack_chunks([[("a", np.ones(4, "<f4").tobytes())]], 4)
    with pytest.raises(MatcherError, match="dimension 3"):
        dense_similarities(np.ones((1, 3), np.float32), chunks)
    with pytest.raises(MatcherError, match="aggregation"):
        dense_similarities(np.ones((1, 4), np.float32), chunks, "median")  # type: ignore[arg-type]


def test_source_hash_changes_with_any_text_and_with_the_split() -> None:
    assert source_hash(["ab", "c"]) != source_hash(["a", "bc"])
    assert source_hash(["ab"]) == source_hash(["ab"])
    assert source_hash(["ab"]) != source_hash(["ab "])


def test_no_encoding_without_an_encoder() -> None:
    from features.encoder import EncoderUnavailableError

    with pytest.raises(EncoderUnavailableError):
        encode_demands(NullEncoder(), [("标题", "说明", [])])
    assert encode_demands(NullEncoder(), []) == []


def test_one_demand_scores_as_in_a_batch_whichever_product_runs() -> None:
    # One row goes through einsum, a batch through BLAS: the same similarities and closest chunks.
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(600, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owner = rng.integers(0, 90, size=600).astype(np.int64)
    chunks = ProviderChunks(vectors, owner, [str(i) for i in range(600)], 100)  # 10 providers without
    queries = rng.normal(size=(FEW_ROWS + 20, 16)).astype(np.float32)
    batch, batch_closest = dense_similarities(queries, chunks)
    for row in range(queries.shape[0]):
        alone, closest = dense_similarities(queries[row : row + 1], chunks)
        np.testing.assert_allclose(alone[0], batch[row], rtol=0, atol=1e-6)
        assert np.array_equal(closest[0], batch_closest[row])
    np.testing.assert_allclose(products(queries[:2], vectors), queries[:2] @ vectors.T, atol=1e-6)
