"""Dependency aliases shared by the routers: settings, the request's session, the signing key."""

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.errors import RequestInvalidError, UnsupportedMediaTypeError, field_error
from api.settings import Settings


def get_app_settings(request: Request) -> Settings:
    """The settings the application was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session and one transaction per request: committed here, rolled back on any error."""
    with request.app.state.session_factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_secret(request: Request) -> bytes:
    """The key that signs receipt tokens."""
    secret: bytes = request.app.state.secret
    return secret


async def require_json(request: Request) -> None:
    """Refuse bodies not sent as JSON, and JSON objects that repeat a key, in the one error shape."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        error = field_error("Content-Type", "content_type_invalid", value=content_type or "未填写")
        raise UnsupportedMediaTypeError(errors=[error])
    body = await request.body()  # read once already by FastAPI; cached on the request
    if body:
        _refuse_repeated_keys(body)


class _RepeatedKeyError(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _RepeatedKeyError(key)
        found[key] = value
    return found


def _refuse_repeated_keys(body: bytes) -> None:
    # {"title": "a", "title": "b"} parses as {"title": "b"}: the sender meant one of them, not both.
    try:
        json.loads(body, object_pairs_hook=_no_repeats)
    except _RepeatedKeyError as repeated:
        error = field_error("body", "duplicate_key", value=repeated.key[:40])
        raise RequestInvalidError(errors=[error]) from None
    except ValueError:
        return  # not JSON at all: FastAPI's own error names the position


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# scope="function": the commit runs before the answer is sent, so a failed commit is never a 201.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SecretDep = Annotated[bytes, Depends(get_secret)]
