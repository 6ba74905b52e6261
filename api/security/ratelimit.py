"""Rate limits on open demand submission and on sign-in: an in-process token bucket per client.

Each rule allows a burst and refills at a steady rate; a request over the limit gets 429 in the
service's error shape with ``Retry-After``. Limits are per process: with N server processes a client
gets N times the rate (run one process per host, or divide the rates). Behind a reverse proxy, start
uvicorn with ``--proxy-headers`` so the client address is the real one.
"""

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_TRACKED_CLIENTS: Final = 10_000


class RateLimitSettings(BaseSettings):
    """Rates per client address, from ``HUIQI_RATE_LIMIT_*``; a rate of 0 turns the limit off."""

    model_config = SettingsConfigDict(env_prefix="HUIQI_RATE_LIMIT_", extra="ignore")

    submit_per_minute: float = 30.0
    submit_burst: int = 20
    login_per_minute: float = 6.0
    login_burst: int = 10


@dataclass(frozen=True, slots=True)
class Rule:
    """A burst of ``burst`` requests, refilled at ``per_minute`` requests a minute."""

    name: str
    burst: int
    per_minute: float
    message: str

    @property
    def enabled(self) -> bool:
        """Whether the rule limits anything."""
        return self.per_minute > 0 and self.burst > 0


@dataclass(slots=True)
class TokenBucket:
    """Tokens available now and when they were last counted."""

    tokens: float
    updated: float

    def take(self, rule: Rule, now: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is available."""
        rate = rule.per_minute / 60.0
        self.tokens = min(float(rule.burst), self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate


@dataclass
class RateLimiter:
    """Buckets per (rule, client); thread-safe, bounded in memory."""

    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, rule: Rule, client: str) -> float:
        """0.0 when the request may go ahead, else the seconds the client must wait."""
        if not rule.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get((rule.name, client))
            if bucket is None:
                self._forget_idle(now)
                bucket = self._buckets[(rule.name, client)] = TokenBucket(float(rule.burst), now)
            return bucket.take(rule, now)

    def _forget_idle(self, now: float) -> None:
        # Many distinct clients: drop buckets untouched for ten minutes (long refilled by now).
        if len(self._buckets) < MAX_TRACKED_CLIENTS:
            return
        idle = [key for key, bucket in self._buckets.items() if now - bucket.updated > 600]
        for key in idle or list(self._buckets)[: MAX_TRACKED_CLIENTS // 10]:
            del self._buckets[key]


def default_rules(settings: RateLimitSettings) -> dict[tuple[str, str], Rule]:
    """The limited routes, keyed by (method, path)."""
    submit = Rule("submit", settings.submit_burst, settings.submit_per_minute, "提交过于频繁")
    login = Rule("login", settings.login_burst, settings.login_per_minute, "登录尝试过于频繁")
    return {("POST", "/api/v1/demands"): submit, ("POST", "/login"): login}


def too_many_requests(rule: Rule, wait: float, *, html: bool) -> Response:
    """The 429 answer: the error shape as JSON, or a short page for a browser's form post."""
    seconds = max(1, math.ceil(wait))
    detail = f"{rule.message}，请 {seconds} 秒后再试"
    headers = {"Retry-After": str(seconds)}
    if html:
        head = '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>请稍后再试</title>'
        page = f"{head}<p>{detail}</p>"
        return HTMLResponse(page, status_code=429, headers=headers)
    body = {"detail": detail, "code": "rate_limited", "errors": []}
    return JSONResponse(body, status_code=429, headers=headers)


class RateLimitMiddleware:
    """Apply the rules to requests before they reach a route."""

    def __init__(
        self, app: ASGIApp, rules: Mapping[tuple[str, str], Rule], limiter: RateLimiter | None = None
    ) -> None:
        self.app = app
        self.rules = rules  # shared with app.state: changing a rule there changes it here
        self.limiter = limiter or RateLimiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 429 when the client is over the rule of this route; pass everything else on."""
        rule = self.rules.get((scope.get("method", ""), scope.get("path", "")))
        if rule is not None and scope["type"] == "http":
            client = scope.get("client")
            wait = self.limiter.check(rule, client[0] if client else "unknown")
            if wait > 0:
                await too_many_requests(rule, wait, html=_wants_html(scope)).__call__(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _wants_html(scope: Scope) -> bool:
    accept = dict(scope.get("headers") or []).get(b"accept", b"")
    return b"text/html" in accept
