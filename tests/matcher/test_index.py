"""The provider index without a database: fused scores, the gate, the threshold, reasons, scale rules."""

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

import matcher.index as index_module
from features.characters import CharacterSvm, character_text
from matcher import (
    DemandInput,
    ProviderIndex,
    ProviderInput,
    RankingConfig,
    demand_vectors,
    fit_index,
    pair_scores,
    ranked,
    reasons,
    restrict,
    top_candidates,
)
from matcher.index import GENERIC_TERMS, CharacterComponent, character_min_df, fuse, score_block
from matcher.texts import demand_character_text, tokenize_demands

TEXTS = {
    "中国材料研究学会": "高分子材料、聚氨酯弹性体、工程塑料改性、复合材料、耐水解与老化性能研究",
    "中国农学会": "作物栽培、水稻育种、土壤肥料、农业机械化、病虫害绿色防控技术推广",
    "中国生物医学工程学会": "医疗器械、医学影像、生物传感器、康复工程与植入材料评价",
    "中国技术经济学会": "技术经济、提高技术创新效率、技术转移与技术评价",
}
DEMAND = {
    "title": "耐水解聚氨酯弹性体配方开发",
    "description": "需要提高聚氨酯弹性体的耐水解技术，改性工程塑料。",
}


def _providers() -> list[ProviderInput]:
    return [ProviderInput(i + 1, n, 5, (t, t[:12])) for i, (n, t) in enumerate(TEXTS.items())]


def _inputs(records: list[dict[str, str]]) -> list[DemandInput]:
    return [DemandInput(t, r) for t, r in zip(tokenize_demands(records), records, strict=True)]


@pytest.fixture(scope="module")
def index() -> ProviderIndex:
    return fit_index(_providers())


def test_a_small_level_fuses_the_character_svm(index: ProviderIndex) -> None:
    assert index.fused
    assert isinstance(index.components[0], CharacterComponent)
    assert index.config == RankingConfig()


def test_a_level_above_the_classifier_limit_ranks_by_the_bigram_cosine_alone() -> None:
    config = RankingConfig(max_classifier_providers=3)
    index = fit_index(_providers(), config)
    assert not index.fused
    assert index.config.char_ngram_range == (2, 2)
    assert index.gate_t is None  # without single characters the cosine is its own gate
    vectors = demand_vectors(index, _inputs([DEMAND]))
    np.testing.assert_allclose(score_block(index, vectors)[1], (vectors.cosine @ index.matrix.T).toarray())


def test_the_character_text_is_title_twice_then_description_then_other_fields() -> None:
    title, description = "ＰＬＣ控制與優化", "需要提高產品良率"
    assert demand_character_text({"title": title, "description": description}) == "\n".join(
        [character_text(title)] * 2 + [character_text(description)]
    )
    extended = demand_character_text({"title": title, "keywords": "伺服、PLC", "main_business": ""})
    assert extended == "plc控制与优化\nplc控制与优化\n\n伺服、plc"


def test_svm_scores_are_those_of_the_character_svm(index: ProviderIndex) -> None:
    documents = [character_text(t) for p in _providers() for t in p.documents]
    owner = [row for row, p in enumerate(_providers()) for _ in p.documents]
    model = CharacterSvm(c=RankingConfig().svm_c).fit(documents, owner, len(TEXTS))
    vectors = demand_vectors(index, _inputs([DEMAND]))
    expected = model.decision_function([demand_character_text(DEMAND)])
    np.testing.assert_allclose(index.components[0].scores(vectors.extra[0]), expected, atol=1e-4)


def test_fusion_standardises_each_component_and_maps_into_zero_one() -> None:
    cosines = np.array([[0.1, 0.3, 0.2], [0.0, 0.0, 0.0]], np.float32)
    other = np.array([[5.0, 1.0, 3.0], [1.0, 2.0, 3.0]], np.float32)
    assert fuse(cosines, []) is cosines
    fused = fuse(cosines, [(0.5, other)])
    z = lambda row: (row - row.mean()) / row.std()  # noqa: E731
    expected = 1 / (1 + np.exp(-(0.5 * z(cosines[0]) + 0.5 * z(other[0]))))
    np.testing.assert_allclose(fused[0], expected, rtol=1e-5)
    assert not fused[1].any()  # no known term: no score, whatever the other component says


def test_a_demand_without_known_terms_scores_nothing(index: ProviderIndex) -> None:
    vectors = demand_vectors(index, _inputs([{"title": "ｚｚｚ", "description": ""}]))
    assert vectors.cosine.nnz == 0
    assert vectors.extra[0].nnz > 0  # its characters are known n-grams, but the cosine decides
    assert not score_block(index, vectors)[1].any()
    assert top_candidates(index, vectors, 3).nnz == 0


def test_one_shared_character_makes_no_candidate(index: ProviderIndex) -> None:
    vectors = demand_vectors(index, _inputs([{"title": "量子引力", "description": "弦论"}]))
    assert (vectors.cosine @ index.matrix.T).toarray().max() > 0  # 子 of 量子 and 高分子
    assert top_candidates(index, vectors, 10).nnz == 0


def test_the_threshold_applies_to_the_score_shown(index: ProviderIndex) -> None:
    vectors = demand_vectors(index, _inputs([DEMAND]))
    everyone = top_candidates(index, vectors, len(TEXTS)).toarray()[0]
    best = everyone.max()
    assert best > 0.5  # fused scores, not small cosines
    at_best = top_candidates(index, vectors, len(TEXTS), min_score=float(best)).toarray()[0]
    assert np.count_nonzero(at_best) == 1
    assert at_best.max() == best
    np.testing.assert_allclose(
        pair_scores(index, vectors, np.array([0]), np.array([everyone.argmax()])), [best]
    )


def test_ranked_lists_best_first_and_reasons_name_informative_terms_only(index: ProviderIndex) -> None:
    inputs = _inputs([DEMAND])
    vectors = demand_vectors(index, inputs)
    ((cols, scores),) = ranked(top_candidates(index, vectors, 3))
    assert index.names[int(cols[0])] == "中国材料研究学会"
    assert list(scores) == sorted(scores, reverse=True)
    n = len(TEXTS)
    every = reasons(index, vectors, [d.tokens for d in inputs], np.zeros(n, np.int64), np.arange(n))
    named = [{r["term"] for r in pair} for pair in every]
    assert "聚氨酯" in named[0]
    assert not set().union(*named) & GENERIC_TERMS
    # 技术 and 提高 are shared with 中国技术经济学会 and count in its score, but are never named.
    words = index.vectorizer.word_vocabulary_
    shared = [
        w for w in ("技术", "提高") if vectors.cosine[0, words[w]] > 0 and index.matrix[3, words[w]] > 0
    ]
    assert shared == ["技术", "提高"]


def test_a_restricted_index_ranks_its_own_providers_only(index: ProviderIndex) -> None:
    small = restrict(index, [1, 3, 999])
    assert list(small.ids) == [1, 3]
    assert small.position == {1: 0, 3: 1}
    vectors = demand_vectors(small, _inputs([DEMAND]))
    gates, scores = score_block(small, vectors)
    assert scores.shape == (1, 2)
    np.testing.assert_allclose(gates, (vectors.cosine @ index.gate_t[:, [0, 2]]).toarray())


def _texts() -> list[list[str]]:
    return [[character_text(t) for t in p.documents] for p in _providers()]


def _ngram_counts() -> tuple[int, int]:
    """Distinct n-grams of the test providers, and those of at least two of them."""
    own = [{t[i : i + n] for t in docs for n in (1, 2) for i in range(len(t) - n + 1)} for docs in _texts()]
    every = set().union(*own)
    return len(every), sum(sum(g in o for o in own) >= 2 for g in every)


def test_a_level_too_large_for_every_ngram_keeps_those_of_two_providers() -> None:
    every, shared = _ngram_counts()
    assert shared < every
    assert character_min_df(_texts(), len(TEXTS) * every) == 1
    assert character_min_df(_texts(), len(TEXTS) * every - 1) == 2
    index = fit_index(_providers(), RankingConfig(max_coefficients=len(TEXTS) * every - 1))
    component = index.components[0]
    assert isinstance(component, CharacterComponent)
    assert len(component.vectorizer.vocabulary_) < every


def test_too_many_coefficients_rank_by_cosine_alone() -> None:
    _, shared = _ngram_counts()
    assert character_min_df(_texts(), len(TEXTS) * shared - 1) is None
    assert not fit_index(_providers(), RankingConfig(max_coefficients=len(TEXTS) * shared - 1)).fused


def test_a_config_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="classifier_weight"):
        RankingConfig(classifier_weight=1.5)
    assert replace(RankingConfig(), classifier_weight=0.0).for_scale(10).classifier_weight == 0.0
    assert index_module.BLOCK_CELLS > 0
    assert sp.issparse(fit_index(_providers()).matrix)
