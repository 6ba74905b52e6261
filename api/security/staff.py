"""Staff management by admins: accounts, roles and tokens. Audited through the session's flush hook."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.auth.service import issue_token
from api.db.base import utcnow
from api.db.concurrency import flush_unique, locked
from api.db.models import StaffRole, StaffToken, StaffUser
from api.errors import ConflictError, DuplicateError, NotFoundError
from api.validation import InputModel
from api.web.models import StaffSession


class StaffCreate(InputModel):
    """A new staff account."""

    name: str = Field(min_length=1, max_length=100, title="姓名", description="姓名或账号名")
    role: StaffRole = Field(
        default=StaffRole.REVIEWER, title="角色", description="admin 管理员 / reviewer 审核员"
    )


class StaffPatch(InputModel):
    """A role change."""

    role: StaffRole = Field(title="角色", description="admin 管理员 / reviewer 审核员")


class StaffOut(BaseModel):
    """A staff account; never its password or token hashes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: StaffRole
    has_password: bool
    created_at: datetime


class IssuedToken(BaseModel):
    """A bearer token, shown once."""

    staff: StaffOut
    token: str = Field(description="访问令牌，仅此一次显示")


def staff_out(staff: StaffUser) -> StaffOut:
    """The public view of an account."""
    return StaffOut(
        id=staff.id,
        name=staff.name,
        role=staff.role,
        has_password=staff.password_hash is not None,
        created_at=staff.created_at,
    )


def list_staff(session: Session) -> list[StaffOut]:
    """Every account, by name."""
    return [staff_out(staff) for staff in session.scalars(select(StaffUser).order_by(StaffUser.name))]


def get_staff(session: Session, staff_id: int, *, for_update: bool = False) -> StaffUser:
    """The account, or 404; ``for_update`` locks it for a change (see api.db.concurrency)."""
    staff = locked(session, StaffUser, staff_id) if for_update else session.get(StaffUser, staff_id)
    if staff is None:
        raise NotFoundError(f"工作人员 {staff_id} 不存在")
    return staff


def create_account(session: Session, payload: StaffCreate) -> IssuedToken:
    """Create an account and its first token; 409 when the name is taken."""

    def taken() -> ConflictError:
        return DuplicateError(f"已有名为“{payload.name}”的工作人员")

    if session.scalar(select(StaffUser.id).where(StaffUser.name == payload.name)) is not None:
        raise taken()
    staff = StaffUser(name=payload.name, role=payload.role)
    session.add(staff)
    flush_unique(session, taken)  # a concurrent request with the same name committed first
    token = issue_token(session, staff=staff)
    return IssuedToken(staff=staff_out(staff), token=token)


def change_role(session: Session, staff_id: int, role: StaffRole) -> StaffOut:
    """Change an account's role; the last admin cannot be demoted (nobody could manage staff)."""
    staff = get_staff(session, staff_id, for_update=True)
    if staff.role == StaffRole.ADMIN and role != StaffRole.ADMIN and _admin_count(session) <= 1:
        raise ConflictError("至少要保留一名管理员")
    staff.role = role
    session.flush()
    return staff_out(staff)


def _admin_count(session: Session) -> int:
    # Every admin row locked: two admins demoting each other at once must not leave none.
    admins = select(StaffUser.id).where(StaffUser.role == StaffRole.ADMIN).with_for_update()
    return len(session.scalars(admins).all())


def new_token(session: Session, staff_id: int) -> IssuedToken:
    """Issue another token for an account."""
    staff = get_staff(session, staff_id)
    return IssuedToken(staff=staff_out(staff), token=issue_token(session, staff=staff))


def revoke_access(session: Session, staff_id: int) -> int:
    """Revoke every live token of the account and end its browser sessions; returns tokens revoked."""
    staff = get_staff(session, staff_id, for_update=True)
    live = [token for token in staff.tokens if token.revoked_at is None]
    for token in live:
        token.revoked_at = utcnow()
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))
    session.flush()
    return len(live)


def token_count(session: Session, staff_id: int) -> int:
    """Live tokens of an account."""
    query = select(func.count()).where(StaffToken.staff_id == staff_id, StaffToken.revoked_at.is_(None))
    return session.scalar(query) or 0
