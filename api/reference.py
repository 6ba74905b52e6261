"""Code tables the service validates against: GB/T 4754-2017, GB/T 13745-2009 and region codes.

The tables are the files shipped under ``fixtures/reference`` (read through :mod:`fixtures.catalog`),
loaded once per process.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from fixtures.catalog import load_gbt4754, load_gbt13745, load_regions

_REGION_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "自治州",
    "地区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
)
# Names that say nothing about where an address is (placeholders of the statistics table).
_PLACEHOLDER_REGION_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_INDUSTRY_CODE = re.compile(r"^[A-T](\d{2}){0,1}(\d{1,2})?$")


@dataclass(frozen=True, slots=True)
class RegionName:
    """A region's 12-digit code with the names by which an address may mention it."""

    code: str
    names: tuple[str, ...]

    @property
    def level(self) -> int:
        """1 province, 2 prefecture, 3 county."""
        return 1 if self.code[2:] == "0" * 10 else 2 if self.code[4:] == "0" * 8 else 3


@cache
def industry_codes() -> Mapping[str, str]:
    """GB/T 4754-2017 codes (A, A01, A011, A0111) with names, including the 中类 the source omits."""
    table = {code: industry.name for code, industry in load_gbt4754().items()}
    for code, industry in load_gbt4754().items():
        # A 中类 with a single 小类 of the same name is absent from the source table.
        if industry.level == 4:
            table.setdefault(code[:4], industry.name)
    return table


def normalize_industry_code(raw: str) -> str | None:
    """Return the canonical code for ``raw`` ("c3562", "3562" or "C3562"), or None if unknown."""
    code = raw.strip().upper()
    if code.isdigit():
        code = _section_of(code) + code
    return code if code in industry_codes() else None


def _section_of(digits: str) -> str:
    for code in industry_codes():
        if len(code) > 1 and code[1:3] == digits[:2]:
            return code[0]
    return ""


@cache
def discipline_codes() -> Mapping[str, str]:
    """GB/T 13745-2009 codes (3, 5 or 7 digits) with names."""
    return {code: discipline.name for code, discipline in load_gbt13745().items()}


@cache
def region_codes() -> Mapping[str, str]:
    """12-digit 统计用区划代码 with names."""
    return {code: region.name for code, region in load_regions().items()}


def normalize_region_code(raw: str) -> str | None:
    """Return the 12-digit code for a 6- or 12-digit ``raw`` code, or None if unknown."""
    code = raw.strip()
    if len(code) == 6 and code.isdigit():
        code += "000000"
    return code if code in region_codes() else None


def region_prefix(code: str) -> str:
    """The prefix shared by a region and everything inside it ("350100000000" -> "3501")."""
    stripped = code.strip().rstrip("0")
    return stripped + "0" * (len(stripped) % 2)


def _short_names(name: str) -> tuple[str, ...]:
    names = [name]
    for suffix in _REGION_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            names.append(name[: -len(suffix)])
            break
    return tuple(names)


@cache
def _region_names() -> tuple[RegionName, ...]:
    return tuple(
        RegionName(code, _short_names(name))
        for code, name in region_codes().items()
        if name not in _PLACEHOLDER_REGION_NAMES
    )


def suggest_region(address: str) -> str | None:
    """Suggest the most specific region an address names, or None when it names none unambiguously.

    A county's short name counts only next to its province or prefecture. A county name shared by
    several places ("鼓楼区") wins only when the address also names its province or prefecture;
    among equally supported candidates the common ancestor is returned.
    """
    named = _regions_named_in(address)
    codes = {region.code for region in named}
    # A county's short name ("东湖" of 东湖区) is too often a street or estate name to count alone.
    mentioned = [
        region
        for region in named
        if region.names[0] in address or region.level < 3 or _ancestor_support(region.code, codes)
    ]
    if not mentioned:
        return None
    scored = [(_ancestor_support(region.code, codes), region.level, region.code) for region in mentioned]
    best = max(scored)
    tied = [code for support, level, code in scored if (support, level) == best[:2]]
    return tied[0] if len(tied) == 1 else _common_ancestor(tied)


@cache
def _names_by_first_character() -> dict[str, list[tuple[str, RegionName]]]:
    index: dict[str, list[tuple[str, RegionName]]] = {}
    for region in _region_names():
        for name in region.names:
            index.setdefault(name[0], []).append((name, region))
    return index


def _regions_named_in(address: str) -> list[RegionName]:
    # Look up only the names that start at each character of the address: a few dozen comparisons
    # instead of one substring search per name of the table.
    index = _names_by_first_character()
    found: dict[str, RegionName] = {}
    for start, character in enumerate(address):
        for name, region in index.get(character, ()):
            if address.startswith(name, start):
                found[region.code] = region
    return list(found.values())


def _ancestor_support(code: str, mentioned: set[str]) -> int:
    ancestors = {code[:2] + "0" * 10, code[:4] + "0" * 8} - {code}
    return len(ancestors & mentioned)


def _common_ancestor(codes: list[str]) -> str | None:
    for width in (4, 2):
        prefixes = {code[:width] for code in codes}
        if len(prefixes) == 1:
            candidate = prefixes.pop().ljust(12, "0")
            return candidate if candidate in region_codes() else None
    return None
