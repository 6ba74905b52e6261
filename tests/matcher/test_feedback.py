"""Learning from staff decisions: the component of the index against a direct computation, and its
effect on the one ranking (match lists, rounds and evaluation all rank through it)."""

import numpy as np
import pytest

from matcher import DemandInput, ProviderInput, demand_vectors, fit_index, pair_scores, ranked, restrict
from matcher.errors import MatcherError
from matcher.feedback import (
    Decision,
    FeedbackConfig,
    adjustments,
    decision,
    feedback_component,
    feedback_scores,
    influence,
)
from matcher.index import top_candidates, with_feedback

DIM = 8
TOPICS = [
    "锂电池 正极材料 电解液",
    "水稻 育种 病虫害",
    "桥梁 混凝土 裂缝",
    "光纤 通信 芯片",
    "中药 制剂 提取",
]


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(size=(n, DIM)).astype(np.float32)
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def _bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def _world(seed: int = 0) -> tuple[list[ProviderInput], list[DemandInput], np.ndarray]:
    """Five providers (one topic and one chunk each) and twelve demands near random topics."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng, len(TOPICS))
    providers = [
        ProviderInput(i + 1, f"学会{i}", 3, (topic,), chunks=((topic, _bytes(centres[i])),))
        for i, topic in enumerate(TOPICS)
    ]
    topics = rng.integers(0, len(TOPICS), size=12)
    noisy = centres[topics] + 0.3 * rng.normal(size=(12, DIM)).astype(np.float32)
    vectors = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    demands = [
        DemandInput({"title": TOPICS[t].split()[:2]}, {}, _bytes(v), 100 + row)
        for row, (t, v) in enumerate(zip(topics, vectors, strict=True))
    ]
    return providers, demands, vectors


def _decisions(vectors: np.ndarray) -> list[Decision]:
    """Demands 100-105 decided: provider column 4 accepted for each, column 0 rejected for two."""
    found = [Decision(100 + row, vectors[row], 4, True) for row in range(6)]
    return found + [Decision(100 + row, vectors[row], 0, False) for row in range(2)]


def test_the_component_adds_what_feedback_scores_computes_directly() -> None:
    providers, demands, vectors = _world()
    config = FeedbackConfig(weight=1.0, neighbours=3, threshold=-1.0, reject_weight=0.5)
    decisions = _decisions(vectors)
    component = feedback_component(decisions, len(providers), config)
    assert component is not None
    features = component.encode(demands)
    direct = feedback_scores(
        vectors, decisions, len(providers), config, exclude=[d.key or 0 for d in demands]
    )
    np.testing.assert_allclose(component.scores(features), direct, atol=1e-6)
    # Rows slice like every component's features (the ranking works in blocks).
    np.testing.assert_allclose(component.scores(features[3:7]), direct[3:7], atol=1e-6)
    # A demand's own decisions never move its own ranking: with its id unknown, they would.
    anonymous = component.encode([DemandInput(d.tokens, {}, d.vector) for d in demands])
    assert not np.allclose(component.scores(anonymous)[:6], direct[:6])
    # The audit's adjustments of one pair add up to the score it adds.
    for row in range(6, 12):
        for column in (0, 4):
            listed = adjustments(vectors[row], decisions, column, config)
            assert sum(a.amount for a in listed) == pytest.approx(direct[row, column], abs=1e-6)


def test_decisions_move_the_ranking_and_nothing_else() -> None:
    providers, demands, vectors = _world()
    index = fit_index(providers)
    config = FeedbackConfig(weight=3.0, neighbours=3, threshold=-1.0)
    learned = with_feedback(index, feedback_component(_decisions(vectors), index.n_providers, config))
    assert "staff_decisions" in learned.fused_components
    plain = top_candidates(index, demand_vectors(index, demands), 5).toarray()
    moved = top_candidates(learned, demand_vectors(learned, demands), 5).toarray()
    # The accepted provider rises for the undecided demands (6-11), the rejected one falls.
    assert (moved[6:, 4] >= plain[6:, 4]).all()
    assert (moved[6:, 4] > plain[6:, 4]).any()
    assert (moved[6:, 0] <= plain[6:, 0]).all()
    # No decisions, or learning off: the very same ranking.
    assert with_feedback(learned, None).components == index.components
    same = with_feedback(index, feedback_component([], index.n_providers, config))
    np.testing.assert_array_equal(top_candidates(same, demand_vectors(same, demands), 5).toarray(), plain)
    # Exact pair scores and a restricted index (a round's scope) rank alike.
    vectors_learned = demand_vectors(learned, demands)
    rows, cols = np.nonzero(moved)
    np.testing.assert_allclose(
        pair_scores(learned, vectors_learned, rows, cols), moved[rows, cols], atol=1e-6
    )
    part = restrict(learned, [1, 5])
    scores = top_candidates(part, demand_vectors(part, demands), 2).toarray()
    whole = top_candidates(
        restrict(index, [1, 5]), demand_vectors(restrict(index, [1, 5]), demands), 2
    ).toarray()
    assert (scores[6:, 1] >= whole[6:, 1]).all()
    assert (scores[6:, 1] > whole[6:, 1]).any()
    # Weighted enough, the accepted provider heads every undecided demand's list.
    assert all(c[0] == 4 for c, _ in ranked(top_candidates(learned, vectors_learned, 1))[6:])


def test_decisions_need_the_dense_part_and_matching_columns() -> None:
    providers, _, vectors = _world()
    sparse_only = fit_index([ProviderInput(p.id, p.name, p.capacity, p.documents) for p in providers])
    component = feedback_component(_decisions(vectors), len(providers), FeedbackConfig())
    assert with_feedback(sparse_only, component) is sparse_only
    index = fit_index(providers)
    with pytest.raises(MatcherError, match="decisions cover 3 providers"):
        with_feedback(index, feedback_component([Decision(100, vectors[0], 0, True)], 3, FeedbackConfig()))
    with pytest.raises(MatcherError, match="column 4 of 3"):
        feedback_component(_decisions(vectors), 3, FeedbackConfig())
    assert feedback_component(_decisions(vectors), 5, FeedbackConfig(weight=0.0)) is None


def test_influence_counts_the_demands_a_decision_votes_for() -> None:
    _, demands, vectors = _world()
    config = FeedbackConfig(weight=1.0, neighbours=2, threshold=-1.0)
    decisions = [decision(100 + row, _bytes(vectors[row]), 4, row != 1) for row in range(3)]
    found = influence([d.vector or b"" for d in demands], [d.key or 0 for d in demands], decisions, config)
    assert [i.demand_id for i in found] == [100, 101, 102]
    # Each of the 12 demands takes its 2 nearest decided demands, never itself (a decided demand
    # takes the two others).
    assert sum(i.demands for i in found) == 12 * 2
    alone = influence([_bytes(vectors[0])], [100], decisions[:1], config)
    assert alone[0].demands == 0
    assert alone[0].largest == 0.0
    assert found[1].largest == pytest.approx(-0.25)
    assert found[0].largest == pytest.approx(0.5)
    assert influence([], [], decisions, config)[0].demands == 0
