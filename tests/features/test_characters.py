"""Character n-gram SVM provider scores: held-out texts find their provider; bad inputs refused."""

import numpy as np
import pytest

from features.characters import CharacterSvm, character_text
from tests.features.conftest import read_tsv

TEXTS = [
    "锂电池正极材料的合成与表征",
    "电解液与锂离子电池的循环寿命",
    "水稻育种与高产栽培技术",
    "小麦抗病品种的选育",
    "激光焊接工艺参数优化",
    "焊接机器人的路径规划",
]
OWNER = [0, 0, 1, 1, 2, 2]


def test_character_text_normalises_width_script_and_case() -> None:
    assert character_text("雜交水稻ＰＬＣ控制") == "杂交水稻plc控制"


def test_held_out_texts_score_their_provider_highest() -> None:
    model = CharacterSvm().fit(TEXTS, OWNER, 3)
    scores = model.decision_function(["锂电池正极改性", "水稻高产品种", "焊接机器人"])
    assert scores.shape == (3, 3)
    assert scores.dtype == np.float32
    assert list(scores.argmax(axis=1)) == [0, 1, 2]


def test_provider_without_documents_scores_below_every_learned_one() -> None:
    model = CharacterSvm().fit(TEXTS, OWNER, 4)
    scores = model.decision_function(TEXTS)
    assert (scores[:, 3] < scores[:, :3].min(axis=1)).all()
    assert model.n_bytes == model.weights_.nbytes + model.intercept_.nbytes
    assert model.weights_.shape == (len(model.vectorizer_.vocabulary_), 4)


def test_two_providers_get_the_two_sides_of_one_hyperplane() -> None:
    model = CharacterSvm().fit(TEXTS[:4], OWNER[:4], 2)
    scores = model.decision_function(["锂电池", "水稻"])
    np.testing.assert_allclose(scores[:, 0], -scores[:, 1])
    assert list(scores.argmax(axis=1)) == [0, 1]


@pytest.mark.parametrize(
    ("owner", "n_providers", "c", "message"),
    [
        ([0, 0, 1], 3, 0.3, "one owner per document"),
        ([0, 0, 1, 1, 2, 3], 3, 0.3, r"owner values must lie in \[0, 3\)"),
        ([0, 0, 0, 0, 0, 0], 3, 0.3, "at least two providers"),
        (OWNER, 3, 0.0, "c must be positive"),
    ],
)
def test_bad_inputs_are_refused(owner: list[int], n_providers: int, c: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CharacterSvm(c=c).fit(TEXTS, owner, n_providers)


def test_real_abstracts_of_distinct_disciplines_are_told_apart() -> None:
    """Six csl-dev disciplines far apart: held-out abstracts land on their own discipline."""
    rows = read_tsv("csl-dev/fewclue_csldcp_labeled.tsv")
    wanted = ["水产", "天文学", "口腔医学", "计算机科学与技术", "农业工程", "体育学"]
    by_label = {label: [r["abstract"] for r in rows if r["discipline"] == label] for label in wanted}
    train = [(i, text) for i, label in enumerate(wanted) for text in by_label[label][:12]]
    held_out = [(i, text) for i, label in enumerate(wanted) for text in by_label[label][12:20]]
    model = CharacterSvm().fit([character_text(t) for _, t in train], [i for i, _ in train], len(wanted))
    scores = model.decision_function([character_text(t) for _, t in held_out])
    accuracy = float(np.mean(scores.argmax(axis=1) == [i for i, _ in held_out]))
    assert accuracy >= 0.75  # chance is 1 in 6
