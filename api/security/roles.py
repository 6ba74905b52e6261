"""Who may call a route: reusable dependencies for admins, any staff member and enterprises.

* admin — manages staff, providers and settings, reads the audit log;
* reviewer — reviews demands and pairings (every staff route that is not admin-only);
* enterprise — holds the receipt token of one demand and reaches that demand only.
"""

from typing import Annotated

from fastapi import Depends, Header

from api.auth.dependencies import require_staff
from api.db.models import Demand, StaffRole, StaffUser
from api.demands import service as demand_service
from api.deps import SecretDep, SessionDep
from api.errors import AuthenticationError, PermissionDeniedError


def require_admin(staff: Annotated[StaffUser, Depends(require_staff)]) -> StaffUser:
    """The authenticated staff member if an admin; 401 without a token, 403 for a reviewer."""
    if staff.role != StaffRole.ADMIN:
        raise PermissionDeniedError("仅管理员可以执行此操作")
    return staff


def require_receipt(
    demand_id: int,
    session: SessionDep,
    secret: SecretDep,
    receipt: Annotated[
        str | None, Header(alias="X-Receipt-Token", description="提交时得到的回执凭证")
    ] = None,
) -> Demand:
    """The demand whose receipt token came with the request; 401 without one, 403 for another's."""
    if not receipt:
        raise AuthenticationError("请在 X-Receipt-Token 中提供提交需求时得到的回执凭证")
    return demand_service.open_demand(
        session, demand_id=demand_id, staff=None, receipt=receipt, secret=secret
    )


AdminDep = Annotated[StaffUser, Depends(require_admin)]
ReviewerDep = Annotated[StaffUser, Depends(require_staff)]
EnterpriseDemandDep = Annotated[Demand, Depends(require_receipt)]
