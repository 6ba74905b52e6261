"""The matching engine without a database: fast demand vectors, fused scores, gate and reasons."""

import numpy as np
import pytest
import scipy.sparse as sp

from api.matching import engine
from api.providers.profiles import ProviderProfile
from features.classifier import ProviderClassifier
from features.profiles import PROVIDER
from matcher.ranking import RankingConfig, fuse
from tests.api.matching_helpers import SOCIETIES

DEMAND = {
    "title": "耐水解聚氨酯弹性体配方开发",
    "description": "需要提高聚氨酯弹性体的耐水解技术，改性工程塑料。",
}


TEXTS = {**SOCIETIES, "中国技术经济学会": "技术经济、提高技术创新效率、技术转移与技术评价"}


def _profiles() -> list[ProviderProfile]:
    return [
        ProviderProfile("society", i + 1, n, [t, t[:12]], 5, None) for i, (n, t) in enumerate(TEXTS.items())
    ]


@pytest.fixture(scope="module")
def index() -> engine.ProviderIndex:
    return engine.build_index("society", _profiles())


def test_one_demand_vector_equals_the_vectorizer_transform(index: engine.ProviderIndex) -> None:
    profile = engine.tokenize_demands([DEMAND])[0]
    fast = engine.demand_vector(index, profile).toarray()
    reference = index.vectorizer.transform([engine.DEMAND.bag(profile)]).toarray()
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-7)
    assert engine.demand_vector(index, {}).nnz == 0


def test_fused_scores_are_those_of_matcher_ranking(index: engine.ProviderIndex) -> None:
    assert index.fused
    vectors = engine.demand_vectors(index, engine.tokenize_demands([DEMAND, {"title": "水稻病虫害防控"}]))
    providers = engine.provider_terms(_profiles())
    examples = [PROVIDER.bag({"text": doc}) for p in providers for doc in p.documents]
    owner = [row for row, p in enumerate(providers) for _ in p.documents]
    model = ProviderClassifier(alpha=engine.RANKING.classifier_alpha)
    model.fit(index.vectorizer.transform(examples), owner, len(providers))
    cosines = sp.csr_matrix(vectors @ index.matrix.T)
    expected = fuse(cosines, vectors, model, engine.RANKING.classifier_weight, len(providers)).toarray()
    np.testing.assert_allclose(engine.score_block(index, vectors)[1], expected, rtol=1e-4, atol=1e-5)


def test_a_large_level_ranks_by_cosine_alone() -> None:
    index = engine.build_index("society", _profiles(), config=RankingConfig(classifier_weight=0.0))
    vectors = engine.demand_vectors(index, engine.tokenize_demands([DEMAND]))
    assert not index.fused
    np.testing.assert_allclose(engine.score_block(index, vectors)[1], (vectors @ index.matrix.T).toarray())


def test_one_shared_character_makes_no_candidate(index: engine.ProviderIndex) -> None:
    vector = engine.demand_vector(
        index, engine.tokenize_demands([{"title": "量子引力", "description": "弦论"}])[0]
    )
    assert (vector @ index.matrix.T).toarray().max() > 0  # 子 of 量子 and 高分子
    assert engine.rank_demand(index, vector, 10)[0].size == 0


def test_reasons_name_informative_terms_only(index: engine.ProviderIndex) -> None:
    profile = engine.tokenize_demands([DEMAND])[0]
    vector = engine.demand_vector(index, profile)
    cols, scores = engine.rank_demand(index, vector, 3)
    assert index.names[int(cols[0])] == "中国材料研究学会"
    assert scores[0] > scores[-1]
    n = len(TEXTS)
    every = engine.reasons(vector, [profile], index, np.zeros(n, np.int64), np.arange(n, dtype=np.int64))
    named = [{r["term"] for r in pair} for pair in every]
    assert "聚氨酯" in named[0]
    assert not set().union(*named) & engine.GENERIC_TERMS
    # 技术 and 提高 are shared with 中国技术经济学会 and count in its score, but are never named.
    words = index.vectorizer.word_vocabulary_
    shared = [w for w in ("技术", "提高") if vector[0, words[w]] > 0 and index.matrix[3, words[w]] > 0]
    assert shared == ["技术", "提高"]
