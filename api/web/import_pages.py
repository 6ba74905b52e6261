"""Staff pages of bulk intake and export: upload spreadsheets or Word forms, see the report inline;
download the demand list as a spreadsheet."""

import io
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import UploadFile

from api.demands.schemas import LABELS
from api.deps import SessionDep
from api.exports.service import export_demands
from api.exports.tables import TableFormat
from api.imports.limits import ImportLimits, human_size
from api.imports.readers import ParsedFile, file_error, read_upload
from api.imports.report import ImportMode
from api.imports.service import import_files
from api.web.demand_pages import list_query
from api.web.deps import FormDep, WebStaffDep
from api.web.routing import WebRoute
from api.web.templating import CHINA_TIME, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MODE_LABELS = {
    ImportMode.STRICT: "严格：有一行出错就整批不写入",
    ImportMode.KEEP_VALID: "保留正确行：写入正确的行，报告出错的行",
}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/demands/import")
def import_form(request: Request, _staff: WebStaffDep) -> Response:
    """The upload form for 汇总表 spreadsheets and filled 附件1 Word forms."""
    return _import_page(request, None, {}, ImportMode.STRICT)


def _import_page(
    request: Request, report: object, errors: dict[str, str], mode: ImportMode, code: int = 200
) -> Response:
    context = {
        "report": report,
        "errors": errors,
        "mode": mode,
        "modes": MODE_LABELS,
        "labels": LABELS,
        "max_size": human_size(ImportLimits().max_file_bytes),
    }
    return render(request, "demands/import.html", context, status_code=code)


@router.post("/demands/import")
def import_upload(request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep) -> Response:
    """Import the uploaded files in the chosen mode and show the report on the same page."""
    mode_value = str(form.get("mode") or ImportMode.STRICT.value)
    mode = ImportMode(mode_value) if mode_value in ImportMode._value2member_map_ else ImportMode.STRICT
    uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile) and item.filename]
    if not uploads:
        return _import_page(
            request, None, {"files": "请选择要导入的文件（.xlsx、.csv、.docx 或 .zip）"}, mode, 422
        )
    limits = ImportLimits()
    parsed = [part for upload in uploads for part in _read(upload, limits)]
    report = import_files(session, parsed, mode=mode, limits=limits, staff_id=staff.id)
    return _import_page(request, report, {}, mode, 422 if report.refused and report.created == 0 else 200)


def _read(upload: UploadFile, limits: ImportLimits) -> list[ParsedFile]:
    name = upload.filename or "未命名文件"
    # One byte over the limit is enough to refuse the file; never read an unbounded upload.
    data = upload.file.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        message = f"文件“{name}”超过上限 {human_size(limits.max_file_bytes)}，请拆分后分批导入"
        return [ParsedFile(name, errors=[file_error(name, "file_too_large", message)])]
    return read_upload(name, data, limits)


@router.get("/demands/export.xlsx")
def export_xlsx(
    session: SessionDep,
    _staff: WebStaffDep,
    status: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    q: str = "",
    region: str = "",
    industry: str = "",
) -> Response:
    """The demands of the list's current filters as an XLSX file with Chinese headers."""
    # The same filters, read the same way, as the list page the button sits on.
    where = list_query(status, q, region, industry).to_filter()
    buffer = io.BytesIO()
    export_demands(session, where, TableFormat.XLSX, buffer)
    name = f"技术需求_{datetime.now(CHINA_TIME):%Y%m%d_%H%M}.xlsx"
    disposition = f"attachment; filename=\"demands.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(buffer.getvalue(), media_type=XLSX_TYPE, headers={"Content-Disposition": disposition})
