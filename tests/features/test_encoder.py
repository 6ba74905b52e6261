"""The shipped sentence encoder: real vectors of the bundled model, chunking, the null encoder."""

import json
from pathlib import Path

import numpy as np
import pytest

from features.encoder import (
    CHUNK_CHARS,
    E5Encoder,
    Encoder,
    EncoderUnavailableError,
    NullEncoder,
    chunk_text,
    demand_query_text,
    load_encoder,
)

REFERENCE = json.loads((Path(__file__).parent / "data" / "e5_reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def e5() -> E5Encoder:
    return E5Encoder()


def test_the_bundled_model_is_the_one_the_reference_was_made_with(e5: E5Encoder) -> None:
    assert e5.identity.name == REFERENCE["model"]
    assert e5.identity.checksum == REFERENCE["checksum"]
    assert e5.identity.dim == REFERENCE["dim"] == 384
    assert isinstance(e5, Encoder)


def test_vectors_match_the_stored_values(e5: E5Encoder) -> None:
    for kind in ("query", "passage"):
        cases = [v for v in REFERENCE["vectors"] if v["kind"] == kind]
        encode = e5.queries if kind == "query" else e5.passages
        vectors = encode([c["text"] for c in cases])
        assert vectors.dtype == np.float32
        assert vectors.shape == (len(cases), 384)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        for case, vector in zip(cases, vectors, strict=True):
            np.testing.assert_allclose(vector[:8], case["head"], atol=2e-4)


def test_related_texts_are_closer_than_unrelated_ones(e5: E5Encoder) -> None:
    queries = e5.queries(["超轻高回弹EVA鞋底发泡配方优化", "污水处理厂污泥减量与资源化"])
    passages = e5.passages(["高分子发泡材料的配方与交联", "污泥处理处置与资源化利用"])
    similarity = queries @ passages.T
    assert similarity[0, 0] > similarity[0, 1]
    assert similarity[1, 1] > similarity[1, 0]


def test_query_and_passage_prefixes_differ_and_batches_agree_with_single_texts(e5: E5Encoder) -> None:
    text = "锂电池正极材料的循环寿命"
    assert not np.allclose(e5.queries([text]), e5.passages([text]))
    batch = e5.passages([text, "另一段文字", ""])
    np.testing.assert_allclose(batch[0], e5.passages([text])[0], atol=2e-4)
    assert np.isfinite(batch).all()


def test_a_chunk_fits_the_encoders_window(e5: E5Encoder) -> None:
    long_text = "。".join(f"第{i}项研究内容涉及复合材料界面改性与表征方法" for i in range(80))
    chunks = chunk_text(long_text)
    assert len(chunks) > 5
    assert all(e5.token_count(chunk) <= 512 for chunk in chunks)
    assert all(len(chunk) <= CHUNK_CHARS for chunk in chunks)


def test_chunks_keep_whole_sentences_in_order() -> None:
    text = "第一句。第二句！第三句；" + "长" * 250 + "。尾句"
    chunks = chunk_text(text, max_chars=20)
    assert chunks[0] == "第一句。第二句!第三句;"
    assert "".join(chunks) == "第一句。第二句!第三句;" + "长" * 250 + "。尾句"
    assert all(len(c) <= 20 for c in chunks)
    assert chunk_text("   ") == []
    with pytest.raises(ValueError, match="max_chars"):
        chunk_text("x", max_chars=0)


def test_demand_text_puts_the_title_first() -> None:
    assert demand_query_text("ＥＶＡ鞋底", "配方优化", ["发泡"]) == "eva鞋底。发泡。配方优化"
    assert demand_query_text("标题", None) == "标题"


def test_the_null_encoder_says_why_and_never_encodes() -> None:
    null = NullEncoder("模型文件缺失")
    assert not null.available
    assert null.identity.dim == 0
    assert isinstance(null, Encoder)
    with pytest.raises(EncoderUnavailableError, match="模型文件缺失"):
        null.queries(["x"])
    with pytest.raises(EncoderUnavailableError):
        null.passages(["x"])
    assert isinstance(load_encoder(enabled=False), NullEncoder)
    assert load_encoder().available
