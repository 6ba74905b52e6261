"""Code tables and the region suggested from an address (no database)."""

from collections import Counter

import pytest

from api.reference import (
    discipline_codes,
    industry_codes,
    normalize_industry_code,
    normalize_region_code,
    region_codes,
    region_prefix,
    suggest_region,
)


def test_tables_have_the_sizes_of_the_standards() -> None:
    by_length = Counter(len(code) for code in industry_codes())
    # 门类, 大类, 中类 (the omitted single-小类 ones derived); the source holds 1,381 小类 for 1,380.
    assert (by_length[1], by_length[3], by_length[4]) == (20, 97, 473)
    assert by_length[5] >= 1380
    assert len(discipline_codes()) > 3000
    assert len(region_codes()) > 3000


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("C3562", "C3562"),
        ("c3562", "C3562"),
        ("3562", "C3562"),
        ("A033", "A033"),
        ("C", "C"),
        ("C9999", None),
    ],
)
def test_industry_codes_are_normalised(raw: str, code: str | None) -> None:
    assert normalize_industry_code(raw) == code


@pytest.mark.parametrize(
    ("raw", "code"),
    [("350100", "350100000000"), ("350100000000", "350100000000"), ("999999", None), ("35", None)],
)
def test_region_codes_are_normalised(raw: str, code: str | None) -> None:
    assert normalize_region_code(raw) == code


@pytest.mark.parametrize(
    ("code", "prefix"),
    [("350000000000", "35"), ("350100000000", "3501"), ("350110000000", "350110"), ("35", "35")],
)
def test_region_prefixes_cover_everything_inside(code: str, prefix: str) -> None:
    assert region_prefix(code) == prefix


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("福建省泉州市晋江市陈埭镇鞋业工业园三路16号", "晋江市"),
        ("福州市鼓楼区五四路128号", "鼓楼区"),
        ("南京市鼓楼区中山路1号", "鼓楼区"),
        ("龙岩大道1号市行政中心东附北楼406室", "龙岩市"),
        ("福州市东大路73号东湖大院2号楼", "福州市"),  # 东湖 is an estate here, not 南昌市东湖区
        ("上海浦东新区张江高科技园区", "浦东新区"),
    ],
)
def test_the_region_is_suggested_from_the_address(address: str, name: str) -> None:
    code = suggest_region(address)
    assert code is not None
    assert region_codes()[code] == name


def test_the_suggestion_follows_the_named_city() -> None:
    assert suggest_region("福州市鼓楼区五四路")[:4] == "3501"  # type: ignore[index]
    assert suggest_region("南京市鼓楼区中山路")[:4] == "3201"  # type: ignore[index]


@pytest.mark.parametrize("address", ["鼓楼区中山路1号", "某某路88号", ""])
def test_an_ambiguous_or_placeless_address_suggests_nothing(address: str) -> None:
    assert suggest_region(address) is None
