"""``matcher.match`` end to end on a small real-language index: honest gap bound, commitments, cancel,
and the reasons ``diagnose`` gives for unserved demands."""

import numpy as np
import pytest

from matcher import (
    DemandInput,
    Problem,
    ProviderIndex,
    ProviderInput,
    RankingConfig,
    SolveCancelled,
    assign,
    demand_vectors,
    diagnose,
    fit_index,
    match,
    top_candidates,
)
from matcher.texts import tokenize_demands

SOCIETIES = [
    ("中国材料研究学会", "高分子材料、聚氨酯弹性体、工程塑料改性、复合材料、耐水解与老化性能研究"),
    ("中国农学会", "作物栽培、水稻育种、土壤肥料、农业机械化、病虫害绿色防控技术推广"),
    ("中国生物医学工程学会", "医疗器械、医学影像、生物传感器、康复工程与植入材料评价"),
    ("中国化学会", "锂电池正极材料、电化学储能、电解液与催化材料合成"),
    ("中国机械工程学会", "激光焊接工艺、焊接机器人、数控机床与智能制造产线"),
    ("中国电工技术学会", "电机控制、电力电子、储能变流器与电池管理系统"),
]
TITLES = [
    "耐水解聚氨酯弹性体配方",
    "工程塑料改性与复合材料",
    "水稻病虫害绿色防控",
    "土壤肥料与作物栽培",
    "康复器械生物传感器",
    "医学影像分析",
    "锂电池正极材料改性",
    "储能电池管理系统",
    "激光焊接机器人产线",
    "数控机床智能制造",
    "电力电子与电机控制",
    "高分子材料老化性能",
]


@pytest.fixture(scope="module")
def index() -> ProviderIndex:
    return fit_index([ProviderInput(i + 1, n, 2, (t,)) for i, (n, t) in enumerate(SOCIETIES)])


@pytest.fixture(scope="module")
def demands() -> list[DemandInput]:
    records = [{"title": t, "description": t} for t in TITLES]
    return [DemandInput(t, r) for t, r in zip(tokenize_demands(records), records, strict=True)]


@pytest.mark.parametrize("config", [RankingConfig(), RankingConfig(classifier_weight=0.0)])
@pytest.mark.parametrize("seed", range(6))
def test_the_reported_gap_bound_covers_the_dense_optimum(config: RankingConfig, seed: int) -> None:
    index = fit_index([ProviderInput(i + 1, n, 2, (t,)) for i, (n, t) in enumerate(SOCIETIES)], config)
    records = [{"title": t, "description": t} for t in TITLES]
    inputs = [DemandInput(t, r) for t, r in zip(tokenize_demands(records), records, strict=True)]
    rng = np.random.default_rng(seed)
    wanted = rng.choice([1, 2, 3], size=len(TITLES))
    capacity = rng.integers(1, 4, len(SOCIETIES))
    depth = [1.0, 0.8, 0.6] if seed % 2 else None
    problem = Problem.build(
        wanted=wanted, capacity=capacity, depth_discount=depth, candidates=1, max_widenings=0
    )
    result = match(index, inputs, problem)
    every = top_candidates(index, demand_vectors(index, inputs), len(SOCIETIES))
    optimum = assign(every, capacity, wanted, depth_discount=depth)
    discounted = _value(optimum, every, depth) - _value(result.assignment, every, depth)
    assert discounted <= result.gap_bound + 1e-9
    widened = match(index, inputs, Problem.build(wanted=wanted, capacity=capacity, depth_discount=depth))
    assert widened.certified
    assert _value(widened.assignment, every, depth) == pytest.approx(_value(optimum, every, depth), rel=1e-9)


def _value(result, scores, depth):  # type: ignore[no-untyped-def]
    """The objective widening certifies: each demand's scores best first, weighted by depth."""
    dense = scores.toarray()
    total = 0.0
    for i in np.unique(result.pairs[:, 0]):
        got = np.sort(dense[i, result.pairs[result.pairs[:, 0] == i, 1]])[::-1]
        weights = np.ones(got.size) if depth is None else np.resize(np.asarray(depth), 3)[: got.size]
        total += float(np.dot(weights, got))
    return total


def test_commitments_are_kept_beyond_capacity_and_wanted(
    index: ProviderIndex, demands: list[DemandInput]
) -> None:
    locked = [(0, 1), (0, 2), (2, 1)]  # a demand holding two providers, a provider taken twice at capacity 1
    capacity = [1] * len(SOCIETIES)
    problem = Problem.build(wanted=[1] * len(TITLES), capacity=capacity, locked=locked)
    result = match(index, demands, problem)
    chosen = {(p.row, p.col) for p in result.chosen()}
    assert set(locked) <= chosen
    assert result.capacity[1] == 2
    assert result.wanted[0] == 2
    assert all(p.score > 0 for p in result.chosen())


def test_preferences_and_previous_proposals_are_candidates_with_their_bonus(
    index: ProviderIndex, demands: list[DemandInput]
) -> None:
    # 水稻病虫害 (row 2) shares nothing with 中国机械工程学会 (col 4): only the preference makes it one
    problem = Problem.build(
        wanted=[1] * len(TITLES), capacity=[5] * len(SOCIETIES), preferred=[(2, 4)], preference_bonus=0.05
    )
    result = match(index, demands, problem)
    assert result.scores[2, 4] > 0
    assert result.affinity[2, 4] == pytest.approx(result.scores[2, 4] + 0.05)


def test_should_stop_cancels_the_match(index: ProviderIndex, demands: list[DemandInput]) -> None:
    problem = Problem.build(wanted=[1] * len(TITLES), capacity=[2] * len(SOCIETIES))
    with pytest.raises(SolveCancelled):
        match(index, demands, problem, should_stop=lambda: True)


def test_diagnose_names_why_each_demand_went_unserved(
    index: ProviderIndex, demands: list[DemandInput]
) -> None:
    unknown = [*demands, DemandInput({"title": ["ｚｚｚ"]}, {})]
    n = len(unknown)
    capacity = [0, 1, 1, 1, 1, 1]  # 中国材料研究学会 takes nobody
    forbidden = [(2, 1), (3, 1)]  # the two farming demands may not go to 中国农学会
    problem = Problem.build(wanted=[1] * n, capacity=capacity, forbidden=forbidden, min_score=0.0)
    result = match(index, unknown, problem)
    unserved, relaxations = diagnose(result, problem)
    reasons = {u.row: u.reason for u in unserved}
    assert reasons[n - 1] == "no_candidate"
    assert "capacity" in reasons.values()
    assert all(r.price >= 0 and r.gain > 0 for r in relaxations)
    assert any(r.col == 0 for r in relaxations)  # raising the materials society's capacity serves someone
