"""Bulk import of societies, branches and experts from CSV (UTF-8) or XLSX, with a report per row.

Columns are the API field names (``name``, ``level``, ``discipline_codes`` …); list columns separate
their items with ``;``. Branch rows name their society by ``society_code`` (or ``society_id``); expert
rows may name one post with ``society_code``, ``branch_code`` and ``role``. ``strict`` imports nothing
unless every row is valid; ``keep_valid`` imports the valid rows and reports the others.
"""

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from typing import Any, Final

from openpyxl import load_workbook
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import HuiqiError, RequestInvalidError, field_error, translate_all
from api.providers import service
from api.providers.models import Branch, Society
from api.providers.schemas import BranchCreate, ExpertCreate, SocietyCreate
from api.validation import row_id

LIST_COLUMNS: Final = frozenset({"discipline_codes", "nsfc_codes", "industry_codes", "keywords"})
_TRUE, _FALSE = frozenset({"是", "启用", "可"}), frozenset({"否", "停用", "不可"})
MAX_ROWS: Final = 5000


class ImportLevel(StrEnum):
    """What the file holds."""

    SOCIETY = "society"
    BRANCH = "branch"
    EXPERT = "expert"


class ImportMode(StrEnum):
    """strict: all rows or none; keep_valid: the valid rows."""

    STRICT = "strict"
    KEEP_VALID = "keep_valid"


class RowError(BaseModel):
    """One bad field of a row."""

    field: str
    code: str
    message: str


class RowReport(BaseModel):
    """What happened to one row: imported (with its new id), valid but not imported, or rejected."""

    line: int
    status: str
    id: int | None = None
    errors: list[RowError] = []


class ImportReport(BaseModel):
    """The outcome of an import."""

    level: ImportLevel
    mode: ImportMode
    total: int
    imported: int
    rejected: int
    rows: list[RowReport]


Row = tuple[int, dict[str, str]]


def read_upload(filename: str, content: bytes) -> list[Row]:
    """``(line, row)`` pairs of a CSV or XLSX file, by its extension."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "csv":
        return _csv_rows(content)
    if suffix == "xlsx":
        return _xlsx_rows(content)
    raise RequestInvalidError(errors=[field_error("file", "file_type_invalid", value=filename or "未命名")])


def _csv_rows(content: bytes) -> list[Row]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RequestInvalidError(
            errors=[field_error("file", "file_type_invalid", value="非 UTF-8 编码")]
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        _check_header(reader.fieldnames or [])
        return [(reader.line_num, _csv_row(reader.line_num, row)) for row in reader]
    except csv.Error:
        # A cell beyond the csv module's 128 KiB limit or a stray quote: name the line, not a 500.
        raise RequestInvalidError(
            errors=[field_error("file", "csv_invalid", line=reader.line_num + 1)]
        ) from None


def _check_header(names: Sequence[str]) -> None:
    # With a column named twice, DictReader would keep the last cell and drop the first silently.
    seen = [name.strip() for name in names if name and name.strip()]
    repeated = sorted({name for name in seen if seen.count(name) > 1})
    if repeated:
        raise RequestInvalidError(errors=[field_error("file", "column_repeated", value="、".join(repeated))])


def _csv_row(line: int, row: dict[str | None, Any]) -> dict[str, str]:
    if row.get(None):  # cells beyond the header: their column is unknown, so the row cannot be read
        raise RequestInvalidError(errors=[field_error("file", "cells_beyond_header", line=line)])
    return {key.strip(): (value or "") for key, value in row.items() if key}


def _xlsx_rows(content: bytes) -> list[Row]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a file that is not a workbook
        raise RequestInvalidError(
            errors=[field_error("file", "file_type_invalid", value="无法读取的 XLSX")]
        ) from error
    # The first sheet the person sees in Excel; hidden sheets hold lookup lists and old versions.
    sheet = next((ws for ws in workbook.worksheets if ws.sheet_state == "visible"), workbook.worksheets[0])
    values = sheet.iter_rows(values_only=True)
    header = [str(cell).strip() if cell is not None else "" for cell in next(values, ())]
    rows = [
        (
            line,
            {
                name: "" if cell is None else str(cell)
                for name, cell in zip(header, cells, strict=False)
                if name
            },
        )
        for line, cells in enumerate(values, start=2)
    ]
    workbook.close()
    return [(line, row) for line, row in rows if any(value.strip() for value in row.values())]


def _cell(value: str) -> Any:
    text = value.strip()
    if text in _TRUE:
        return True
    return False if text in _FALSE else text


def _fields(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in row.items():
        if not value.strip():
            continue  # an empty cell leaves the field at its default
        if name in LIST_COLUMNS:
            fields[name] = [part.strip() for part in value.replace("；", ";").split(";") if part.strip()]
        else:
            fields[name] = _cell(value)
    return fields


def _society_id(session: Session, fields: dict[str, Any]) -> int:
    code = fields.pop("society_code", None)
    if code is None:
        raw = str(fields.pop("society_id", "")).strip()
        society_id = row_id(raw)
    else:
        society_id = session.scalar(select(Society.id).where(Society.code == code))
    if society_id is None:
        raise RequestInvalidError(
            errors=[field_error("society_code", "society_not_found", value=code or "未填写")]
        )
    return society_id


def _import_society(session: Session, fields: dict[str, Any]) -> int:
    return service.create_society(session, payload=SocietyCreate.model_validate(fields)).id


def _import_branch(session: Session, fields: dict[str, Any]) -> int:
    society_id = _society_id(session, fields)
    payload = BranchCreate.model_validate(fields)
    return service.create_branch(session, society_id=society_id, payload=payload).id


def _import_expert(session: Session, fields: dict[str, Any]) -> int:
    if "society_code" in fields or "society_id" in fields:
        post: dict[str, Any] = {
            "society_id": _society_id(session, fields),
            "role": fields.pop("role", "会员"),
        }
        if branch_code := fields.pop("branch_code", None):
            branch_id = session.scalar(select(Branch.id).where(Branch.code == branch_code))
            if branch_id is None:
                error = field_error("branch_code", "branch_not_in_society", value=branch_code)
                raise RequestInvalidError(errors=[error])
            post["branch_id"] = branch_id
        fields["posts"] = [post]
    return service.create_expert(session, payload=ExpertCreate.model_validate(fields)).id


_IMPORTERS: Final[dict[ImportLevel, Callable[[Session, dict[str, Any]], int]]] = {
    ImportLevel.SOCIETY: _import_society,
    ImportLevel.BRANCH: _import_branch,
    ImportLevel.EXPERT: _import_expert,
}


def _errors_of(error: ValidationError | HuiqiError) -> list[RowError]:
    if isinstance(error, ValidationError):
        items = translate_all(error.errors())
    elif error.errors:
        items = list(error.errors)
    else:
        return [RowError(field="row", code=error.code, message=error.detail)]
    return [RowError(field=item.field, code=item.code, message=item.message) for item in items]


def _each_row(session: Session, rows: list[Row], level: ImportLevel) -> Iterator[RowReport]:
    for line, row in rows:
        try:
            with session.begin_nested():
                new_id = _IMPORTERS[level](session, _fields(row))
        except (ValidationError, HuiqiError) as error:
            yield RowReport(line=line, status="rejected", errors=_errors_of(error))
        else:
            yield RowReport(line=line, status="imported", id=new_id)


def import_rows(session: Session, rows: list[Row], *, level: ImportLevel, mode: ImportMode) -> ImportReport:
    """Import ``rows`` at ``level``; in strict mode nothing stays unless every row is valid."""
    if len(rows) > MAX_ROWS:
        raise RequestInvalidError(f"一次最多导入 {MAX_ROWS} 行，本文件有 {len(rows)} 行")
    outer = session.begin_nested()
    reports = list(_each_row(session, rows, level))
    rejected = sum(report.status == "rejected" for report in reports)
    if mode is ImportMode.STRICT and rejected:
        outer.rollback()
        reports = [r if r.status == "rejected" else RowReport(line=r.line, status="valid") for r in reports]
    else:
        outer.commit()
    imported = sum(report.status == "imported" for report in reports)
    return ImportReport(
        level=level, mode=mode, total=len(reports), imported=imported, rejected=rejected, rows=reports
    )
