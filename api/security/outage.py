"""A database that cannot be reached answers 503 in the error shape, with Retry-After, not a 500."""

from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

RETRY_AFTER_SECONDS: Final = 5
UNAVAILABLE_DETAIL: Final = "数据库暂时不可用，请稍后重试"
NUMERIC_OUT_OF_RANGE: Final = "22003"


def database_unavailable() -> JSONResponse:
    """The 503 answer of a request that met an unreachable or restarting database."""
    body = {"detail": UNAVAILABLE_DETAIL, "code": "database_unavailable", "errors": []}
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _handle_operational(_request: Request, exc: Exception) -> JSONResponse:
    # OperationalError: the server went away, refused the connection or is shutting down (also
    # SQLite's "database is locked"): transient, the client should retry. Anything else is a bug
    # and stays a 500.
    if isinstance(exc, OperationalError | PoolTimeoutError) or _is_disconnect(exc):
        return database_unavailable()
    raise exc


def _is_disconnect(exc: Exception) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def out_of_range() -> JSONResponse:
    """The 422 answer of a number too large for the database's integer columns."""
    body = {
        "detail": "数值超出范围：编号、页码等整数不能超过 2147483647",
        "code": "number_out_of_range",
        "errors": [],
    }
    return JSONResponse(body, status_code=422)


async def _handle_overflow(request: Request, exc: Exception) -> JSONResponse:
    # SQLite refuses to bind integers beyond 64 bits (OverflowError); PostgreSQL answers 22003 for
    # values beyond the column's range. Either way the client sent a number no row can have.
    if isinstance(exc, OverflowError) and "SQLite INTEGER" in str(exc):
        return out_of_range()
    if isinstance(exc, DataError) and getattr(exc.orig, "sqlstate", None) == NUMERIC_OUT_OF_RANGE:
        return out_of_range()
    if isinstance(exc, DBAPIError):
        return await _handle_operational(request, exc)
    raise exc


def install_outage_handler(app: FastAPI) -> None:
    """Answer database outages with 503 and out-of-range numbers with 422."""
    for kind in (OperationalError, PoolTimeoutError, DBAPIError):
        app.add_exception_handler(kind, _handle_operational)
    app.add_exception_handler(OverflowError, _handle_overflow)
    app.add_exception_handler(DataError, _handle_overflow)
