"""The shared ranking pipeline: tokens to scores, cosine and fused, on small real-language corpora."""

from dataclasses import replace

import numpy as np
import pytest

from matcher.errors import MatcherError
from matcher.ranking import (
    CharacterTexts,
    LabelledDemand,
    ProviderDocument,
    RankingConfig,
    TokenizedProvider,
    character_texts,
    config_for_scale,
    evaluate,
    rank,
    score_tokens,
    tokenize_corpus,
)

DOCUMENTS = [
    ProviderDocument("chem", "中国化学会", "锂电池正极材料的合成与表征"),
    ProviderDocument("chem", "中国化学会", "电化学储能材料与电解液"),
    ProviderDocument("crop", "中国作物学会", "水稻育种与高产栽培技术"),
    ProviderDocument("crop", "中国作物学会", "小麦抗病品种选育"),
    ProviderDocument("weld", "中国机械工程学会", "激光焊接工艺与焊接机器人"),
]
DEMANDS = [
    LabelledDemand("d1", "锂电池正极材料改性", "提高电池循环寿命", frozenset({"chem"})),
    LabelledDemand("d2", "水稻高产栽培", "选育抗病品种", frozenset({"crop"})),
    LabelledDemand("d3", "焊接机器人", "激光焊接自动化产线", frozenset({"weld"})),
    LabelledDemand("d4", "。。。", "", frozenset({"weld"})),
]
COSINE = RankingConfig(classifier_weight=0.0, n_jobs=1)
FUSED = RankingConfig(n_jobs=1)
RIDGE = RankingConfig(classifier="ridge", n_jobs=1)


def test_tokenize_corpus_groups_documents_by_provider_in_first_seen_order() -> None:
    ids, providers, profiles = tokenize_corpus(DOCUMENTS, DEMANDS, COSINE)
    assert ids == ["chem", "crop", "weld"]
    assert [len(p.documents) for p in providers] == [2, 2, 1]
    assert "水稻" in providers[1].documents[0]
    assert set(profiles[0]) == {"title", "description"}
    _, _, titles_only = tokenize_corpus(DOCUMENTS, DEMANDS, replace(COSINE, title_only=True))
    assert all(set(p) == {"title"} for p in titles_only)


@pytest.mark.parametrize(
    "config", [COSINE, FUSED, RIDGE, replace(COSINE, aggregation="nearest", nearest_m=2)]
)
def test_each_demand_ranks_its_provider_first(config: RankingConfig) -> None:
    scores, ids = rank(DOCUMENTS, DEMANDS, config)
    dense = scores.toarray()
    assert [ids[i] for i in dense[:3].argmax(axis=1)] == ["chem", "crop", "weld"]
    assert scores[3].nnz == 0  # nothing known in the text: no provider is ranked
    assert (scores.data > 0).all()


@pytest.mark.parametrize("config", [FUSED, RIDGE])
def test_fused_scores_lie_in_the_unit_interval_and_respect_k(config: RankingConfig) -> None:
    _, providers, profiles = tokenize_corpus(DOCUMENTS, DEMANDS, config)
    texts = character_texts(DOCUMENTS, DEMANDS, config)
    scores = score_tokens(providers, profiles, config, k=2, texts=texts)
    assert scores.getnnz(axis=1).tolist() == [2, 2, 2, 0]
    assert (scores.data > 0).all()
    assert (scores.data < 1).all()


def test_character_texts_are_normalised_and_weigh_the_title_twice() -> None:
    documents = [*DOCUMENTS, ProviderDocument("crop", "中国作物学会", "雜交水稻ＡＢＣ")]
    texts = character_texts(documents, DEMANDS[:2], FUSED)
    assert [len(docs) for docs in texts.providers] == [2, 3, 1]
    assert texts.providers[1][2] == "杂交水稻abc"  # traditional to simplified, full width to lower ascii
    assert texts.demands[1] == "水稻高产栽培\n水稻高产栽培\n选育抗病品种"
    assert character_texts(documents, DEMANDS[:1], replace(FUSED, title_only=True)).demands == [
        "锂电池正极材料改性\n锂电池正极材料改性"
    ]


def test_character_model_needs_the_texts_of_the_same_corpus() -> None:
    _, providers, profiles = tokenize_corpus(DOCUMENTS, DEMANDS, FUSED)
    with pytest.raises(MatcherError, match="character_texts"):
        score_tokens(providers, profiles, FUSED)
    short = CharacterTexts([["锂电池"]], ["锂电池"] * len(DEMANDS))
    with pytest.raises(MatcherError, match="same providers and demands"):
        score_tokens(providers, profiles, FUSED, texts=short)


def test_character_model_with_one_provider_of_documents_ranks_by_cosine() -> None:
    providers = [TokenizedProvider(["化学"], [["锂电池", "正极"]]), TokenizedProvider(["水稻"], [])]
    texts = CharacterTexts([["锂电池正极"], []], ["水稻"])
    fused = score_tokens(providers, [{"title": ["水稻"]}], FUSED, texts=texts).toarray()
    np.testing.assert_array_equal(fused, score_tokens(providers, [{"title": ["水稻"]}], COSINE).toarray())


def test_config_for_scale_drops_the_dense_parts_for_many_providers() -> None:
    assert config_for_scale(67) == RankingConfig()
    large = config_for_scale(20_000, FUSED)
    assert large.classifier_weight == 0.0
    assert large.char_ngram_range == (2, 2)
    assert large.n_jobs == FUSED.n_jobs


def test_classifier_weight_zero_gives_plain_cosines() -> None:
    _, providers, profiles = tokenize_corpus(DOCUMENTS, DEMANDS, COSINE)
    scores = score_tokens(providers, profiles, COSINE).toarray()
    assert scores.max() <= 1.0 + 1e-6
    assert np.all(scores[:3].max(axis=1) > 0.1)


def test_provider_without_documents_is_scored_by_its_name() -> None:
    providers = [TokenizedProvider(["化学"], [["锂电池", "正极"]]), TokenizedProvider(["水稻"], [])]
    scores = score_tokens(providers, [{"title": ["水稻"]}], COSINE).toarray()
    assert scores[0].argmax() == 1


def test_evaluate_measures_the_small_corpus() -> None:
    metrics = evaluate(DOCUMENTS, DEMANDS[:3], FUSED)
    assert (metrics.n, metrics.acc_at_1, metrics.mrr) == (3, 1.0, 1.0)


def test_bad_configurations_and_inputs_are_refused() -> None:
    with pytest.raises(MatcherError, match="classifier_weight"):
        RankingConfig(classifier_weight=1.5)
    with pytest.raises(MatcherError, match="zero providers"):
        score_tokens([], [{"title": ["水稻"]}], COSINE)
    unknown = [LabelledDemand("d", "水稻", "", frozenset({"nobody"}))]
    with pytest.raises(MatcherError, match="nobody"):
        evaluate(DOCUMENTS, unknown, COSINE)


@pytest.mark.parametrize("config", [FUSED, RIDGE])
def test_a_demand_scores_the_same_alone_and_in_a_batch(config: RankingConfig) -> None:
    """The ranking serves one demand at a time: nothing learned from the other demands of a batch."""
    batch, _ = rank(DOCUMENTS, DEMANDS, config)
    for row, demand in enumerate(DEMANDS):
        alone, _ = rank(DOCUMENTS, [demand], config)
        # float32 products summed in another order differ in the last digits, nothing more
        np.testing.assert_allclose(alone.toarray()[0], batch.toarray()[row], atol=1e-5)
