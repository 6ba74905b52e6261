"""One size limit for every request body, enforced before the body is read.

A declared ``Content-Length`` over the limit is answered 413 at once, without reading a byte of the
body; a body without one (chunked) is counted as it arrives and cut off at the first chunk past the
limit. Routes that take files (imports) have the upload limit, every other body the (much smaller)
body limit, so a 150 MB JSON body costs the server nothing before its answer.
"""

from dataclasses import dataclass, field
from typing import Final

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.imports.limits import MB, ImportLimits, human_size

# The routes whose bodies are files: the API's and the staff page's demand imports, provider imports.
UPLOAD_PATHS: Final = frozenset({"/api/v1/demands/import", "/api/v1/providers/import", "/demands/import"})
DEFAULT_BODY_BYTES: Final = 2 * MB


@dataclass(slots=True)
class BodyLimits:
    """The byte limits of request bodies: uploads on ``upload_paths``, ``body_bytes`` elsewhere."""

    body_bytes: int = DEFAULT_BODY_BYTES
    upload_bytes: int = field(default_factory=lambda: ImportLimits().max_upload_bytes)
    upload_paths: frozenset[str] = field(default=UPLOAD_PATHS)

    def for_path(self, path: str) -> int:
        """The limit of a body sent to ``path``."""
        return self.upload_bytes if path in self.upload_paths else self.body_bytes

    def refusal(self, path: str) -> tuple[str, str]:
        """The machine code and the sentence of a body over the limit of ``path``."""
        limit = human_size(self.for_path(path))
        if path in self.upload_paths:
            return "file_too_large", f"上传内容超过 {limit} 的上限，请拆分后分批导入"
        return "payload_too_large", f"请求内容超过 {limit} 的上限，请删减后重新提交"


class _BodyTooLargeError(Exception):
    """Raised from the counted body stream when it passes the limit."""


def payload_too_large(code: str, detail: str, *, html: bool) -> Response:
    """The 413 answer in the error shape (a short page for a browser); the connection is closed."""
    headers = {"Connection": "close"}
    if html:
        head = '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>内容过大</title>'
        return HTMLResponse(f"{head}<p>{detail}</p>", status_code=413, headers=headers)
    body = {"detail": detail, "code": code, "errors": []}
    return JSONResponse(body, status_code=413, headers=headers)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _wants_html(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return b"text/html" in headers.get(b"accept", b"") or not scope.get("path", "").startswith("/api/")


@dataclass(slots=True)
class _Stream:
    received: int = 0
    exceeded: bool = False
    started: bool = False
    refused: bool = False


class BodyLimitMiddleware:
    """Refuse bodies over :class:`BodyLimits` with 413 before reading past the limit."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits  # shared with app.state.body_limits: changing it there changes it here

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 on the declared length, else count the body as the application reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.limits.for_path(path)
        declared = _declared_length(scope)
        refusal = payload_too_large(*self.limits.refusal(path), html=_wants_html(scope))
        if declared is not None and declared > limit:
            await refusal(scope, receive, send)
            return
        stream = _Stream()

        async def counted_receive() -> Message:
            if stream.exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                stream.received += len(message.get("body", b""))
                if stream.received > limit:
                    stream.exceeded = True
                    raise _BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            # Body parsers turn an error from the stream into their own 400; the answer is the 413.
            if stream.exceeded:
                if not stream.refused:
                    stream.refused = True
                    await refusal(scope, receive, send)
                return
            stream.started = stream.started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _BodyTooLargeError:
            if not stream.started and not stream.refused:
                stream.refused = True
                await refusal(scope, receive, send)
