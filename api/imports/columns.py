"""Column headers to demand fields: the 附件1 labels in Chinese, a few common variants, or API names."""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from api.demands.schemas import CODE_FIELDS, DETAIL_FIELDS, FORM1_FIELDS, LABELS

# The 附件1 fields and the structured fields of a submission, in the form's order, then the campaign it
# was collected in and the society that forwarded it (by number, as staff see them in the campaign list).
FIELDS: Final = (*FORM1_FIELDS, *CODE_FIELDS, *DETAIL_FIELDS, "campaign_id", "collected_by_society_id")
# Headers of every field: the demand labels, plus the two programme fields.
FIELD_LABELS: Final[Mapping[str, str]] = {
    **LABELS,
    "campaign_id": "征集活动编号",
    "collected_by_society_id": "汇总填报学会编号",
}
# The form prints address and postcode in one box; 汇总表 copy that header.
ADDRESS_POSTCODE: Final = "address_postcode"
REQUIRED: Final = ("org_name", "contact_name", "title", "description")
PHONES: Final = ("mobile", "office_phone")
# Columns an export adds for people; they describe the stored demand and are not imported.
EXPORT_ONLY: Final = {"编号": "id", "状态": "status", "提交时间": "created_at"}

_ALIASES: Final = {
    "email": ("email", "e-mail", "邮箱", "电子邮箱", "电子邮件"),
    "website": ("网站", "单位网址"),
    "mobile": ("手机号", "手机号码", "联系人手机"),
    "office_phone": ("电话", "联系电话", "固定电话"),
    "address": ("地址", "通讯地址", "单位地址"),
    "postcode": ("邮政编码",),
    "title": ("需求名称", "项目名称"),
    "description": ("技术需求说明", "需求说明", "具体技术需求说明"),
    "company_profile": ("单位概况", "企业简介", "单位简介"),
    "budget_wan": ("预算", "预算(万元)", "投入预算(万元)"),
    "campaign_id": ("征集活动", "活动编号"),
    "collected_by_society_id": ("转报学会编号", "汇总学会编号"),
    ADDRESS_POSTCODE: ("联系地址、邮编", "联系地址及邮编", "联系地址,邮编", "地址、邮编", "地址及邮编"),
}


def normalize_label(text: str) -> str:
    """A header as compared: NFKC, no spaces or line breaks, no required-marks or colons, lower case."""
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s*:：]+", "", folded).lower()


def _catalogue() -> dict[str, str]:
    names: dict[str, str] = {}
    for field in FIELDS:
        names[normalize_label(field)] = field
        names[normalize_label(FIELD_LABELS[field])] = field
    for field, aliases in _ALIASES.items():
        names.update({normalize_label(alias): field for alias in aliases})
    return names


CATALOGUE: Final[Mapping[str, str]] = _catalogue()
_IGNORED: Final = frozenset(normalize_label(label) for label in EXPORT_ONLY) | frozenset(EXPORT_ONLY.values())


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which column holds which field, and the headers nobody recognised."""

    fields: dict[int, str]
    extra: list[str]

    def missing_required(self) -> list[str]:
        """Required fields with no column (the address column does not stand in for a phone)."""
        present = self._present()
        missing = [field for field in REQUIRED if field not in present]
        if not any(phone in present for phone in PHONES):
            missing.append("mobile")
        return missing

    def _present(self) -> set[str]:
        return set(self.fields.values())


def field_of(header: str) -> str | None:
    """The field a header names, or None."""
    return CATALOGUE.get(normalize_label(header))


def map_columns(headers: Sequence[object]) -> ColumnMap:
    """Map each header to its field; the first of two columns for one field wins, the second is extra."""
    fields: dict[int, str] = {}
    extra: list[str] = []
    for position, header in enumerate(headers):
        text = "" if header is None else str(header)
        field = field_of(text)
        if field and field not in fields.values():
            fields[position] = field
        elif text.strip() and normalize_label(text) not in _IGNORED:
            extra.append(text.strip())
    return ColumnMap(fields, extra)


def header_score(cells: Sequence[object]) -> int:
    """How many cells of a row are known headers: the header row is the one that scores best."""
    return sum(1 for cell in cells if cell is not None and field_of(str(cell)) is not None)


_POSTCODE_AT_END: Final = re.compile(
    r"^(?P<address>.*?)[\s,，;；、/（(]*(?:邮编|邮政编码)?[:：]?\s*(?P<code>\d{6})[)）]?\s*$"
)


def split_address_postcode(text: str) -> tuple[str | None, str | None]:
    """Split "福州市鼓楼区五四路128号，350001" into address and postcode; no trailing code: all address."""
    found = _POSTCODE_AT_END.match(text.strip())
    if found is None:
        return (text.strip() or None), None
    return (found["address"].strip() or None), found["code"]
