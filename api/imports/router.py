"""``POST /api/v1/demands/import``: staff upload 汇总表 and 附件1 forms; the answer is the report.

The body of an upload is capped before it is parsed by ``api.security.bodylimit`` (the upload limit
of every file route), so an oversized upload is never spooled to disk.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse

from api.auth.dependencies import StaffDep
from api.deps import SessionDep
from api.encoding.service import status as encoding_status
from api.errors import HuiqiError
from api.imports.limits import ImportLimits, human_size
from api.imports.readers import ParsedFile, read_upload
from api.imports.report import ImportMode
from api.imports.service import import_files


class PayloadTooLargeError(HuiqiError):
    """An uploaded file over the size limit."""

    status_code = 413
    code = "file_too_large"
    default_detail = "上传的文件过大"


def import_limits() -> ImportLimits:
    """The limits of one upload (a dependency, so a deployment or a test can set its own)."""
    return ImportLimits()


LimitsDep = Annotated[ImportLimits, Depends(import_limits)]


router = APIRouter(prefix="/demands", tags=["demands"])


def _read(upload: UploadFile, limits: ImportLimits) -> list[ParsedFile]:
    # Read one byte past the limit: enough to know the file is too large without reading it all.
    data = upload.file.read(limits.max_file_bytes + 1)
    name = upload.filename or "upload"
    if len(data) > limits.max_file_bytes:
        detail = f"文件“{name}”超过 {human_size(limits.max_file_bytes)} 的上限，请拆分后分批导入"
        raise PayloadTooLargeError(detail)
    return read_upload(name, data, limits)


@router.post(
    "/import",
    responses={
        422: {"description": "有行或文件被拒绝：errors 列出每行每个字段，report 为完整报告"},
        413: {"description": "文件或整个上传超过大小上限"},
    },
)
def import_demands(
    files: Annotated[list[UploadFile], File(description=".xlsx、.csv、.docx（附件1）或它们的 .zip")],
    session: SessionDep,
    staff: StaffDep,
    limits: LimitsDep,
    mode: Annotated[
        ImportMode, Form(description="strict：一行有误即全部不写入；keep_valid：写入正确的行")
    ] = (ImportMode.STRICT),
    campaign_id: Annotated[
        int | None,
        Form(
            ge=1, description="征集活动编号：未填征集活动编号的行都记入该活动，按其截止规则（或补报登记）接收"
        ),
    ] = None,
) -> Any:
    """Import demands in bulk (staff); 422 with every bad row when anything was refused in strict mode."""
    if len(files) > limits.max_files:
        raise PayloadTooLargeError(f"一次最多上传 {limits.max_files} 个文件")
    parsed = (item for upload in files for item in _read(upload, limits))
    report = import_files(
        session, parsed, mode=mode, limits=limits, staff_id=staff.id, campaign_id=campaign_id
    )
    body = report.as_dict()
    encoding = encoding_status(session)
    body["encoding"] = {
        "pending_demands": encoding.pending.get("demand", 0),
        "pending_texts": encoding.total_pending,
        "message": encoding.progress,
    }
    if not report.took_effect:
        errors = body.pop("errors")
        refused = {"detail": f"导入被拒绝：{report.headline()}", "code": "import_refused", "errors": errors}
        return JSONResponse({**refused, "report": body}, status_code=422)
    return body
