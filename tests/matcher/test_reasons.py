"""Why a pair: the terms that carry its cosine, the demand's phrase matching the provider's sentence,
and the sentence staff read."""

import numpy as np
import pytest

from matcher import DemandInput, ProviderIndex, ProviderInput, demand_vectors, fit_index, reasons
from matcher.reasons import (
    MIN_TERM_SHARE,
    demand_sentences,
    explain,
    explain_pairs,
    split_phrases,
)
from matcher.texts import tokenize_demands

TEXTS = {
    "中国材料研究学会": "高分子材料、聚氨酯弹性体、工程塑料改性、复合材料、耐水解与老化性能研究。"
    "国家工程研究中心",
    "中国农学会": "作物栽培、水稻育种、土壤肥料、农业机械化、病虫害绿色防控技术推广。农业技术推广中心",
    "中国生物医学工程学会": "医疗器械、医学影像、生物传感器、康复工程与植入材料评价",
    "中国颗粒学会": "粉体表面改性、纳米颗粒分散、超细粉体制备与颗粒表征",
}
DEMAND = {
    "title": "耐水解聚氨酯弹性体配方开发",
    "description": "我公司位于高新区创业中心，现有产品在湿热环境下易水解开裂。"
    "希望改进聚氨酯弹性体的耐水解配方，并评估填料的表面改性方案。",
}


@pytest.fixture(scope="module")
def index() -> ProviderIndex:
    return fit_index([ProviderInput(i + 1, n, 5, (t,)) for i, (n, t) in enumerate(TEXTS.items())])


def _inputs(records: list[dict[str, str]]) -> list[DemandInput]:
    return [DemandInput(t, r) for t, r in zip(tokenize_demands(records), records, strict=True)]


def test_named_terms_are_exactly_those_carrying_a_share_of_the_cosine(index: ProviderIndex) -> None:
    inputs = _inputs([DEMAND])
    vectors = demand_vectors(index, inputs)
    n = index.n_providers
    named = reasons(index, vectors, [d.tokens for d in inputs], np.zeros(n, np.int64), np.arange(n), top=99)
    # The oracle: dense products of the demand with each provider, word by word.
    demand = vectors.cosine.toarray()[0]
    names = index.word_names
    for col, pair in enumerate(named):
        parts = demand * index.matrix[col].toarray()[0]
        words = np.flatnonzero(parts[: index.n_words] * index.informative)
        carrying = {str(names[w]) for w in words if parts[w] >= MIN_TERM_SHARE * parts.sum()}
        assert {r["term"] for r in pair} == carrying
        for r in pair:
            assert r["weight"] == pytest.approx(parts[index.vectorizer.word_vocabulary_[r["term"]]], abs=1e-6)
    # 中心 is shared with the materials society but adds a sliver of its cosine: not named.
    centre = index.vectorizer.word_vocabulary_["中心"]
    assert demand[centre] > 0
    assert index.matrix[0, centre] > 0
    assert index.informative[centre]
    assert "聚氨酯" in {r["term"] for r in named[0]}
    assert "中心" not in {r["term"] for r in named[0]}


def test_phrases_are_verbatim_and_long_sentences_are_cut_at_commas() -> None:
    text = "短句一。" + "，".join(["这是一个相当长的分句用于测试切分效果"] * 6) + "；末句"
    phrases = split_phrases(text)
    assert all(phrase in text for phrase in phrases)
    assert phrases[0] == "短句一"
    assert phrases[-1] == "末句"
    assert len(phrases) > 3
    assert max(len(p) for p in phrases) <= 60


def test_the_demand_phrase_is_the_one_sharing_weighted_words_with_the_provider_sentence(
    index: ProviderIndex,
) -> None:
    inputs = _inputs([DEMAND])
    vectors = demand_vectors(index, inputs)
    found = demand_sentences(
        index,
        vectors,
        inputs,
        [0, 0, 0],
        ["粉体表面改性与纳米颗粒分散", None, None],
        [[], [{"term": "聚氨酯", "weight": 0.1, "field": "名称"}], []],
    )
    assert found[0] == "希望改进聚氨酯弹性体的耐水解配方，并评估填料的表面改性方案"
    # Without a provider sentence: the phrase holding the named term (the title, first of two).
    assert found[1] == "耐水解聚氨酯弹性体配方开发"
    assert found[2] is None


def test_every_pair_explained_names_terms_or_a_phrase(index: ProviderIndex) -> None:
    inputs = _inputs([DEMAND])
    vectors = demand_vectors(index, inputs)
    (why,) = explain_pairs(index, vectors, inputs, [0], [0])
    assert why.demand_sentence is not None
    assert why.demand_sentence in DEMAND["title"] + DEMAND["description"]
    assert why.text.startswith("共同关键词：“")
    assert why.demand_sentence in why.text


def test_explain_names_terms_fields_and_both_sentences() -> None:
    reasons_of_pair = [
        {"term": "聚氨酯", "weight": 0.2, "field": "名称"},
        {"term": "弹性体", "weight": 0.1, "field": ""},
    ]
    assert explain(reasons_of_pair) == "共同关键词：“聚氨酯”（名称）、“弹性体”（需求）"
    assert explain([], "聚氨酯材料研究", "耐水解聚氨酯") == (
        "语义相近；最接近的表述：服务方“聚氨酯材料研究”，对应需求中的“耐水解聚氨酯”"
    )


def test_a_pair_without_shared_words_says_so() -> None:
    assert explain([]) == "无共同关键词，仅字面片段相近"
