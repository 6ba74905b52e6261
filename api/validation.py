"""Field types shared by the API's request schemas, and the Chinese message of every validation code.

Validators raise :class:`pydantic_core.PydanticCustomError` with a machine code only; the text a person
reads is built from :data:`MESSAGES` at the edge (``api.errors``), with the field's Chinese label.
"""

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, Final, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

# Chinese message templates by machine code; ``{label}`` is the field's Chinese name.
MESSAGES: Final[Mapping[str, str]] = {
    "required": "请填写{label}",
    "blank": "{label}不能为空白",
    "too_long": "{label}最多{max_length}个字，请删减后再提交",
    "too_many": "{label}最多{max_length}项，请删减后再提交",
    "type_invalid": "{label}应为{expected}",
    "unknown_field": "不认识的字段“{field}”，请检查字段名",
    "number_invalid": "{label}应为数字",
    "number_too_small": "{label}不能小于{min}",
    "number_too_large": "{label}不能大于{max}",
    "decimal_places": "{label}最多保留{decimal_places}位小数",
    "date_invalid": "{label}应为日期，格式如 2025-06-30",
    "date_nonexistent": "{label}“{value}”不是日历上有的日期，请检查月份和日",
    "datetime_invalid": "{label}应为日期或时间，格式如 2025-06-30 或 2025-06-30T08:00:00+08:00",
    "choice_invalid": "{label}应为以下之一：{choices}",
    "mobile_invalid": "手机号码应为以1开头的11位数字（第二位为3-9），如 13812345678",
    "phone_invalid": "{label}应为固定电话号码，如 0591-87654321 或 0591-87654321-123",
    "email_invalid": "E-mail 格式不正确，应如 name@example.com",
    "url_invalid": "网址格式不正确，应如 https://www.example.com",
    "postcode_invalid": "邮编应为6位数字，如 350001",
    "industry_code_unknown": "行业代码“{value}”不在《国民经济行业分类》GB/T 4754-2017 中，应如 C3562",
    "discipline_code_unknown": "学科代码“{value}”不在《学科分类与代码》GB/T 13745-2009 中，应如 52010",
    "region_code_unknown": "行政区划代码“{value}”不存在，应为6位或12位代码，如 350100",
    "contact_phone_required": "请至少填写手机或办公电话中的一项，以便联系",
    "json_invalid": "请求内容不是有效的 JSON（第{position}个字符附近有误），请检查引号、逗号和括号",
    "body_not_object": '请求内容应为 JSON 对象，如 {{"title": "…"}}',
    "content_type_invalid": "请以 Content-Type: application/json 提交，当前为“{value}”",
    "reason_required": "退回需求时请填写退回原因，告诉企业需要修改什么",
    "pairing_reason_required": "拒绝配对时请填写拒绝原因，说明该服务方为何不合适",
    "round_demand_unknown": "需求 {value} 不存在",
    "round_provider_unknown": "{level_label} {value} 不存在或已停用，不能参加本轮匹配",
    "dates_out_of_order": "截止日期不能早于开始日期",
    "idempotency_key_reused": "Idempotency-Key 已用于另一份内容不同的提交，请为新的需求换一个键",
    "idempotency_key_invalid": "Idempotency-Key 应为1到200个可见字符",
    "nsfc_code_unknown": "国家自然科学基金申请代码“{value}”不存在，应如 E0508",
    "society_not_found": "学会 {value} 不存在，请先在学会列表中查到它的编号",
    "branch_not_in_society": "分会 {value} 不存在或不属于所填的学会",
    "provider_not_found": "{level_label} {value} 不存在",
    "post_repeated": "同一学会（分会）的任职只能填写一次",
    "file_type_invalid": "文件应为 CSV（UTF-8）或 XLSX，当前为“{value}”",
    "depth_discount_rising": "{label}应逐位不增（后一位不大于前一位），如 1, 0.8, 0.6",
    "control_character": "{label}含有不可见的控制字符 {char}，请删除后再提交",
    "text_encoding_invalid": "{label}含有无法识别的字符（不成对的 Unicode 代理项），请重新输入后再提交",
    "body_encoding_invalid": "请求内容应为 UTF-8 编码的 JSON，请检查文件或程序的字符编码",
    "pattern_invalid": "{label}“{value}”的格式不对，应符合 {pattern}",
    "csv_invalid": "文件第{line}行无法按 CSV 读取（单元格超过13万字或引号不成对），请检查后再导入",
    "column_repeated": "表头中的列“{value}”出现了不止一次，请只保留一列",
    "cells_beyond_header": "文件第{line}行的单元格比表头多，请补上表头或删去多余的单元格",
    "staff_change_empty": "请至少填写角色或账号状态中的一项",
    "multipart_invalid": (
        "上传内容不是有效的表单（multipart/form-data 缺少分隔符或格式有误），请通过网页或表单方式上传文件"
    ),
    "duplicate_key": "JSON 中的字段“{value}”出现了不止一次，请只保留一个",
    "date_out_of_range": "{label}“{value}”超出可用范围，应在 {min} 至 {max} 之间",
    "invalid": "{label}的值不符合要求",
}

# Chinese names of request fields, by API name; filled by each domain's schemas.
FIELD_LABELS: dict[str, str] = {}

COOPERATION_MODES: Final = (
    "技术开发",
    "技术转让",
    "技术许可",
    "技术咨询",
    "技术服务",
    "联合攻关",
    "人才培养",
)

_MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
_PHONE = re.compile(
    r"^(?:\(?0\d{2,3}\)?-?)?[2-9]\d{6,7}(?:(?:-|转|#)\d{1,6})?$|^[48]00-?\d{3}-?\d{4}$", re.ASCII
)
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_HOST = re.compile(
    r"^(?:[A-Za-z0-9\u4e00-\u9fff](?:[A-Za-z0-9\u4e00-\u9fff-]{0,61}[A-Za-z0-9\u4e00-\u9fff])?\.)+"
    r"[A-Za-z\u4e00-\u9fff]{2,63}$"
)
_VISIBLE_ASCII = re.compile(r"[!-~]+")
_POSTCODE = re.compile(r"^\d{6}$", re.ASCII)
_SEPARATORS = re.compile(r"[\s\-－—]")
# C0 controls other than tab, line feed and carriage return, and DEL: never typed on purpose, invisible
# when shown, and NUL is refused by PostgreSQL's text type (which would turn a typo into a 500).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A lone UTF-16 surrogate ("\ud800" in JSON) cannot be encoded as UTF-8, so no database can store it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


# --- dates ------------------------------------------------------------------------------------------
# One rule for every date and time the service is given, in bodies, queries and forms alike: days from
# 1900 to 2099 (nothing the associations record lies outside, and arithmetic on the extremes of
# Python's calendar overflows), and times without a zone are Beijing time, as staff read them on pages.
EARLIEST_DAY: Final = date(1900, 1, 1)
LATEST_DAY: Final = date(2099, 12, 31)
CHINA_TIME: Final = timezone(timedelta(hours=8), "CST")
_DAY_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$", re.ASCII)


def day_in_range(day: date) -> bool:
    """Whether ``day`` lies within :data:`EARLIEST_DAY` … :data:`LATEST_DAY`."""
    return EARLIEST_DAY <= day <= LATEST_DAY


def day_range_context(day: date) -> dict[str, str]:
    """The message context of ``date_out_of_range`` for ``day``."""
    return {"value": day.isoformat(), "min": EARLIEST_DAY.isoformat(), "max": LATEST_DAY.isoformat()}


def _check_day(value: date) -> date:
    if not day_in_range(value):
        raise invalid("date_out_of_range", **day_range_context(value))
    return value


def _day_only_as_midnight(value: Any) -> Any:
    # "since=2026-01-02" is the start of that day, the form the error message itself suggests.
    if isinstance(value, str) and _DAY_ONLY.match(value):
        return f"{value.strip()}T00:00:00"
    return value


def _as_utc(value: datetime) -> datetime:
    # The range first: 0001-01-01T00:00:00+14:00 has no UTC equivalent in Python's calendar.
    _check_day(value.date())
    aware = value if value.tzinfo is not None else value.replace(tzinfo=CHINA_TIME)
    return aware.astimezone(UTC)


def read_day(text: str, label: str = "日期") -> date:
    """A day typed by a person (full-width digits too) within the range; ValueError with a Chinese reason.

    For the command line and the staff pages' query strings, which are not read by pydantic.
    """
    try:
        day = date.fromisoformat(_half_width(text).strip())
    except ValueError:
        raise ValueError(f"{label}“{text}”不是有效日期，格式如 2026-06-30") from None
    if not day_in_range(day):
        raise ValueError(MESSAGES["date_out_of_range"].format(label=label, **day_range_context(day)))
    return day


Day = Annotated[date, AfterValidator(_check_day)]
# A moment: a date alone is its midnight, a time without a zone is Beijing time; always aware, in UTC.
Moment = Annotated[datetime, BeforeValidator(_day_only_as_midnight), AfterValidator(_as_utc)]


def register_labels(labels: Mapping[str, str]) -> None:
    """Declare the Chinese labels of a schema's fields, used in the messages of its errors."""
    FIELD_LABELS.update(labels)


def invalid(code: str, **context: Any) -> PydanticCustomError:
    """A validation error carrying only a machine code and its message context."""
    return PydanticCustomError(code, code, context or None)


def with_extra_error(error: ValidationError, code: str, field: str) -> ValidationError:
    """``error`` with one more error for ``field``: lets a model-wide rule report with the field rules."""
    details: list[InitErrorDetails] = [
        {
            "type": PydanticCustomError(item["type"], item["msg"], item.get("ctx")),
            "loc": item["loc"],
            "input": item["input"],
        }
        for item in error.errors()
    ]
    details.append({"type": invalid(code), "loc": (field,), "input": None})
    return ValidationError.from_exception_data(error.title, details)


def check_text(value: Any) -> Any:
    """Refuse control characters and lone surrogates anywhere in a text or a list of texts."""
    if isinstance(value, str):
        if control := _CONTROL.search(value):
            raise invalid("control_character", char=f"U+{ord(control.group()):04X}")
        if _SURROGATE.search(value):
            raise invalid("text_encoding_invalid")
    elif isinstance(value, list | tuple):
        for item in value:
            check_text(item)
    return value


class InputModel(BaseModel):
    """Base of request bodies: whitespace trimmed, unknown fields refused, no invisible characters."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _printable(cls, value: Any, info: ValidationInfo) -> Any:
        # Before the field's own type: a NUL in a date or a code is reported as what it is. Chinese input
        # methods type dates as ２０２６－０６－３０; only date fields are converted, since in free text the
        # full-width forms are the writer's choice.
        check_text(value)
        if isinstance(value, str):
            value = _trim_invisible(value)
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, str) and field is not None and _holds_date(field.annotation):
            return _half_width(value)
        return value


def _trim_invisible(value: str) -> str:
    # Zero-width and direction marks (Unicode format characters) at either end show nothing: a title of
    # only "\u200b\u200e" is blank. Inside a text they stay (emoji sequences, mixed-script names).
    start, end = 0, len(value)
    while start < end and (value[start].isspace() or unicodedata.category(value[start]) == "Cf"):
        start += 1
    while end > start and (value[end - 1].isspace() or unicodedata.category(value[end - 1]) == "Cf"):
        end -= 1
    return value[start:end]


def _holds_date(annotation: Any) -> bool:
    return annotation is date or any(_holds_date(inner) for inner in get_args(annotation))


def visible_ascii_key(value: str | None) -> str | None:
    """An Idempotency-Key: printable ASCII between optional blanks (an all-blank key means none)."""
    if value is not None and value.strip() and not _VISIBLE_ASCII.fullmatch(value.strip()):
        raise invalid("idempotency_key_invalid")
    return value


def blank_to_none(value: Any) -> Any:
    """Optional fields: an empty or all-blank string means the field was left empty."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _half_width(value: str) -> str:
    # Chinese input methods type full-width digits and dashes (１３８－…); store them as ASCII.
    return unicodedata.normalize("NFKC", value)


def _check_mobile(value: str | None) -> str | None:
    if value is None:
        return None
    digits = _SEPARATORS.sub("", _half_width(value))
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _MOBILE.fullmatch(digits):
        raise invalid("mobile_invalid")
    return digits


def _check_phone(value: str | None) -> str | None:
    if value is None:
        return None
    compact = re.sub(r"\s+", "", _half_width(value)).replace("—", "-")
    if compact.startswith("+86"):
        compact = compact[3:].lstrip("-")
    if not (_PHONE.fullmatch(compact) or _MOBILE.fullmatch(compact)):
        raise invalid("phone_invalid")
    return compact


def _check_email(value: str | None) -> str | None:
    if value is None:
        return None
    if not _EMAIL.fullmatch(value) or len(value) > 254:
        raise invalid("email_invalid")
    return value


def _check_url(value: str | None) -> str | None:
    if value is None:
        return None
    # Forms often carry "www.example.com" without a scheme: read it as http.
    candidate = value if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value) else f"http://{value}"
    parts = urlsplit(candidate)
    if (
        parts.scheme.lower() not in {"http", "https"}
        or not _HOST.fullmatch(parts.hostname or "")
        or " " in value
    ):
        raise invalid("url_invalid")
    return candidate


def _check_postcode(value: str | None) -> str | None:
    if value is None:
        return None
    code = _half_width(value)
    if not _POSTCODE.fullmatch(code):
        raise invalid("postcode_invalid")
    return code


MobileNumber = Annotated[str | None, BeforeValidator(blank_to_none), AfterValidator(_check_mobile)]
PhoneNumber = Annotated[str | None, BeforeValidator(blank_to_none), AfterValidator(_check_phone)]
EmailAddress = Annotated[str | None, BeforeValidator(blank_to_none), AfterValidator(_check_email)]
WebAddress = Annotated[str | None, BeforeValidator(blank_to_none), AfterValidator(_check_url)]
Postcode = Annotated[str | None, BeforeValidator(blank_to_none), AfterValidator(_check_postcode)]
# Ids: the tables' integer keys stop at 2**31 - 1 (PostgreSQL integer); a larger number names no row and
# would otherwise fail in the database instead of being reported under its field.
MAX_ROW_ID: Final = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
# In a path, 0 and negative ids stay "not found" (404); only numbers no key can reach are refused.
PathId = Annotated[int, Field(le=MAX_ROW_ID)]


def row_id(text: str) -> int | None:
    """The id ``text`` names: ASCII digits within the key range; None for any other text.

    ``str.isdigit`` alone also accepts "²" and "３" (``int("²")`` raises) and numbers no key can reach.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ROW_ID else None


# Query and path texts: the same refusal as in bodies, reported under the parameter's name.
ParameterText = Annotated[str, AfterValidator(check_text)]
