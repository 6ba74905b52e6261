"""Reasons: shared words with contributions that add up to the score, and the fields they came from."""

import pytest

from features.profiles import DEMAND, PROVIDER
from features.tokenize import Tokenizer
from features.vectorize import TfidfVectorizer
from matcher.reasons import explain


@pytest.fixture(scope="module")
def pair() -> tuple[TfidfVectorizer, dict, dict]:
    tokenizer = Tokenizer()
    demand = DEMAND.tokenize_fields(
        {"title": "锂电池正极材料改性", "description": "提高锂电池循环寿命，降低成本"}, tokenizer
    )
    provider = PROVIDER.tokenize_fields(
        {"name": "中国化学会", "text": "电池材料、电化学储能与正极材料合成"}, tokenizer
    )
    other = PROVIDER.tokenize_fields({"name": "中国作物学会", "text": "水稻育种与栽培"}, tokenizer)
    vectorizer = TfidfVectorizer().fit([DEMAND.bag(demand), PROVIDER.bag(provider), PROVIDER.bag(other)])
    return vectorizer, demand, provider


def test_reasons_add_up_to_the_score_and_name_fields(pair: tuple[TfidfVectorizer, dict, dict]) -> None:
    vectorizer, demand, provider = pair
    d, p = vectorizer.transform([DEMAND.bag(demand), PROVIDER.bag(provider)])
    score = float((d @ p.T).toarray()[0, 0])
    reasons = explain(vectorizer, d, p, demand, DEMAND, provider, PROVIDER, limit=50)
    assert score > 0
    assert sum(r.contribution for r in reasons) == pytest.approx(score, rel=1e-5)
    assert [r.contribution for r in reasons] == sorted((r.contribution for r in reasons), reverse=True)
    by_term = {r.term: r for r in reasons}
    assert by_term["正极"].demand_fields == ("技术需求名称",)
    assert by_term["正极"].provider_fields == ("简介",)
    assert by_term["锂电池"].demand_fields == ("技术需求名称", "具体说明")
    assert by_term["锂电池"].provider_fields == ()  # reaches 电池 only through shared characters
    assert "“正极”：贡献" in by_term["正极"].describe()


def test_limit_and_unrelated_pairs(pair: tuple[TfidfVectorizer, dict, dict]) -> None:
    vectorizer, demand, _ = pair
    unrelated = PROVIDER.tokenize_fields({"text": "水稻育种与栽培"}, Tokenizer())
    d, p = vectorizer.transform([DEMAND.bag(demand), PROVIDER.bag(unrelated)])
    assert explain(vectorizer, d, p, demand, DEMAND) == []
    d, p = vectorizer.transform([DEMAND.bag(demand), DEMAND.bag(demand)])
    assert len(explain(vectorizer, d, p, demand, DEMAND, limit=2)) == 2
