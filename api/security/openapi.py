"""The one error shape, written into the OpenAPI description of every operation.

FastAPI documents 422 with its own ``HTTPValidationError``; the service answers every error with
``{"detail", "code", "errors"}``. The description says so, which is what clients (and the schema
fuzzing tests) check answers against.
"""

from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI

ERROR_REF: Final = "#/components/schemas/ErrorBody"
ERROR_SCHEMAS: Final[dict[str, Any]] = {
    "ErrorBody": {
        "title": "ErrorBody",
        "description": "所有错误的统一格式：中文说明、机器码和逐字段的错误",
        "type": "object",
        "required": ["detail", "code", "errors"],
        "properties": {
            "detail": {"type": "string", "title": "说明"},
            "code": {"type": "string", "title": "机器码"},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldErrorBody"}},
        },
    },
    "FieldErrorBody": {
        "title": "FieldErrorBody",
        "type": "object",
        "required": ["field", "code", "message"],
        "properties": {
            "field": {"type": "string"},
            "code": {"type": "string"},
            "message": {"type": "string"},
        },
    },
}
RETRY_AFTER: Final = {"Retry-After": {"description": "几秒后可重试", "schema": {"type": "integer"}}}


def _error_response(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if headers:
        response["headers"] = headers
    return response


def document_errors(schema: dict[str, Any], rate_limited: set[tuple[str, str]]) -> dict[str, Any]:
    """``schema`` with every operation's 4xx and 503 answers described as :data:`ERROR_SCHEMAS`."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(ERROR_SCHEMAS)
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses["422"] = _error_response("请求内容有误：逐字段列出错误")
            responses["4XX"] = _error_response("请求被拒绝（未登录、无权限、不存在、冲突等），统一错误格式")
            responses["503"] = _error_response("数据库暂时不可用，稍后重试", RETRY_AFTER)
            if (method.upper(), path) in rate_limited:
                responses["429"] = _error_response("请求过于频繁", RETRY_AFTER)
    return schema


def install_error_documentation(app: FastAPI, rate_limited: set[tuple[str, str]]) -> None:
    """Make ``app.openapi()`` describe the service's error answers."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build(), rate_limited)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented customisation
