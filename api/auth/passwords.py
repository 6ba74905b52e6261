"""Staff passwords for the staff pages: argon2id hashes, never the password itself."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import StaffStatus, StaffUser

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("huiqi-no-such-staff")


class PasswordTooShortError(ValueError):
    """The password is shorter than :data:`MIN_PASSWORD_LENGTH`."""


def set_password(staff: StaffUser, password: str) -> None:
    """Store the argon2id hash of ``password`` on ``staff``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShortError(f"密码至少{MIN_PASSWORD_LENGTH}个字符")
    staff.password_hash = _hasher.hash(password)


def authenticate(session: Session, *, name: str, password: str) -> StaffUser | None:
    """The staff member of that name and password, or None; rehashes when the parameters changed."""
    staff = session.scalar(select(StaffUser).where(StaffUser.name == name))
    stored = staff.password_hash if staff is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if staff is None or stored is None or staff.status is not StaffStatus.ACTIVE:
        return None
    if _hasher.check_needs_rehash(stored):
        staff.password_hash = _hasher.hash(password)
    return staff
