"""Write a table as XLSX (write-only, streamed) or as CSV in UTF-8 with a BOM (Excel reads it as such)."""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# A CSV cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
# Such a cell is written behind an apostrophe, as Excel itself marks text; apostrophes already in front
# of one are kept, so that reading strips exactly one and every text comes back as it was.
_FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")


def guard_formula(text: str) -> str:
    """The text as a CSV cell that no spreadsheet runs: "=1+1" -> "'=1+1"; other texts unchanged."""
    return "'" + text if _FORMULA_START.match(text) else text


def unguard_formula(text: str) -> str:
    """Undo ``guard_formula``: "'=1+1" -> "=1+1"; any other text unchanged."""
    return text[1:] if text.startswith("'") and _FORMULA_START.match(text[1:]) else text


class TableFormat(StrEnum):
    """File formats of exports and reports."""

    XLSX = "xlsx"
    CSV = "csv"


MEDIA_TYPES = {
    TableFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    TableFormat.CSV: "text/csv; charset=utf-8",
}


def write_table(
    stream: BinaryIO,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    table_format: TableFormat,
    *,
    title: str = "Sheet1",
) -> int:
    """Write the headers and rows to ``stream``; returns the number of rows written."""
    if table_format is TableFormat.CSV:
        return _write_csv(stream, headers, rows)
    return _write_xlsx(stream, headers, rows, title)


def _write_csv(stream: BinaryIO, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow(_csv_cell(value) for value in row)
        count += 1
    text.flush()
    text.detach()  # leave the caller's stream open
    return count


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    return guard_formula(value) if isinstance(value, str) else value


def _write_xlsx(
    stream: BinaryIO, headers: Sequence[str], rows: Iterable[Sequence[object]], title: str
) -> int:
    workbook = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = workbook.create_sheet(title)
    bold = Font(bold=True)
    sheet.append([_cell(sheet, header, font=bold) for header in headers])
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
        count += 1
    workbook.save(stream)
    return count


def _cell(sheet: WriteOnlyWorksheet, value: object, font: Font | None = None) -> WriteOnlyCell:
    if isinstance(value, str):
        # Control characters are not allowed in XLSX; a text starting with "=" must stay text, not a formula.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell
