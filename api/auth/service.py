"""Staff accounts and their tokens."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.tokens import hash_token, new_staff_token
from api.db.models import StaffRole, StaffToken, StaffUser


def create_staff(session: Session, *, name: str, role: StaffRole) -> tuple[StaffUser, str]:
    """Create a staff member (or reuse the one of that name) and issue a new token for them."""
    staff = session.scalar(select(StaffUser).where(StaffUser.name == name))
    if staff is None:
        staff = StaffUser(name=name, role=role)
        session.add(staff)
    else:
        staff.role = role
    return staff, issue_token(session, staff=staff)


def issue_token(session: Session, *, staff: StaffUser) -> str:
    """A new bearer token for ``staff``; only its hash is stored, so this is the one chance to see it."""
    token = new_staff_token()
    staff.tokens.append(StaffToken(token_hash=hash_token(token)))
    session.flush()
    return token


def staff_for_token(session: Session, token: str) -> StaffUser | None:
    """The staff member whose live token this is, if any."""
    query = (
        select(StaffUser)
        .join(StaffToken)
        .where(StaffToken.token_hash == hash_token(token), StaffToken.revoked_at.is_(None))
    )
    return session.scalar(query)
