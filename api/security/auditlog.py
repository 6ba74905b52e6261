"""Reading the audit log: filters, pages and file exports for admins."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, Final

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.exports.tables import TableFormat, write_table
from api.security.models import AuditEntry

EXPORT_HEADERS: Final = (
    "编号",
    "时间（UTC）",
    "工作人员编号",
    "工作人员",
    "操作",
    "对象类型",
    "对象编号",
    "修改前",
    "修改后",
)
EXPORT_LIMIT: Final = 200_000


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What an admin looks for; parts combine with AND."""

    staff_id: int | None = None
    action: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditEntryOut(BaseModel):
    """One audit entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    staff_id: int | None
    staff_name: str
    action: str
    target_kind: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    """One page of the audit log, newest first."""

    items: list[AuditEntryOut]
    total: int
    page: int
    page_size: int


def _conditions(where: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.staff_id is not None:
        conditions.append(AuditEntry.staff_id == where.staff_id)
    if where.action:
        # "demand" finds every demand action, "demand.status" only status changes.
        conditions.append(AuditEntry.action.startswith(where.action, autoescape=True))
    if where.target_kind:
        conditions.append(AuditEntry.target_kind == where.target_kind)
    if where.target_id:
        conditions.append(AuditEntry.target_id == where.target_id)
    if where.since:
        conditions.append(AuditEntry.created_at >= where.since)
    if where.until:
        conditions.append(AuditEntry.created_at < where.until)
    return conditions


def audit_page(session: Session, where: AuditFilter, *, page: int, page_size: int) -> AuditPage:
    """One page of matching entries, newest first, with the total count."""
    conditions = _conditions(where)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    query = (
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    items = [AuditEntryOut.model_validate(entry) for entry in session.scalars(query)]
    return AuditPage(items=items, total=total, page=page, page_size=page_size)


def _export_rows(session: Session, where: AuditFilter) -> Iterator[list[object]]:
    query = select(AuditEntry).where(*_conditions(where)).order_by(AuditEntry.id).limit(EXPORT_LIMIT)
    for entry in session.scalars(query.execution_options(yield_per=1000)):
        yield [
            entry.id,
            entry.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            entry.staff_id,
            entry.staff_name,
            entry.action,
            entry.target_kind,
            entry.target_id,
            _as_text(entry.before),
            _as_text(entry.after),
        ]


def _as_text(values: dict[str, Any] | None) -> str | None:
    return None if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True)


def export_audit(session: Session, where: AuditFilter, table_format: TableFormat, stream: BinaryIO) -> int:
    """Write the matching entries, oldest first, to ``stream``; returns the number of rows."""
    return write_table(stream, EXPORT_HEADERS, _export_rows(session, where), table_format, title="审计日志")
