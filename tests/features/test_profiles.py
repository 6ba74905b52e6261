"""Field specs: weights, tokenizing by field, weighted bags, field labels."""

import pytest

from features.profiles import DEMAND, PROVIDER, FieldSpec, ProfileSpec, UnknownFieldError
from features.tokenize import Tokenizer


def test_title_weighs_more_than_description_and_company_fields_less() -> None:
    weights = {f.name: f.weight for f in DEMAND.fields}
    assert weights["title"] > weights["description"] > weights["main_business"] > weights["company_profile"]
    assert {f.name for f in PROVIDER.fields} >= {"name", "disciplines", "text"}


def test_bag_sums_field_weights_per_occurrence() -> None:
    bag = DEMAND.bag(
        {"title": ["焊接", "机器人"], "description": ["焊接", "焊接"], "main_business": ["机器人"]}
    )
    assert bag == {"焊接": 2.0 + 1.0 + 1.0, "机器人": 2.0 + 0.5}


def test_tokenize_fields_skips_missing_and_unknown_fields() -> None:
    profile = DEMAND.tokenize_fields(
        {"title": "激光焊接", "description": None, "main_business": "", "phone": "123"}, Tokenizer()
    )
    assert profile == {"title": ["激光", "焊接"]}


def test_fields_of_names_fields_in_chinese() -> None:
    profile = {"title": ["焊接"], "description": ["焊接", "钢"]}
    assert DEMAND.fields_of(profile, "焊接") == ("技术需求名称", "具体说明")
    assert DEMAND.fields_of(profile, "钢") == ("具体说明",)


def test_unknown_field_in_a_stored_profile_is_an_error() -> None:
    with pytest.raises(UnknownFieldError, match="phone"):
        DEMAND.bag({"phone": ["123"]})


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan")])
def test_weights_must_be_positive(weight: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        FieldSpec("title", "标题", weight)


def test_field_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ProfileSpec((FieldSpec("a", "甲", 1.0), FieldSpec("a", "乙", 2.0)))
