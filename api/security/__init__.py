"""Security and operations: roles, rate limits, security headers, audit log, public views, backups."""

from fastapi import FastAPI

from api.security.audit import CLI_ACTOR, attach_actor, record_audit
from api.security.headers import SecurityHeadersMiddleware
from api.security.openapi import install_error_documentation
from api.security.outage import install_outage_handler
from api.security.ratelimit import RateLimiter, RateLimitMiddleware, RateLimitSettings, default_rules

__all__ = ["CLI_ACTOR", "attach_actor", "install_security", "record_audit"]


def install_security(app: FastAPI, limits: RateLimitSettings | None = None) -> None:
    """Add the security headers, the rate limits, the outage answer and the error documentation.

    The rules and the limiter live on ``app.state`` (``rate_limit_rules``, ``rate_limiter``) so an
    operator's tooling or a test can inspect and change them on a running app.
    """
    rules = default_rules(limits or RateLimitSettings())
    app.state.rate_limit_rules = rules
    app.state.rate_limiter = RateLimiter()
    app.add_middleware(RateLimitMiddleware, rules=rules, limiter=app.state.rate_limiter)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: 429 answers carry the headers too
    install_outage_handler(app)
    install_error_documentation(app, set(rules))
