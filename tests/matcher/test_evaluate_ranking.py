"""``huiqi evaluate``'s ranking is the index's: documents to provider inputs, demands tokenized as at
intake, every provider that passes the gate ranked by ``top_candidates``."""

import numpy as np
import pytest

from matcher import RankingConfig, demand_vectors, fit_index, top_candidates
from matcher.errors import MatcherError
from matcher.ranking import LabelledDemand, ProviderDocument, demand_inputs, evaluate, provider_inputs, rank

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
COSINE = RankingConfig(classifier_weight=0.0)
FUSED = RankingConfig()


def test_documents_are_grouped_by_provider_in_first_seen_order() -> None:
    ids, providers = provider_inputs(DOCUMENTS)
    assert ids == ["chem", "crop", "weld"]
    assert [len(p.documents) for p in providers] == [2, 2, 1]
    assert [p.id for p in providers] == [0, 1, 2]
    tokens = demand_inputs(DEMANDS[:1], n_jobs=1)[0].tokens
    assert set(tokens) == {"title", "description"}


@pytest.mark.parametrize("config", [COSINE, FUSED])
def test_each_demand_ranks_its_provider_first(config: RankingConfig) -> None:
    scores, ids = rank(DOCUMENTS, DEMANDS, config)
    dense = scores.toarray()
    assert [ids[i] for i in dense[:3].argmax(axis=1)] == ["chem", "crop", "weld"]
    assert scores[3].nnz == 0  # nothing known in the text: no provider is ranked
    assert (scores.data > 0).all()
    assert (scores.data <= 1 + 1e-6).all()


def test_rank_is_the_index_ranking() -> None:
    scores, _ = rank(DOCUMENTS, DEMANDS, FUSED)
    index = fit_index(provider_inputs(DOCUMENTS)[1], FUSED)
    vectors = demand_vectors(index, demand_inputs(DEMANDS, n_jobs=1))
    # liblinear shuffles its examples, so two fits of the SVM agree to float rounding
    np.testing.assert_allclose(scores.toarray(), top_candidates(index, vectors, 3).toarray(), atol=1e-5)


def test_evaluate_measures_the_small_corpus() -> None:
    metrics = evaluate(DOCUMENTS, DEMANDS[:3], FUSED)
    assert (metrics.n, metrics.acc_at_1, metrics.mrr) == (3, 1.0, 1.0)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(MatcherError, match="zero providers"):
        rank([], DEMANDS, COSINE)
    unknown = [LabelledDemand("d", "水稻", "", frozenset({"nobody"}))]
    with pytest.raises(MatcherError, match="nobody"):
        evaluate(DOCUMENTS, unknown, COSINE)


@pytest.mark.parametrize("config", [COSINE, FUSED])
def test_a_demand_scores_the_same_alone_and_in_a_batch(config: RankingConfig) -> None:
    """The ranking serves one demand at a time: nothing learned from the other demands of a batch."""
    batch, _ = rank(DOCUMENTS, DEMANDS, config)
    for row, demand in enumerate(DEMANDS):
        alone, _ = rank(DOCUMENTS, [demand], config)
        # float32 products summed in another order differ in the last digits, nothing more
        np.testing.assert_allclose(alone.toarray()[0], batch.toarray()[row], atol=1e-5)
