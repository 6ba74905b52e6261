"""Dependency aliases shared by the routers: settings, the request's session, the signing key."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.errors import UnsupportedMediaTypeError, field_error
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


def require_json(request: Request) -> None:
    """Refuse bodies not sent as JSON with the same error shape as any bad request."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        error = field_error("Content-Type", "content_type_invalid", value=content_type or "未填写")
        raise UnsupportedMediaTypeError(errors=[error])


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# scope="function": the commit runs before the answer is sent, so a failed commit is never a 201.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SecretDep = Annotated[bytes, Depends(get_secret)]
