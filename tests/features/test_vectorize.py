"""The TF-IDF vectorizer: unit norms, the word/character mix, idf, persistence with a version."""

import random
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from features.vectorize import (
    TfidfVectorizer,
    VectorizerVersionError,
    _block_counts,
    _weights_of,
    char_ngrams,
)

CORPUS = [
    {"激光": 2.0, "焊接": 1.0, "机器人": 1.0},
    {"焊接": 1.0, "工艺": 1.0},
    {"锂电池": 1.0, "正极": 1.0, "材料": 1.0},
    {"电池": 1.0, "材料": 2.0, "plc": 1.0},
]


def cosine(vectorizer: TfidfVectorizer, a: dict[str, float], b: dict[str, float]) -> float:
    matrix = vectorizer.transform([a, b])
    return float((matrix[0] @ matrix[1].T).toarray()[0, 0])


def test_rows_have_unit_norm_and_empty_bags_give_zero_rows() -> None:
    vectorizer = TfidfVectorizer().fit(CORPUS)
    matrix = vectorizer.transform([*CORPUS, {}, {"未见过": 1.0}])
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, [1, 1, 1, 1, 0, 0], atol=1e-6)
    assert matrix.dtype == np.float32


def test_cosine_mixes_word_and_character_blocks_by_char_weight() -> None:
    a, b = CORPUS[2], CORPUS[3]
    words = TfidfVectorizer(char_weight=0.0).fit(CORPUS)
    chars = TfidfVectorizer(char_weight=1.0).fit(CORPUS)
    mixed = TfidfVectorizer(char_weight=0.3).fit(CORPUS)
    expected = 0.7 * cosine(words, a, b) + 0.3 * cosine(chars, a, b)
    assert cosine(mixed, a, b) == pytest.approx(expected, abs=1e-6)


def test_character_ngrams_link_related_words() -> None:
    a, b = {"锂电池": 1.0}, {"电池": 1.0}
    assert cosine(TfidfVectorizer(char_weight=0.0).fit(CORPUS), a, b) == 0.0
    assert cosine(TfidfVectorizer(char_weight=0.5).fit(CORPUS), a, b) > 0.2


def test_rare_terms_weigh_more_than_common_ones() -> None:
    vectorizer = TfidfVectorizer(char_weight=0.0).fit(CORPUS)
    assert (
        vectorizer.word_idf_[vectorizer.word_vocabulary_["激光"]]
        > (vectorizer.word_idf_[vectorizer.word_vocabulary_["焊接"]])
    )


def test_min_df_drops_rare_features() -> None:
    vectorizer = TfidfVectorizer(char_weight=0.0, min_df=2).fit(CORPUS)
    assert set(vectorizer.word_vocabulary_) == {"焊接", "材料"}


def test_max_df_drops_features_most_documents_share() -> None:
    vectorizer = TfidfVectorizer(char_weight=0.0, max_df=0.5).fit(CORPUS)
    assert "焊接" in vectorizer.word_vocabulary_  # in 2 of 4 documents: kept
    assert (
        TfidfVectorizer(char_weight=0.0, max_df=0.25)
        .fit(CORPUS)
        .word_vocabulary_.keys()
        .isdisjoint({"焊接", "材料"})
    )
    with pytest.raises(ValueError, match="max_df"):
        TfidfVectorizer(max_df=0.0).fit(CORPUS)


def test_char_ngrams_only_inside_chinese_terms() -> None:
    assert char_ngrams("锂电池", 2, 3) == ("锂电", "电池", "锂电池")
    assert char_ngrams("plc", 2, 3) == ()
    assert char_ngrams("钢", 2, 3) == ()


def test_feature_names_and_features_of_agree() -> None:
    vectorizer = TfidfVectorizer().fit(CORPUS)
    names = vectorizer.feature_names()
    assert sorted(names[vectorizer.features_of("锂电池")]) == ["#电池", "#锂电", "#锂电池", "锂电池"]
    assert vectorizer.features_of("没有") == []


def test_sklearn_conventions() -> None:
    vectorizer = TfidfVectorizer(char_weight=0.2, min_df=3)
    assert clone(vectorizer).get_params() == vectorizer.get_params()
    with pytest.raises(NotFittedError):
        vectorizer.transform(CORPUS)
    with pytest.raises(ValueError, match="char_weight"):
        TfidfVectorizer(char_weight=1.5).fit(CORPUS)
    with pytest.raises(ValueError, match="empty"):
        TfidfVectorizer().fit([])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    vectorizer = TfidfVectorizer().fit(CORPUS)
    path = tmp_path / "vectorizer.joblib"
    vectorizer.save(path)
    loaded = TfidfVectorizer.load(path)
    assert (loaded.transform(CORPUS) != vectorizer.transform(CORPUS)).nnz == 0


def test_load_refuses_other_dictionaries_or_foreign_files(tmp_path: Path) -> None:
    vectorizer = TfidfVectorizer().fit(CORPUS)
    stale = tmp_path / "stale.joblib"
    joblib.dump({"signature": "0:older", "vectorizer": vectorizer}, stale)
    with pytest.raises(VectorizerVersionError, match="refit"):
        TfidfVectorizer.load(stale)
    foreign = tmp_path / "foreign.joblib"
    joblib.dump([1, 2, 3], foreign)
    with pytest.raises(VectorizerVersionError, match="does not hold"):
        TfidfVectorizer.load(foreign)


def _scan_counts(
    bags: list[dict[str, float]], vocabulary: dict[str, int], grow: bool, ngrams: tuple[int, int] | None
) -> sp.csr_matrix:
    """The obvious bag-by-bag count: the oracle for the vectorizer's product of two sparse matrices."""
    rows = []
    for bag in bags:
        row: dict[int, float] = {}
        for term, weight in bag.items():
            for feature in (term,) if ngrams is None else char_ngrams(term, *ngrams):
                if feature not in vocabulary and grow:
                    vocabulary[feature] = len(vocabulary)
                if feature in vocabulary:
                    row[vocabulary[feature]] = row.get(vocabulary[feature], 0.0) + weight
        rows.append(row)
    matrix = sp.lil_matrix((len(bags), len(vocabulary)))
    for r, row in enumerate(rows):
        for c, value in row.items():
            matrix[r, c] = value
    return sp.csr_matrix(matrix)


@pytest.mark.parametrize("ngrams", [None, (1, 2), (2, 3)])
def test_block_counts_equal_a_bag_by_bag_scan(ngrams: tuple[int, int] | None) -> None:
    rng = random.Random(7)
    pool = ["材料", "材料材料", "高分子材料", "plc", "5g", "聚氨酯", "料", "", "3d打印", "弹性体", "水稻"]
    bags = [
        {rng.choice(pool): rng.choice([0.5, 1.0, 2.0]) for _ in range(rng.randint(0, 6))} for _ in range(60)
    ]
    grown: dict[str, int] = {}
    expected_vocabulary: dict[str, int] = {}
    fitted = _block_counts(*_weights_of(bags[:40]), grown, True, ngrams)
    expected = _scan_counts(bags[:40], expected_vocabulary, True, ngrams)
    assert list(grown.items()) == list(expected_vocabulary.items())  # same features, same columns
    assert abs(fitted - expected).max() == 0
    unseen = _block_counts(*_weights_of(bags[40:]), grown, False, ngrams)
    assert abs(unseen - _scan_counts(bags[40:], dict(grown), False, ngrams)).max() == 0
    assert len(grown) == len(expected_vocabulary)  # transforming adds nothing
