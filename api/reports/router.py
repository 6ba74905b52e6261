"""HTTP routes of exports and reports (staff): pairings and match lists as XLSX, round and period reports
as HTML or XLSX."""

from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from api.auth.dependencies import StaffDep
from api.deps import SessionDep
from api.errors import FieldError, RequestInvalidError
from api.matching.schemas import Level
from api.reports import html, service, workbooks
from api.validation import Day, PathId, row_id

# Registered before the demands router: "/demands/{demand_id}" would otherwise claim "matches.xlsx".
router = APIRouter(tags=["reports"])

MAX_DEMANDS: Final = 200
# Labelled here, not globally: elsewhere ``to`` is a status (a transition's 目标状态).
From = Annotated[Day, Query(alias="from", title="开始日期", description="开始日期（含），如 2026-07-01")]
To = Annotated[Day, Query(title="结束日期", description="结束日期（含），如 2026-09-30")]
RoundId = Annotated[PathId, Path(title="匹配轮次编号")]


def download(content: bytes, media_type: str, ascii_name: str, name: str) -> Response:
    """A file answer whose name survives in every browser (ASCII fallback, UTF-8 name)."""
    disposition = f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(name)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


def xlsx(content: bytes, ascii_name: str, name: str) -> Response:
    """An XLSX download."""
    return download(content, workbooks.XLSX_MEDIA_TYPE, ascii_name, name)


def parse_ids(text: str) -> list[int]:
    """``"3,5，8"`` -> [3, 5, 8] (order kept, repeats dropped), or a field error naming ``ids``."""
    parts = [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
    if not parts or not all(row_id(part) for part in parts):
        message = "请填写需求编号，用逗号分隔，如 1,2,3"
        raise RequestInvalidError(errors=[FieldError("ids", "ids_invalid", message)])
    ids = list(dict.fromkeys(int(part) for part in parts))
    if len(ids) > MAX_DEMANDS:
        message = f"一次最多导出 {MAX_DEMANDS} 个需求的匹配清单"
        raise RequestInvalidError(errors=[FieldError("ids", "too_many", message)])
    return ids


@router.get("/rounds/{round_id}/pairings.xlsx", response_class=Response)
def round_pairings_xlsx(round_id: RoundId, session: SessionDep, _staff: StaffDep) -> Response:
    """A round's pairings as XLSX: a summary sheet, then a sheet per society."""
    content = workbooks.pairings_workbook(session, round_id)
    return xlsx(content, f"round-{round_id}-pairings.xlsx", f"第{round_id}轮配对.xlsx")


@router.get("/demands/matches.xlsx", response_class=Response)
def demands_matches_xlsx(
    session: SessionDep,
    _staff: StaffDep,
    ids: Annotated[str, Query(title="需求编号", description="需求编号，逗号分隔，最多 200 个")],
    level: Annotated[
        Level, Query(title="匹配对象", description="学会 society、分支机构 branch 或专家 expert")
    ] = "society",
    limit: Annotated[int, Query(ge=1, le=100, title="条数")] = 10,
) -> Response:
    """The ranked match lists of some demands as XLSX, a sheet per society."""
    content = workbooks.matches_workbook(session, parse_ids(ids), level, limit)
    return xlsx(content, "matches.xlsx", "匹配清单.xlsx")


@router.get("/reports/round/{round_id}.html", response_class=HTMLResponse)
def round_report_html(round_id: RoundId, session: SessionDep, _staff: StaffDep) -> HTMLResponse:
    """A round's report as one HTML document with its charts embedded."""
    return HTMLResponse(html.render(service.round_report(session, round_id)))


@router.get("/reports/round/{round_id}.xlsx", response_class=Response)
def round_report_xlsx(round_id: RoundId, session: SessionDep, _staff: StaffDep) -> Response:
    """A round's report as XLSX with its charts as images."""
    report = service.round_report(session, round_id)
    return xlsx(
        workbooks.report_workbook(report),
        f"round-{round_id}-report.xlsx",
        f"{service.file_stem(report)}.xlsx",
    )


@router.get("/reports/period.html", response_class=HTMLResponse)
def period_report_html(first: From, to: To, session: SessionDep, _staff: StaffDep) -> HTMLResponse:
    """The report of the demands collected in a period, as one HTML document."""
    return HTMLResponse(html.render(service.period_report(session, first, to)))


@router.get("/reports/period.xlsx", response_class=Response)
def period_report_xlsx(first: From, to: To, session: SessionDep, _staff: StaffDep) -> Response:
    """The report of the demands collected in a period, as XLSX with its charts as images."""
    report = service.period_report(session, first, to)
    ascii_name = f"report-{first:%Y%m%d}-{to:%Y%m%d}.xlsx"
    return xlsx(workbooks.report_workbook(report), ascii_name, f"{service.file_stem(report)}.xlsx")
