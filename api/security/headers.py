"""Security headers on every answer: CSP, no sniffing, no framing, referrer policy, HSTS on https."""

from collections.abc import MutableMapping
from typing import Any, Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The staff pages load their own script and stylesheet only; progress bars set widths through
# style attributes, hence 'unsafe-inline' for attributes alone (not for <style> or <script>).
PAGE_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
# FastAPI's /docs and /redoc pages load Swagger UI / ReDoc from jsDelivr and start them inline.
DOCS_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
        "font-src 'self' https://fonts.gstatic.com",
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
DOCS_PATHS: Final = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
COMMON_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS: Final = "max-age=31536000; includeSubDomains"


def security_headers(path: str, scheme: str) -> dict[str, str]:
    """The headers an answer to ``path`` over ``scheme`` carries."""
    headers = dict(COMMON_HEADERS)
    headers["Content-Security-Policy"] = DOCS_POLICY if path in DOCS_PATHS else PAGE_POLICY
    if scheme == "https":
        headers["Strict-Transport-Security"] = HSTS
    if path.startswith("/api/"):
        # Answers carry enterprises' contacts and staff data: no shared or browser caches.
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeadersMiddleware:
    """Add :func:`security_headers` to every HTTP answer, keeping any header a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap ``send`` so the response start carries the headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope.get("path", ""), scope.get("scheme", "http"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=_as_scope(message))
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _as_scope(message: Message) -> MutableMapping[str, Any]:
    # MutableHeaders edits the "headers" list of the mapping it is given, here the message itself.
    message.setdefault("headers", [])
    return message
