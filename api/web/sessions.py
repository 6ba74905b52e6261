"""Signed-in browser sessions: a random id in a cookie, its hash and a CSRF token in the database."""

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.auth.tokens import hash_token, secrets_equal
from api.db.base import utcnow
from api.db.models import StaffStatus, StaffUser
from api.web.models import StaffSession

SESSION_COOKIE = "huiqi_session"
SESSION_LIFETIME = timedelta(hours=12)


def start_session(session: Session, *, staff: StaffUser) -> str:
    """Open a session for ``staff`` and return the cookie value (shown only now; stored hashed)."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            staff=staff,
            token_hash=hash_token(token),
            csrf_token=secrets.token_urlsafe(32),
            expires_at=utcnow() + SESSION_LIFETIME,
        )
    )
    session.flush()
    return token


def find_session(session: Session, *, token: str) -> StaffSession | None:
    """The live session of a cookie value, or None when unknown or expired."""
    found = session.scalar(select(StaffSession).where(StaffSession.token_hash == hash_token(token)))
    if found is None or found.expires_at <= utcnow() or found.staff.status is not StaffStatus.ACTIVE:
        return None
    return found


def end_session(session: Session, *, token: str) -> None:
    """Sign out: forget the session of this cookie value, and any expired ones on the way."""
    session.execute(
        delete(StaffSession).where(
            (StaffSession.token_hash == hash_token(token)) | (StaffSession.expires_at <= utcnow())
        )
    )


def csrf_matches(web_session: StaffSession, submitted: str | None) -> bool:
    """Whether a form carried its session's CSRF token (constant-time comparison)."""
    return bool(submitted) and secrets_equal(web_session.csrf_token, submitted or "")
