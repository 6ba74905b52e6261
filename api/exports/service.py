"""Demands as rows under the 附件1 labels, in id order, streamed from the database."""

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, BinaryIO, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Demand, DemandStatus
from api.demands import repository
from api.demands.repository import DemandFilter
from api.demands.service import STATUS_LABELS
from api.exports.tables import TableFormat, write_table
from api.imports.columns import FIELD_LABELS, FIELDS
from api.reference import normalize_industry_code, region_prefix

HEADERS: Final = ("编号", "状态", *(FIELD_LABELS[name] for name in FIELDS), "提交时间")
_COLUMNS: Final = ("id", "status", *FIELDS, "created_at")
BATCH: Final = 1000
KEYWORD_SEPARATOR: Final = "、"


def demand_filter(
    statuses: Sequence[DemandStatus] = (),
    text: str | None = None,
    region: str | None = None,
    industry: str | None = None,
) -> DemandFilter:
    """The list route's filters, read the way the list route reads them."""
    return DemandFilter(
        statuses=tuple(statuses),
        text=(text or "").strip() or None,
        region_prefix=region_prefix(region) if region else None,
        industry_prefix=(normalize_industry_code(industry) or industry.strip().upper()) if industry else None,
    )


def export_rows(session: Session, where: DemandFilter, table_format: TableFormat) -> Iterator[list[object]]:
    """One row per matching demand, oldest first; cells typed for ``table_format``."""
    columns = [getattr(Demand, name) for name in _COLUMNS]
    query = select(*columns).where(*repository.conditions(where)).order_by(Demand.id)
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield [_cell(name, value, table_format) for name, value in zip(_COLUMNS, row, strict=True)]


def _cell(name: str, value: Any, table_format: TableFormat) -> object:
    if value is None:
        return None
    if name == "status":
        return STATUS_LABELS[DemandStatus(value)]
    if name == "keywords":
        return KEYWORD_SEPARATOR.join(value)
    if name == "created_at":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if table_format is TableFormat.CSV and isinstance(value, Decimal | date):
        return str(value)
    return value if isinstance(value, str | int | Decimal | date | datetime) else str(value)


def export_demands(session: Session, where: DemandFilter, table_format: TableFormat, stream: BinaryIO) -> int:
    """Write the matching demands to ``stream``; returns how many."""
    rows = export_rows(session, where, table_format)
    return write_table(stream, HEADERS, rows, table_format, title="技术需求")
