"""Write a table as XLSX (write-only, streamed) or as CSV in UTF-8 with a BOM (Excel reads it as such)."""

import csv
import io
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet


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
        writer.writerow("" if value is None else value for value in row)
        count += 1
    text.flush()
    text.detach()  # leave the caller's stream open
    return count


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
