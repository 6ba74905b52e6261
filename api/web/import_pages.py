"""Staff pages of bulk intake and export: upload spreadsheets or Word forms, see the report inline;
download the demand list, or its demands' ranked match lists, as a spreadsheet."""

import io
from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from api.db.models import Demand
from api.demands.repository import DemandFilter, conditions
from api.demands.schemas import LABELS
from api.deps import SessionDep
from api.encoding.service import status as encoding_status
from api.errors import FieldError, RequestInvalidError
from api.exports.service import export_demands
from api.exports.tables import TableFormat
from api.imports.limits import ImportLimits, human_size
from api.imports.readers import ParsedFile, file_error, read_upload
from api.imports.report import ImportMode
from api.imports.service import import_files
from api.reports.router import xlsx
from api.reports.workbooks import matches_workbook
from api.web.demand_pages import ListFiltersDep
from api.web.deps import FormDep, WebStaffDep
from api.web.routing import WebRoute
from api.web.templating import CHINA_TIME, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MODE_LABELS = {
    ImportMode.STRICT: "严格：有一行出错就整批不写入",
    ImportMode.KEEP_VALID: "保留正确行：写入正确的行，报告出错的行",
}
# Match lists of the filtered demands in one file: a campaign's worth, built in one batch.
MAX_MATCH_EXPORT = 2_000
MATCH_LEVELS = {"society": "学会", "branch": "分支机构", "expert": "专家"}


@router.get("/demands/import")
def import_form(request: Request, session: SessionDep, _staff: WebStaffDep) -> Response:
    """The upload form for 汇总表 spreadsheets and filled 附件1 Word forms, and how many imported texts
    still wait for their sentence vectors."""
    return _import_page(request, session, None, {}, ImportMode.STRICT)


def _import_page(
    request: Request,
    session: Session,
    report: object,
    errors: dict[str, str],
    mode: ImportMode,
    code: int = 200,
) -> Response:
    context = {
        "encoding": encoding_status(session),
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
            request, session, None, {"files": "请选择要导入的文件（.xlsx、.csv、.docx 或 .zip）"}, mode, 422
        )
    limits = ImportLimits()
    parsed = [part for upload in uploads for part in _read(upload, limits)]
    report = import_files(session, parsed, mode=mode, limits=limits, staff_id=staff.id)
    return _import_page(
        request, session, report, {}, mode, 422 if report.refused and report.created == 0 else 200
    )


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
    query: ListFiltersDep,
) -> Response:
    """The demands of the list's current filters as an XLSX file with Chinese headers."""
    # The same filters, read the same way, as the list page the button sits on.
    where = query.to_filter()
    buffer = io.BytesIO()
    export_demands(session, where, TableFormat.XLSX, buffer)
    return xlsx(buffer.getvalue(), "demands.xlsx", f"技术需求_{datetime.now(CHINA_TIME):%Y%m%d_%H%M}.xlsx")


@router.get("/demands/matches.xlsx")
def export_matches_xlsx(
    session: SessionDep,
    _staff: WebStaffDep,
    query: ListFiltersDep,
    level: str = "society",
) -> Response:
    """The ranked match lists of the list's current demands as XLSX, a sheet per society."""
    if level not in MATCH_LEVELS:
        message = "匹配对象应为学会、分支机构或专家"
        raise RequestInvalidError(errors=[FieldError("level", "level_invalid", message)])
    demand_ids = _filtered_ids(session, query.to_filter())
    content = matches_workbook(session, demand_ids, level, limit=10)
    name = f"匹配清单_{MATCH_LEVELS[level]}_{datetime.now(CHINA_TIME):%Y%m%d_%H%M}.xlsx"
    return xlsx(content, "matches.xlsx", name)


def _filtered_ids(session: Session, where: DemandFilter) -> list[int]:
    """Ids of the demands ``where`` selects, oldest first; refused beyond ``MAX_MATCH_EXPORT``."""
    query = select(Demand.id).where(*conditions(where)).order_by(Demand.id).limit(MAX_MATCH_EXPORT + 1)
    ids = list(session.scalars(query))
    if len(ids) > MAX_MATCH_EXPORT:
        message = f"当前筛选的需求超过 {MAX_MATCH_EXPORT} 条，请按状态、地区或关键词缩小范围后再导出匹配清单"
        raise RequestInvalidError(errors=[FieldError("q", "too_many", message)])
    return ids
