"""``GET /api/v1/demands/export.xlsx`` and ``export.csv``: the list route's filters, 附件1 headers."""

import io
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from api.auth.dependencies import StaffDep
from api.db.models import DemandStatus
from api.deps import SessionDep
from api.exports.service import demand_filter, export_demands
from api.exports.tables import MEDIA_TYPES, TableFormat
from api.validation import ParameterText

# Registered before the demands router: "/demands/{demand_id}" would otherwise claim "export.xlsx".
router = APIRouter(prefix="/demands", tags=["demands"])

Statuses = Annotated[list[DemandStatus] | None, Query(description="状态，可重复")]
Text = Annotated[
    ParameterText | None,
    Query(max_length=100, title="查找文字", description="在名称、说明、单位、主营业务中查找"),
]
Region = Annotated[
    str | None, Query(pattern=r"^\d{2,12}$", title="地区代码", description="行政区划代码或其前缀")
]
Industry = Annotated[
    ParameterText | None, Query(max_length=5, title="行业代码", description="行业代码或其前缀，如 C35")
]


def _file(
    session: SessionDep,
    table_format: TableFormat,
    status: Statuses,
    q: Text,
    region: Region,
    industry: Industry,
) -> Response:
    stream = io.BytesIO()
    export_demands(session, demand_filter(status or (), q, region, industry), table_format, stream)
    name = f"技术需求-{date.today():%Y%m%d}.{table_format.value}"
    disposition = f"attachment; filename=demands.{table_format.value}; filename*=UTF-8''{quote(name)}"
    return Response(
        stream.getvalue(), media_type=MEDIA_TYPES[table_format], headers={"Content-Disposition": disposition}
    )


@router.get("/export.xlsx", response_class=Response)
def export_xlsx(
    session: SessionDep,
    _staff: StaffDep,
    status: Statuses = None,
    q: Text = None,
    region: Region = None,
    industry: Industry = None,
) -> Response:
    """Export the matching demands as XLSX (staff); the file imports back unchanged."""
    return _file(session, TableFormat.XLSX, status, q, region, industry)


@router.get("/export.csv", response_class=Response)
def export_csv(
    session: SessionDep,
    _staff: StaffDep,
    status: Statuses = None,
    q: Text = None,
    region: Region = None,
    industry: Industry = None,
) -> Response:
    """Export the matching demands as CSV in UTF-8 with BOM (staff)."""
    return _file(session, TableFormat.CSV, status, q, region, industry)
