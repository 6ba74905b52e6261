"""One error hierarchy, one table of foreign exceptions, one handler, one body shape.

Every error answer has the body ``{"detail": str, "code": str, "errors": [{"field", "code",
"message"}]}``: ``detail`` is a Chinese sentence, ``code`` a stable machine code and ``errors`` lists
every bad field by its API name (empty when the error is not about fields).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Final, get_args

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.validation import FIELD_LABELS, MESSAGES
from matcher import errors as matcher_errors


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad field: its API name, a machine code and a message a person can act on."""

    field: str
    code: str
    message: str


class HuiqiError(Exception):
    """Base of the service's errors; subclasses fix the HTTP status and the machine code."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_detail: ClassVar[str] = "请求有误"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})
        super().__init__(self.detail)


class NotFoundError(HuiqiError):
    """The resource does not exist."""

    status_code = 404
    code = "not_found"
    default_detail = "找不到请求的内容"


class AuthenticationError(HuiqiError):
    """No valid credentials came with the request."""

    status_code = 401
    code = "unauthorized"
    default_detail = "请先登录：请求缺少有效的访问令牌"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class PermissionDeniedError(HuiqiError):
    """The credentials are valid but do not open this resource."""

    status_code = 403
    code = "forbidden"
    default_detail = "没有权限访问该内容"


class ConflictError(HuiqiError):
    """The request is well formed but contradicts the current state."""

    status_code = 409
    code = "conflict"
    default_detail = "请求与当前状态冲突"


class InvalidTransitionError(ConflictError):
    """A status change the review workflow does not allow."""

    code = "invalid_transition"


class RequestInvalidError(HuiqiError):
    """Fields of a well-formed request break a rule (422)."""

    status_code = 422
    code = "validation_error"
    default_detail = "请求内容有误"


class UnsupportedMediaTypeError(HuiqiError):
    """The body is not sent as JSON."""

    status_code = 415
    code = "unsupported_media_type"
    default_detail = "请求内容有误"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """How an exception raised outside the service's hierarchy answers over HTTP."""

    status_code: int
    code: str
    detail: str | None = None  # None: the exception's own message


# Exceptions of other packages (the matching core's MatcherError subclasses) mapped to HTTP, one row
# each; a test checks that every such subclass has its row.
ERROR_TABLE: Final[dict[type[Exception], ErrorSpec]] = {
    matcher_errors.MatcherError: ErrorSpec(422, "matcher_error", "匹配参数有误"),
    matcher_errors.InvalidAffinityError: ErrorSpec(
        422, "affinity_invalid", "相似度矩阵无效（含非数值、无穷或负值）"
    ),
    matcher_errors.ShapeMismatchError: ErrorSpec(
        422, "shape_mismatch", "匹配参数的长度与需求或服务方数量不符"
    ),
    matcher_errors.CapacityError: ErrorSpec(422, "capacity_invalid", "服务方容量必须是不小于 0 的整数"),
    matcher_errors.DemandBoundError: ErrorSpec(422, "wanted_invalid", "每个需求的对接数无效"),
    matcher_errors.DepthDiscountError: ErrorSpec(
        422, "depth_discount_invalid", "深度折扣须为正数、不递增且足够长"
    ),
    matcher_errors.PairListError: ErrorSpec(422, "pair_list_invalid", "禁止或锁定的配对列表无效"),
    matcher_errors.CandidatePairError: ErrorSpec(
        409, "locked_pair_not_candidate", "锁定的配对不在候选范围内"
    ),
    matcher_errors.ConflictError: ErrorSpec(
        409, "matching_conflict", "锁定的配对与禁止配对、容量或对接数相互矛盾"
    ),
    matcher_errors.SolverError: ErrorSpec(500, "solver_error", "匹配求解器未能证明结果最优，请联系管理员"),
    matcher_errors.MatchCancelledError: ErrorSpec(
        409, "matching_cancelled", "匹配已按要求停止（取消或超过时间限制）"
    ),
}

_PYDANTIC_CODES: Final[Mapping[str, str]] = {
    "missing": "required",
    "string_too_short": "blank",
    "string_too_long": "too_long",
    "too_long": "too_many",
    "string_type": "type_invalid",
    "string_unicode": "text_encoding_invalid",
    "string_pattern_mismatch": "pattern_invalid",
    "list_type": "type_invalid",
    "bool_type": "type_invalid",
    "bool_parsing": "type_invalid",
    "extra_forbidden": "unknown_field",
    "literal_error": "choice_invalid",
    "enum": "choice_invalid",
    "decimal_parsing": "number_invalid",
    "decimal_type": "number_invalid",
    "int_parsing": "number_invalid",
    "int_type": "number_invalid",
    "float_parsing": "number_invalid",
    "int_from_float": "number_invalid",
    "finite_number": "number_invalid",
    "decimal_max_places": "decimal_places",
    "greater_than_equal": "number_too_small",
    "less_than_equal": "number_too_large",
    "greater_than": "number_too_small",
    "less_than": "number_too_large",
    "date_parsing": "date_invalid",
    "date_from_datetime_parsing": "date_invalid",
    "date_from_datetime_inexact": "date_invalid",
    "date_type": "date_invalid",
    "datetime_parsing": "datetime_invalid",
    "datetime_from_date_parsing": "datetime_invalid",
    "datetime_type": "datetime_invalid",
    "json_invalid": "json_invalid",
    "model_attributes_type": "body_not_object",
    "model_type": "body_not_object",
    "dict_type": "body_not_object",
}
_EXPECTED_TYPES: Final[Mapping[str, str]] = {
    "string_type": "文本",
    "list_type": '列表，如 ["a", "b"]',
    "bool_type": "true 或 false",
    "bool_parsing": "true 或 false",
}
_NULL_MEANS_MISSING: Final = frozenset({"string_type", "list_type", "int_type", "decimal_type", "date_type"})
_WELL_FORMED_DAY: Final = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])", re.ASCII)
_LOCATION_PARTS: Final = frozenset({"body", "query", "path", "header", "cookie"})


def field_name(loc: Sequence[int | str]) -> str:
    """The API name of an error location: ("body", "keywords", 2) -> "keywords[2]"."""
    parts = list(loc[1:] if loc and loc[0] in _LOCATION_PARTS else loc)
    # pydantic places an error of a mapping's key under a "[key]" part after the key itself.
    parts = [part for part in parts if part != "[key]"]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def _label(field: str, labels: Mapping[str, str]) -> str:
    base = field.split("[", 1)[0].split(".", 1)[0]
    return labels.get(base) or FIELD_LABELS.get(base, field)


def _message(code: str, field: str, context: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    values = {"label": _label(field, labels), "field": field, "min": "", "max": "", **context}
    values.setdefault("value", context.get("input", ""))
    values.setdefault("expected", "")
    values.setdefault("choices", _choices(str(context.get("expected", ""))))
    values.setdefault("error", "")
    try:
        return MESSAGES.get(code, MESSAGES["invalid"]).format(**values)
    except (KeyError, IndexError):
        return MESSAGES["invalid"].format(**values)


def field_error(field: str, code: str, **context: Any) -> FieldError:
    """A field error with the Chinese message of ``code``."""
    return FieldError(field=field, code=code, message=_message(code, field, context, {}))


def _choices(expected: str) -> str:
    # pydantic lists literals as "'a', 'b' or 'c'"; a Chinese reader expects 「a、b、c」.
    return expected.replace("'", "").replace(" or ", "、").replace(", ", "、")


def _range_context(kind: str, ctx: Mapping[str, Any]) -> dict[str, Any]:
    bounds = {
        "greater_than_equal": "min",
        "greater_than": "min",
        "less_than_equal": "max",
        "less_than": "max",
    }
    key = bounds.get(kind)
    return {key: next(iter(ctx.values()), "")} if key else {}


def translate(error: ErrorDetails, labels: Mapping[str, str] | None = None) -> FieldError:
    """Turn one pydantic error into a field error with our code and a Chinese message.

    ``labels`` name the fields of the model that failed; names it lacks take the shared labels.
    """
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    loc = error["loc"]
    if kind == "json_invalid":
        # The decoder's English reason helps no one; its position does.
        ctx = {"position": loc[-1] if loc and isinstance(loc[-1], int) else 0}
        loc = ("body",)
    code = _PYDANTIC_CODES.get(kind, kind if kind in MESSAGES else "invalid")
    if error.get("input") is None and kind in _NULL_MEANS_MISSING:
        code = "required"  # an explicit null for a required field
    field = str(ctx.pop("field", "")) or field_name(loc)
    ctx.setdefault("expected", _EXPECTED_TYPES.get(kind, ""))
    ctx |= _range_context(kind, error.get("ctx") or {})
    ctx["input"] = _short_input(error.get("input"))
    message = _message(_template(code, error), field, ctx, labels or {})
    return FieldError(field=field, code=code, message=message)


def _template(code: str, error: ErrorDetails) -> str:
    # 2026-02-30 has the right format but no such day: the code stays date_invalid (the contract), the
    # message says what is wrong.
    if code in {"date_invalid", "datetime_invalid"} and _WELL_FORMED_DAY.match(str(error.get("input"))):
        return "date_nonexistent"
    return code


def _short_input(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def translate_all(
    errors: Sequence[ErrorDetails], labels: Mapping[str, str] | None = None
) -> list[FieldError]:
    """Translate every pydantic error, keeping one entry per (field, code)."""
    seen: dict[tuple[str, str], FieldError] = {}
    for error in errors:
        item = translate(error, labels)
        seen.setdefault((item.field, item.code), item)
    return list(seen.values())


def _body(detail: str, code: str, errors: Sequence[FieldError] = ()) -> dict[str, Any]:
    return {"detail": detail, "code": code, "errors": [asdict(error) for error in errors]}


def model_labels(model: Any) -> dict[str, str]:
    """The labels a pydantic model gives its own fields (``Field(title=...)``); ``Model | None`` too."""
    for member in (model, *get_args(model)):  # an optional body (``RoundScope | None``) is a union
        if isinstance(member, type) and issubclass(member, BaseModel):
            return {name: field.title for name, field in member.model_fields.items() if field.title}
    return {}


def _body_labels(request: Request) -> dict[str, str]:
    # The same field name means different things in different bodies (an activity's title is not a
    # demand's 技术需求名称): the route's body model names its own fields first.
    route = request.scope.get("route")
    body = getattr(route, "body_field", None)
    labels = model_labels(body.field_info.annotation) if body is not None else {}
    dependant = getattr(route, "dependant", None)
    return (_parameter_labels(dependant) if dependant is not None else {}) | labels


def _parameter_labels(dependant: Any) -> dict[str, str]:
    # Query, path and header parameters are labelled per route (``Query(title=...)``): a report's
    # ``to`` is an end date, a transition's ``to`` a status. Sub-dependencies (shared filters) count.
    labels: dict[str, str] = {}
    for inner in dependant.dependencies:
        labels |= _parameter_labels(inner)
    for parameter in [*dependant.path_params, *dependant.query_params, *dependant.header_params]:
        if parameter.field_info.title:
            labels[parameter.alias] = parameter.field_info.title
    return labels


def _as_huiqi_error(exc: Exception, labels: Mapping[str, str] | None = None) -> HuiqiError:
    if isinstance(exc, HuiqiError):
        return exc
    if isinstance(exc, RequestValidationError | ValidationError):
        return RequestInvalidError(errors=translate_all(exc.errors(), labels))
    if isinstance(exc, StarletteHTTPException):
        return _from_http_exception(exc)
    return _from_table(exc)


# FastAPI's answer to a JSON body it cannot decode as text (invalid UTF-8 bytes), in English.
_UNDECODABLE_BODY: Final = "There was an error parsing the body"


def _from_http_exception(exc: StarletteHTTPException) -> HuiqiError:
    if exc.status_code == 400 and exc.detail == _UNDECODABLE_BODY:
        return RequestInvalidError(errors=[field_error("body", "body_encoding_invalid")])
    known: dict[int, type[HuiqiError]] = {
        404: NotFoundError,
        401: AuthenticationError,
        403: PermissionDeniedError,
    }
    if exc.status_code in known:
        return known[exc.status_code]()
    error = HuiqiError("请求方法不被允许" if exc.status_code == 405 else str(exc.detail))
    error.status_code = exc.status_code  # type: ignore[misc]  # instance override of the class default
    error.code = "method_not_allowed" if exc.status_code == 405 else "http_error"  # type: ignore[misc]
    return error


def _from_table(exc: Exception) -> HuiqiError:
    spec = next((ERROR_TABLE[kind] for kind in type(exc).__mro__ if kind in ERROR_TABLE), None)
    if spec is None:
        raise TypeError(f"no HTTP mapping for {type(exc).__name__}") from exc
    error = HuiqiError(spec.detail or str(exc))
    error.status_code = spec.status_code  # type: ignore[misc]
    error.code = spec.code  # type: ignore[misc]
    return error


def one_line(exc: HuiqiError | ValidationError) -> str:
    """A command line's one-line Chinese reason for a service error or a failed validation."""
    error = exc if isinstance(exc, HuiqiError) else RequestInvalidError(errors=translate_all(exc.errors()))
    details = "；".join(f"{item.field}: {item.message}" for item in error.errors)
    return f"错误：{error.detail}" + (f"（{details}）" if details else "")


def error_response(exc: Exception, labels: Mapping[str, str] | None = None) -> JSONResponse:
    """The HTTP answer for any handled exception, in the one body shape."""
    error = _as_huiqi_error(exc, labels)
    return JSONResponse(
        _body(error.detail, error.code, error.errors), status_code=error.status_code, headers=error.headers
    )


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """The single exception handler of the application."""
    return error_response(exc, _body_labels(request))


def install_error_handlers(app: FastAPI) -> None:
    """Route every handled exception type of the service to :func:`handle_error`."""
    handled: list[type[Exception]] = [
        HuiqiError,
        RequestValidationError,
        ValidationError,
        StarletteHTTPException,
    ]
    for exc_type in [*handled, *ERROR_TABLE]:
        app.add_exception_handler(exc_type, handle_error)
