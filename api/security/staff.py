"""Staff management by admins: accounts, roles and tokens. Audited through the session's flush hook."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.auth.service import issue_token
from api.db.base import utcnow
from api.db.concurrency import flush_unique, locked
from api.db.models import StaffRole, StaffStatus, StaffToken, StaffUser
from api.errors import ConflictError, DuplicateError, NotFoundError
from api.validation import InputModel, invalid
from api.web.models import StaffSession


class StaffCreate(InputModel):
    """A new staff account."""

    name: str = Field(min_length=1, max_length=100, title="姓名", description="姓名或账号名")
    role: StaffRole = Field(
        default=StaffRole.REVIEWER, title="角色", description="admin 管理员 / reviewer 审核员"
    )


class StaffPatch(InputModel):
    """A change of role or of account status; at least one of them."""

    role: StaffRole | None = Field(default=None, title="角色", description="admin 管理员 / reviewer 审核员")
    status: StaffStatus | None = Field(
        default=None,
        title="账号状态",
        description="active 启用 / disabled 停用（停用即吊销全部令牌、结束登录会话，且不能再登录）",
    )

    @model_validator(mode="after")
    def _something(self) -> "StaffPatch":
        if self.role is None and self.status is None:
            raise invalid("staff_change_empty")
        return self


class StaffOut(BaseModel):
    """A staff account; never its password or token hashes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: StaffRole
    status: StaffStatus
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
        status=staff.status,
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


def change_account(session: Session, staff_id: int, patch: StaffPatch) -> StaffOut:
    """Change an account's role and/or status; the last active admin stays an active admin."""
    staff = get_staff(session, staff_id, for_update=True)
    role, status = patch.role or staff.role, patch.status or staff.status
    leaves_admins = role != StaffRole.ADMIN or status != StaffStatus.ACTIVE
    if _is_active_admin(staff) and leaves_admins and _active_admin_count(session) <= 1:
        raise ConflictError("至少要保留一名启用的管理员")
    staff.role = role
    if status is StaffStatus.DISABLED and staff.status is not StaffStatus.DISABLED:
        _disable(session, staff)
    staff.status = status
    session.flush()
    return staff_out(staff)


def _is_active_admin(staff: StaffUser) -> bool:
    return staff.role == StaffRole.ADMIN and staff.status == StaffStatus.ACTIVE


def _active_admin_count(session: Session) -> int:
    # Every admin row locked: two admins demoting each other at once must not leave none.
    admins = (
        select(StaffUser.id)
        .where(StaffUser.role == StaffRole.ADMIN, StaffUser.status == StaffStatus.ACTIVE)
        .with_for_update()
    )
    return len(session.scalars(admins).all())


def new_token(session: Session, staff_id: int) -> IssuedToken:
    """Issue another token for an active account."""
    staff = get_staff(session, staff_id, for_update=True)
    if staff.status is not StaffStatus.ACTIVE:
        raise ConflictError(f"工作人员“{staff.name}”的账号已停用；请先启用账号再发放令牌")
    return IssuedToken(staff=staff_out(staff), token=issue_token(session, staff=staff))


def revoke_access(session: Session, staff_id: int) -> StaffOut:
    """Disable the account: every token revoked, every browser session ended, no more signing in."""
    return change_account(session, staff_id, StaffPatch(status=StaffStatus.DISABLED))


def _disable(session: Session, staff: StaffUser) -> None:
    for token in staff.tokens:
        if token.revoked_at is None:
            token.revoked_at = utcnow()
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))


def token_count(session: Session, staff_id: int) -> int:
    """Live tokens of an account."""
    query = select(func.count()).where(StaffToken.staff_id == staff_id, StaffToken.revoked_at.is_(None))
    return session.scalar(query) or 0
