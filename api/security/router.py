"""Routes of security and data protection: audit log, staff management, public and enterprise views."""

import io
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.deps import SessionDep, require_json
from api.errors import NotFoundError
from api.exports.tables import MEDIA_TYPES, TableFormat
from api.security import auditlog, public, staff
from api.security.roles import AdminDep, EnterpriseDemandDep
from api.validation import MAX_ROW_ID, Moment, ParameterText, PathId

router = APIRouter()

StaffIdFilter = Annotated[
    int | None, Query(ge=1, le=MAX_ROW_ID, title="工作人员编号", description="工作人员编号")
]
ActionFilter = Annotated[
    ParameterText | None, Query(max_length=60, title="操作", description="操作或其前缀，如 demand.status")
]
KindFilter = Annotated[
    ParameterText | None, Query(max_length=40, title="对象类型", description="对象类型，如 demand、society")
]
TargetFilter = Annotated[ParameterText | None, Query(max_length=40, title="对象编号", description="对象编号")]
Since = Annotated[
    Moment | None,
    Query(
        title="起始时间",
        description="起始时间（含），如 2026-01-02 或 2026-01-02T08:00:00；不带时区按北京时间",
    ),
]
Until = Annotated[
    Moment | None,
    Query(
        title="截止时间",
        description="截止时间（不含），如 2026-02-01 或 2026-02-01T08:00:00；不带时区按北京时间",
    ),
]
Page = Annotated[int, Query(ge=1, le=100_000, title="页码")]
StaffId = Annotated[PathId, Path(title="工作人员编号")]


def audit_filter(
    staff_id: StaffIdFilter = None,
    action: ActionFilter = None,
    target_kind: KindFilter = None,
    target_id: TargetFilter = None,
    since: Since = None,
    until: Until = None,
) -> auditlog.AuditFilter:
    """The audit log filters of a request."""
    return auditlog.AuditFilter(staff_id, action, target_kind, target_id, since, until)


AuditFilterDep = Annotated[auditlog.AuditFilter, Depends(audit_filter)]


@router.get("/audit", response_model=auditlog.AuditPage, tags=["audit"])
def read_audit(
    session: SessionDep,
    _admin: AdminDep,
    where: AuditFilterDep,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=200, title="每页条数")] = 50,
) -> auditlog.AuditPage:
    """Read the audit log of staff actions (admins), newest first."""
    return auditlog.audit_page(session, where, page=page, page_size=page_size)


def _audit_file(session: SessionDep, where: auditlog.AuditFilter, table_format: TableFormat) -> Response:
    stream = io.BytesIO()
    auditlog.export_audit(session, where, table_format, stream)
    name = f"审计日志-{date.today():%Y%m%d}.{table_format.value}"
    disposition = f"attachment; filename=audit.{table_format.value}; filename*=UTF-8''{quote(name)}"
    headers = {"Content-Disposition": disposition}
    return Response(stream.getvalue(), media_type=MEDIA_TYPES[table_format], headers=headers)


@router.get("/audit/export.csv", response_class=Response, tags=["audit"])
def export_audit_csv(session: SessionDep, _admin: AdminDep, where: AuditFilterDep) -> Response:
    """Export the audit log as CSV (admins), oldest first."""
    return _audit_file(session, where, TableFormat.CSV)


@router.get("/audit/export.xlsx", response_class=Response, tags=["audit"])
def export_audit_xlsx(session: SessionDep, _admin: AdminDep, where: AuditFilterDep) -> Response:
    """Export the audit log as XLSX (admins), oldest first."""
    return _audit_file(session, where, TableFormat.XLSX)


@router.get("/staff", response_model=list[staff.StaffOut], tags=["staff"])
def list_staff(session: SessionDep, _admin: AdminDep) -> list[staff.StaffOut]:
    """List staff accounts (admins)."""
    return staff.list_staff(session)


@router.post(
    "/staff",
    response_model=staff.IssuedToken,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_json)],
    tags=["staff"],
)
def create_staff(payload: staff.StaffCreate, session: SessionDep, _admin: AdminDep) -> staff.IssuedToken:
    """Create a staff account (admins); its token is shown only in this answer."""
    return staff.create_account(session, payload)


@router.patch(
    "/staff/{staff_id}", response_model=staff.StaffOut, dependencies=[Depends(require_json)], tags=["staff"]
)
def change_staff_role(
    staff_id: StaffId, payload: staff.StaffPatch, session: SessionDep, _admin: AdminDep
) -> staff.StaffOut:
    """Change a staff member's role or disable/enable the account (admins); one active admin stays."""
    return staff.change_account(session, staff_id, payload)


@router.post("/staff/{staff_id}/tokens", response_model=staff.IssuedToken, status_code=201, tags=["staff"])
def issue_staff_token(staff_id: StaffId, session: SessionDep, _admin: AdminDep) -> staff.IssuedToken:
    """Issue another bearer token for a staff member (admins)."""
    return staff.new_token(session, staff_id)


@router.post("/staff/{staff_id}/revoke", status_code=status.HTTP_204_NO_CONTENT, tags=["staff"])
def revoke_staff_access(staff_id: StaffId, session: SessionDep, _admin: AdminDep) -> Response:
    """Disable a staff account (admins): tokens revoked, sessions ended, signing in refused."""
    staff.revoke_access(session, staff_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/public/demands", response_model=public.PublicDemandPage, tags=["public"])
def list_published_demands(
    session: SessionDep,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=100, title="每页条数")] = 20,
) -> public.PublicDemandPage:
    """List published demands for anyone: public fields only, no enterprise names or contacts."""
    return public.published_demands(session, page=page, page_size=page_size)


@router.get("/public/demands/{demand_id}", response_model=public.PublicDemand, tags=["public"])
def read_published_demand(demand_id: PathId, session: SessionDep) -> public.PublicDemand:
    """Read one published demand (public fields only); unpublished demands do not exist here."""
    found = public.published_demand(session, demand_id)
    if found is None:
        raise NotFoundError(f"没有已发布的需求 {demand_id}")
    return found


@router.get(
    "/enterprise/demands/{demand_id}/pairings",
    response_model=list[public.EnterprisePairing],
    tags=["enterprise"],
)
def read_own_pairings(demand: EnterpriseDemandDep, session: SessionDep) -> list[public.EnterprisePairing]:
    """The providers staff paired with the enterprise's demand, with their contacts (receipt token)."""
    return public.enterprise_pairings(session, demand)
