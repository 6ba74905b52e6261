"""The matching engine without a database: fast demand vectors, fused scores, gate and reasons."""

import numpy as np
import pytest
import scipy.sparse as sp

from api.matching import engine
from api.providers.profiles import ProviderProfile
from features.characters import CharacterSvm, character_text
from features.classifier import ProviderClassifier
from features.profiles import PROVIDER
from matcher.ranking import CharacterTexts, RankingConfig, TokenizedProvider, fuse, score_tokens
from tests.api.matching_helpers import SOCIETIES

DEMAND = {
    "title": "耐水解聚氨酯弹性体配方开发",
    "description": "需要提高聚氨酯弹性体的耐水解技术，改性工程塑料。",
}


RIDGE = RankingConfig(classifier="ridge")
TEXTS = {**SOCIETIES, "中国技术经济学会": "技术经济、提高技术创新效率、技术转移与技术评价"}


def _profiles() -> list[ProviderProfile]:
    return [
        ProviderProfile("society", i + 1, n, [t, t[:12]], 5, None) for i, (n, t) in enumerate(TEXTS.items())
    ]


@pytest.fixture(scope="module")
def index() -> engine.ProviderIndex:
    return engine.build_index("society", _profiles())


def _vectors(index: engine.ProviderIndex, records: list[dict[str, str]]) -> sp.csr_matrix:
    return engine.demand_vectors(index, engine.tokenize_demands(records), records)


def test_the_service_fuses_the_character_svm_of_matcher_ranking(index: engine.ProviderIndex) -> None:
    assert RankingConfig() == engine.RANKING
    assert engine.RANKING.classifier == "character_svm"
    assert index.fused
    assert index.characters is not None


def test_one_demand_vector_equals_the_vectorizers_transforms(index: engine.ProviderIndex) -> None:
    profile = engine.tokenize_demands([DEMAND])[0]
    fast = engine.demand_vector(index, profile, DEMAND).toarray()
    assert index.characters is not None
    reference = sp.hstack(
        [
            index.vectorizer.transform([engine.DEMAND.bag(profile)]),
            index.characters.transform([engine.demand_character_text(DEMAND)]),
        ]
    ).toarray()
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fast, _vectors(index, [DEMAND, DEMAND]).toarray()[:1], rtol=1e-5, atol=1e-7)
    assert engine.demand_vector(index, {}, {}).nnz == 0


def test_the_character_svm_needs_the_demand_text(index: engine.ProviderIndex) -> None:
    with pytest.raises(ValueError, match="text fields of every demand"):
        engine.demand_vector(index, engine.tokenize_demands([DEMAND])[0])


def test_the_character_text_is_that_of_matcher_ranking_then_the_other_fields() -> None:
    title, description = "ＰＬＣ控制與優化", "需要提高產品良率"
    assert engine.demand_character_text({"title": title, "description": description}) == "\n".join(
        [character_text(title)] * 2 + [character_text(description)]
    )
    extended = engine.demand_character_text({"title": title, "keywords": "伺服、PLC", "main_business": ""})
    assert extended == "plc控制与优化\nplc控制与优化\n\n伺服、plc"


def test_fused_scores_are_those_of_matcher_ranking() -> None:
    # One document per provider: matcher.ranking then builds the same provider bags as the engine.
    profiles = [ProviderProfile("society", i + 1, n, [t], 5, None) for i, (n, t) in enumerate(TEXTS.items())]
    index = engine.build_index("society", profiles)
    demands = [
        DEMAND,
        {"title": "水稻病虫害防控", "description": ""},
        {"title": "弦论", "description": "量子"},
    ]
    tokens = engine.tokenize_demands(demands)
    providers = [TokenizedProvider(p.name, p.documents) for p in engine.provider_terms(profiles)]
    texts = CharacterTexts(
        [[character_text(t)] for t in TEXTS.values()], [engine.demand_character_text(d) for d in demands]
    )
    expected = score_tokens(providers, tokens, engine.RANKING, texts=texts).toarray()
    np.testing.assert_allclose(engine.score_block(index, _vectors(index, demands))[1], expected, atol=1e-4)


def test_svm_scores_are_those_of_the_character_svm(index: engine.ProviderIndex) -> None:
    documents = [character_text(t) for p in _profiles() for t in p.documents]
    owner = [row for row, p in enumerate(_profiles()) for _ in p.documents]
    model = CharacterSvm(c=engine.RANKING.svm_c).fit(documents, owner, len(TEXTS))
    vectors = _vectors(index, [DEMAND])
    expected = model.decision_function([engine.demand_character_text(DEMAND)])
    np.testing.assert_allclose(engine._classifier_scores(index, vectors), expected, atol=1e-4)


def test_a_demand_without_known_terms_scores_nothing(index: engine.ProviderIndex) -> None:
    vectors = _vectors(index, [{"title": "ｚｚｚ", "description": ""}])
    assert vectors[:, : index.width].nnz == 0
    assert vectors.nnz > 0  # its characters are known n-grams, but the cosine decides candidacy
    assert not engine.score_block(index, vectors)[1].any()


def test_ridge_fused_scores_are_those_of_matcher_ranking() -> None:
    index = engine.build_index("society", _profiles(), config=RIDGE)
    assert index.fused
    assert index.characters is None
    vectors = engine.demand_vectors(index, engine.tokenize_demands([DEMAND, {"title": "水稻病虫害防控"}]))
    providers = engine.provider_terms(_profiles())
    examples = [PROVIDER.bag({"text": doc}) for p in providers for doc in p.documents]
    owner = [row for row, p in enumerate(providers) for _ in p.documents]
    model = ProviderClassifier(alpha=RIDGE.classifier_alpha)
    model.fit(index.vectorizer.transform(examples), owner, len(providers))
    cosines = sp.csr_matrix(vectors @ index.matrix.T)
    expected = fuse(cosines, vectors, model, RIDGE.classifier_weight, len(providers)).toarray()
    np.testing.assert_allclose(engine.score_block(index, vectors)[1], expected, rtol=1e-4, atol=1e-5)


def test_a_large_level_ranks_by_cosine_alone() -> None:
    index = engine.build_index("society", _profiles(), config=RankingConfig(classifier_weight=0.0))
    vectors = engine.demand_vectors(index, engine.tokenize_demands([DEMAND]))
    assert not index.fused
    np.testing.assert_allclose(engine.score_block(index, vectors)[1], (vectors @ index.matrix.T).toarray())


def _texts() -> list[list[str]]:
    return [[character_text(t) for t in p.documents] for p in _profiles()]


def _ngram_counts() -> tuple[int, int]:
    """Distinct n-grams of the test providers, and those of at least two of them."""
    own = [{t[i : i + n] for t in docs for n in (1, 2) for i in range(len(t) - n + 1)} for docs in _texts()]
    every = set().union(*own)
    return len(every), sum(sum(g in o for o in own) >= 2 for g in every)


def test_a_level_too_large_for_every_ngram_keeps_those_of_two_providers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    every, shared = _ngram_counts()
    assert shared < every
    monkeypatch.setattr(engine, "CHARACTER_MAX_COEFFICIENTS", len(TEXTS) * every)
    assert engine.character_min_df(_texts()) == 1
    monkeypatch.setattr(engine, "CHARACTER_MAX_COEFFICIENTS", len(TEXTS) * every - 1)
    assert engine.character_min_df(_texts()) == 2
    index = engine.build_index("society", _profiles())
    assert index.fused
    assert index.characters is not None
    assert len(index.characters.vocabulary_) < every
    assert index.characters.min_df == 2


def test_too_many_coefficients_rank_by_cosine_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    _, shared = _ngram_counts()
    monkeypatch.setattr(engine, "CHARACTER_MAX_COEFFICIENTS", len(TEXTS) * shared - 1)
    assert engine.character_min_df(_texts()) is None
    index = engine.build_index("society", _profiles())
    assert not index.fused
    assert index.characters is None


def test_one_shared_character_makes_no_candidate(index: engine.ProviderIndex) -> None:
    demand = {"title": "量子引力", "description": "弦论"}
    vector = engine.demand_vector(index, engine.tokenize_demands([demand])[0], demand)
    assert (vector[:, : index.width] @ index.matrix.T).toarray().max() > 0  # 子 of 量子 and 高分子
    assert engine.rank_demand(index, vector, 10)[0].size == 0


def test_reasons_name_informative_terms_only(index: engine.ProviderIndex) -> None:
    profile = engine.tokenize_demands([DEMAND])[0]
    vector = engine.demand_vector(index, profile, DEMAND)
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
