"""The sentence staff read for a pair: the shared terms and the demand field each came from."""

from matcher.reasons import explain


def test_explain_names_terms_and_fields_in_order() -> None:
    reasons = [
        {"term": "聚氨酯", "weight": 0.2, "field": "title"},
        {"term": "弹性体", "weight": 0.1, "field": ""},
    ]
    assert explain(reasons) == "共同关键词：“聚氨酯”（title）、“弹性体”（需求）"


def test_a_pair_without_shared_words_says_so() -> None:
    assert explain([]) == "无共同关键词，仅字面片段相近"
