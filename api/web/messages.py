"""Field errors as the pages say them. The API's messages may name a pattern, a JSON field or the
allowed machine values (its readers are programmers); a page names the field by its label and says
what to choose or type instead."""

import re
from collections.abc import Iterable, Mapping
from typing import Final

from api.errors import FieldError
from api.validation import FIELD_LABELS

# What only a programmer reads: regex syntax, snake_case names, ASCII words inside brackets, JSON.
PROGRAMMER_TEXT: Final = re.compile(
    r"[\^\\{}\[\]]|\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b|\(\s*[a-z_]+\s*\)|Content-Type|Idempotency|JSON",
    re.ASCII,
)
# Messages of choices among machine values: on a page the choice is a list, so say "choose".
CHOICE_CODES: Final = frozenset({"choice_invalid", "unknown_field"})
# Field-specific advice where the API's message would show a pattern.
HINTS: Final = {
    "region": "请从列表中选择省、市或县，或输入行政区划代码（2到12位数字），如 35 或 3501",
    "region_code": "请从列表中选择省、市、县",
    "regions": "请从列表中选择省、市、县，多个地区用逗号分开",
    "industry": "请从列表中选择行业",
    "industry_code": "请从列表中选择行业",
    "discipline_code": "请从列表中选择学科",
    "code": "编码只能由字母、数字和短横线组成，2到40个字符，如 2026-ly",
    "key": "编码只能由字母、数字和短横线组成，2到40个字符，如 2026-ly",
    "demand_ids": "需求编号应为数字，多个用逗号分开",
    "capacities": "请在列表中选择服务方并填写容量（正整数）",
}


def base_field(field: str) -> str:
    """``keywords[2]`` and ``scope.region`` are shown at ``keywords`` and ``scope``."""
    return field.split("[", 1)[0].split(".", 1)[0]


def label_of(field: str, labels: Mapping[str, str] | None = None) -> str:
    """The field's name on the form."""
    base = base_field(field)
    return (labels or {}).get(base) or FIELD_LABELS.get(base) or "填写的内容"


def for_people(error: FieldError, labels: Mapping[str, str] | None = None) -> str:
    """The message of one field error as a page shows it."""
    if not PROGRAMMER_TEXT.search(error.message) and error.code not in CHOICE_CODES:
        return error.message
    label = label_of(error.field, labels)
    if error.code == "choice_invalid":
        return f"{label}请从列表中选择"
    hint = HINTS.get(base_field(error.field))
    return f"{label}的格式不对：{hint}" if hint else f"{label}填写有误，请检查后重新填写"


def by_field(errors: Iterable[FieldError], labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """One message per form field (the first one), as pages show them."""
    shown: dict[str, str] = {}
    for error in errors:
        shown.setdefault(base_field(error.field), for_people(error, labels))
    return shown


def listed(errors: Iterable[FieldError], labels: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(label, message) of each error, for a page that lists them."""
    return [(label_of(error.field, labels), for_people(error, labels)) for error in errors]
