"""Security and operations: roles, rate limits, security headers, audit log, public views, backups."""

from fastapi import FastAPI

from api.security.audit import CLI_ACTOR, attach_actor, record_audit
from api.security.bodylimit import BodyLimitMiddleware, BodyLimits
from api.security.gate import RequestGateMiddleware
from api.security.headers import SecurityHeadersMiddleware
from api.security.openapi import install_error_documentation
from api.security.outage import install_outage_handler
from api.security.ratelimit import RateLimiter, RateLimitMiddleware, RateLimitSettings, default_rules

__all__ = ["CLI_ACTOR", "attach_actor", "install_security", "record_audit"]


def install_security(app: FastAPI, limits: RateLimitSettings | None = None) -> None:
    """Add the security headers, the body limits, the rate limits, the outage answer and the error
    documentation.

    The rules, the limiter and the body limits live on ``app.state`` (``rate_limit_rules``,
    ``rate_limiter``, ``body_limits``) so an operator's tooling or a test can inspect and change them on
    a running app.
    """
    rules = default_rules(limits or RateLimitSettings())
    app.state.rate_limit_rules = rules
    app.state.rate_limiter = RateLimiter()
    app.add_middleware(RequestGateMiddleware)  # innermost: 413 and 429 answers never wait
    app.add_middleware(RateLimitMiddleware, rules=rules, limiter=app.state.rate_limiter)
    settings = getattr(app.state, "settings", None)
    app.state.body_limits = BodyLimits(body_bytes=settings.max_body_bytes) if settings else BodyLimits()
    app.add_middleware(BodyLimitMiddleware, limits=app.state.body_limits)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: 429 answers carry the headers too
    install_outage_handler(app)
    install_error_documentation(app, set(rules))
