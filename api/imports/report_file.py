"""The import report as a spreadsheet: one line per bad field, duplicate row or unknown column."""

from collections.abc import Iterator
from pathlib import Path
from typing import Final

from api.exports.tables import TableFormat, write_table
from api.imports.columns import FIELD_LABELS as LABELS
from api.imports.report import ImportReport

HEADERS: Final = ("文件", "行号", "字段", "栏目", "代码", "说明")


def report_rows(report: ImportReport) -> Iterator[list[object]]:
    """Errors first, then duplicates skipped, then columns ignored, then the summary line."""
    for error in report.errors:
        yield [error.source, error.row, error.field, LABELS.get(error.field, ""), error.code, error.message]
    for duplicate in report.duplicates:
        if duplicate.demand_id is not None:
            why = f"与已有需求（编号 {duplicate.demand_id}）相同，未重复建档"
        else:
            why = f"与 {duplicate.first_source} 第 {duplicate.first_row or '-'} 行相同，只导入一次"
        yield [duplicate.source, duplicate.row, "", "", "duplicate", why]
    for summary in report.files:
        for column in summary.extra_columns:
            yield [summary.source, None, "", column, "extra_column", f"不认识的列“{column}”，已忽略"]
    yield ["", None, "", "", "summary", report.headline()]


def report_path(first_input: Path, table_format: TableFormat) -> Path:
    """Where the report of an import goes: beside its (first) input, named after it."""
    return first_input.parent / f"{first_input.stem}_导入报告.{table_format.value}"


def write_report(report: ImportReport, path: Path, table_format: TableFormat) -> None:
    """Write the report to ``path``."""
    with path.open("wb") as stream:
        write_table(stream, HEADERS, report_rows(report), table_format, title="导入报告")
