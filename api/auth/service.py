"""Staff accounts and their tokens."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.tokens import hash_token, new_staff_token
from api.db.base import utcnow
from api.db.models import StaffRole, StaffStatus, StaffToken, StaffUser


def create_staff(session: Session, *, name: str, role: StaffRole) -> tuple[StaffUser, str]:
    """Create a staff member (or reuse the one of that name, enabling it again) and issue a new token."""
    staff = session.scalar(select(StaffUser).where(StaffUser.name == name))
    if staff is None:
        staff = StaffUser(name=name, role=role)
        session.add(staff)
    else:
        staff.role, staff.status = role, StaffStatus.ACTIVE
    return staff, issue_token(session, staff=staff)


def issue_token(session: Session, *, staff: StaffUser) -> str:
    """A new bearer token for ``staff``; only its hash is stored, so this is the one chance to see it."""
    token = new_staff_token()
    staff.tokens.append(StaffToken(token_hash=hash_token(token)))
    session.flush()
    return token


def staff_for_token(session: Session, token: str, *, max_age: timedelta | None = None) -> StaffUser | None:
    """The active staff member whose live token this is, if any.

    A token is live when it is not revoked and, with ``max_age``, was issued less than that long ago.
    """
    conditions = [
        StaffToken.token_hash == hash_token(token),
        StaffToken.revoked_at.is_(None),
        StaffUser.status == StaffStatus.ACTIVE,
    ]
    if max_age is not None:
        conditions.append(StaffToken.created_at > utcnow() - max_age)
    return session.scalar(select(StaffUser).join(StaffToken).where(*conditions))
