"""What the programme pages share: Chinese labels of the programme enums and the reading of their forms."""

import re
from collections.abc import Mapping
from typing import Final

from pydantic import ValidationError
from starlette.datastructures import FormData

from api.errors import HuiqiError, RequestInvalidError, translate_all
from api.programmes.models import (
    ActivityKind,
    CampaignStatus,
    FilingStatus,
    ReporterKind,
    UnitLevel,
    UnitStatus,
)
from api.programmes.units import UNIT_KIND_LABELS
from api.web import messages

CAMPAIGN_STATUS_LABELS: Final = {CampaignStatus.OPEN: "征集中", CampaignStatus.CLOSED: "已关闭"}
UNIT_LEVEL_LABELS: Final = {
    UnitLevel.NATIONAL: "国家级",
    UnitLevel.PROVINCIAL: "省级",
    UnitLevel.MUNICIPAL: "市级",
}
UNIT_STATUS_LABELS: Final = {
    UnitStatus.ACTIVE: "运行中",
    UnitStatus.SUSPENDED: "暂停",
    UnitStatus.CLOSED: "已撤销",
}
ACTIVITY_KIND_LABELS: Final = {
    ActivityKind.VISIT: "走访",
    ActivityKind.TRAINING: "培训",
    ActivityKind.CONSULTATION: "咨询",
    ActivityKind.PROJECT: "项目",
    ActivityKind.AGREEMENT: "签约",
    ActivityKind.PLATFORM: "平台建设",
    ActivityKind.OTHER: "其他",
}
FILING_STATUS_LABELS: Final = {FilingStatus.DRAFT: "未报送", FilingStatus.FILED: "已报送"}
REPORTER_KIND_LABELS: Final = {ReporterKind.SOCIETY: "学会", ReporterKind.COUNTY: "县（市、区）科协"}
LABELS: Final = {
    "campaign_status": CAMPAIGN_STATUS_LABELS,
    "unit_kind": UNIT_KIND_LABELS,
    "unit_level": UNIT_LEVEL_LABELS,
    "unit_status": UNIT_STATUS_LABELS,
    "activity_kind": ACTIVITY_KIND_LABELS,
    "filing_status": FILING_STATUS_LABELS,
    "reporter_kind": REPORTER_KIND_LABELS,
}
# Lists typed into one box: commas (either width), 、, semicolons or new lines separate the items.
_SEPARATORS = re.compile(r"[,，、;；\s]+")


def texts(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """The named fields of a form as stripped text ("" when absent)."""
    return {name: str(form.get(name) or "").strip() for name in names}


def filled(values: dict[str, str]) -> dict[str, str]:
    """Only the fields that were filled in: an empty box means "use the default"."""
    return {name: value for name, value in values.items() if value}


def split_list(text: str) -> list[str]:
    """The items of a list typed into one box."""
    return [item for item in _SEPARATORS.split(text) if item]


def field_errors(
    error: ValidationError | HuiqiError, fallback: str = "form", labels: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Messages by form field (``regions[2]`` is shown at ``regions``); others under ``fallback``.

    ``labels`` name the fields of the form's model where the shared labels mean something else.
    """
    if isinstance(error, ValidationError):
        return messages.by_field(translate_all(error.errors(), labels), labels)
    if isinstance(error, RequestInvalidError) and error.errors:
        return messages.by_field(error.errors, labels)
    return {fallback: error.detail}
