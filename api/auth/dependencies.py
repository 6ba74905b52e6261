"""Request credentials: the staff member behind a bearer token."""

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.service import staff_for_token
from api.db.models import StaffUser
from api.deps import SessionDep, SettingsDep
from api.errors import AuthenticationError
from api.security.audit import attach_actor

_bearer = HTTPBearer(auto_error=False, description="工作人员令牌：`huiqi staff create NAME` 生成")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def optional_staff(session: SessionDep, settings: SettingsDep, credentials: BearerDep) -> StaffUser | None:
    """The staff member of a valid bearer token, None without one; a bad token is refused."""
    if credentials is None:
        return None
    days = settings.staff_token_days
    staff = staff_for_token(session, credentials.credentials, max_age=timedelta(days=days) if days else None)
    if staff is None:
        raise AuthenticationError("访问令牌无效、已过期或已吊销，或账号已停用；请向管理员索取新令牌")
    attach_actor(session, staff)  # the request's audited changes are this staff member's
    return staff


def require_staff(staff: Annotated[StaffUser | None, Depends(optional_staff)]) -> StaffUser:
    """The authenticated staff member; 401 without a valid bearer token."""
    if staff is None:
        raise AuthenticationError()
    return staff


def require_credentials(
    credentials: BearerDep,
    receipt: Annotated[str | None, Header(alias="X-Receipt-Token", include_in_schema=False)] = None,
) -> None:
    """401 before anything else when a request carries neither a staff token nor a receipt token."""
    if credentials is None and not receipt:
        raise AuthenticationError()


StaffDep = Annotated[StaffUser, Depends(require_staff)]
OptionalStaffDep = Annotated[StaffUser | None, Depends(optional_staff)]
