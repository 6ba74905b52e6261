"""Read demands out of uploaded files: XLSX and CSV 汇总表 (one demand per row), 附件1 Word forms.

Each reader turns a file into records: the text of each field by API name, with the row number a
person sees in Excel (or the file name for a Word form). Nothing here validates a field: that is the
demand schema's job.

Spreadsheet rows are read lazily: the header is found when the file is opened, and the records are a
generator the import consumes chunk by chunk, so a 50,000-row 汇总表 never sits in memory as records.
A problem found while reading on (too many rows, a broken CSV line) is raised as ``FileRefusedError``
from that generator. XLSX is read with calamine (a compiled reader, about eight times faster than
openpyxl's read-only mode on a 50,000-row sheet).
"""

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Final

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table, _Cell
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, SheetVisibleEnum

from api.exports.tables import unguard_formula
from api.imports.columns import (
    ADDRESS_POSTCODE,
    FIELD_LABELS,
    ColumnMap,
    field_of,
    header_score,
    map_columns,
    split_address_postcode,
)
from api.imports.limits import ImportLimits, LimitExceededError, check_archive, check_file_size
from api.imports.report import RowError

SPREADSHEETS: Final = (".xlsx", ".csv")
FORMS: Final = (".docx",)
ARCHIVES: Final = (".zip",)
SUPPORTED: Final = SPREADSHEETS + FORMS + ARCHIVES
HEADER_SEARCH_ROWS: Final = 10  # a 汇总表 often has a title and a "填报单位" line above its header
_UTF8_FLAG: Final = 0x800


@dataclass(frozen=True, slots=True)
class Record:
    """The field texts of one demand as read, and where it came from."""

    source: str
    row: int | None
    values: dict[str, str]


@dataclass(slots=True)
class ParsedFile:
    """One opened file; ``errors`` holds reasons the file as a whole was refused.

    ``records`` may be a generator (spreadsheets): iterate it once. ``expected_rows`` is the number of
    body rows the file declares, when known before reading them (for progress bars).
    """

    source: str
    records: Iterable[Record] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    expected_rows: int | None = None


class FileRefusedError(Exception):
    """A file found unusable while its rows were being read; ``code`` is the machine code."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def file_error(source: str, code: str, message: str, field_name: str = "file") -> RowError:
    """A reason to refuse a whole file."""
    return RowError(field=field_name, code=code, message=message, source=source, row=None)


def read_upload(name: str, data: bytes, limits: ImportLimits) -> list[ParsedFile]:
    """Read one uploaded file; a zip archive gives one parsed file per member."""
    suffix = PurePosixPath(name).suffix.lower()
    try:
        check_file_size(len(data), limits)
        if suffix in ARCHIVES:
            return _read_zip(name, data, limits)
        return [_read_single(name, suffix, data, limits)]
    except LimitExceededError as error:
        return [ParsedFile(name, errors=[file_error(name, error.code, str(error))])]


def _read_single(name: str, suffix: str, data: bytes, limits: ImportLimits) -> ParsedFile:
    try:
        if suffix == ".xlsx":
            return _read_xlsx(name, data, limits)
        if suffix == ".csv":
            return _read_csv(name, data, limits)
        if suffix == ".docx":
            return _read_docx(name, data, limits)
    except LimitExceededError as error:
        return ParsedFile(name, errors=[file_error(name, error.code, str(error))])
    except (zipfile.BadZipFile, CalamineError, PackageNotFoundError, KeyError, ValueError, OSError):
        message = f"文件“{name}”已损坏或不是有效的 {suffix[1:].upper()} 文件，无法读取"
        return ParsedFile(name, errors=[file_error(name, "file_corrupt", message)])
    message = f"不支持的文件类型“{suffix or name}”：请另存为 .xlsx、.csv 或 .docx（Word 2007 及以上）后导入"
    return ParsedFile(name, errors=[file_error(name, "format_unsupported", message)])


def _member_name(member: zipfile.ZipInfo) -> str:
    # Zips made on Chinese Windows store names in GBK without the UTF-8 flag; zipfile reads cp437.
    if member.flag_bits & _UTF8_FLAG:
        return member.filename
    try:
        return member.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return member.filename


def _read_zip(name: str, data: bytes, limits: ImportLimits) -> list[ParsedFile]:
    archive = check_archive(data, limits)
    members = [m for m in archive.infolist() if _wanted_member(_member_name(m)) and not m.is_dir()]
    if len(members) > limits.max_files:
        raise LimitExceededError(
            "too_many_files", f"压缩包内有 {len(members)} 个文件，超过上限 {limits.max_files}"
        )
    if not members:
        message = "压缩包内没有可导入的文件（.xlsx、.csv 或 .docx）"
        return [ParsedFile(name, errors=[file_error(name, "archive_empty", message)])]
    parsed = []
    for member in sorted(members, key=_member_name):
        inner = _member_name(member)
        parsed.append(
            _read_single(f"{name}/{inner}", PurePosixPath(inner).suffix.lower(), archive.read(member), limits)
        )
    return parsed


def _wanted_member(name: str) -> bool:
    path = PurePosixPath(name)
    hidden = path.name.startswith(("~$", ".")) or "__MACOSX" in path.parts
    return not hidden and path.suffix.lower() not in ARCHIVES


# --- spreadsheets ---------------------------------------------------------------------------------


def _read_xlsx(name: str, data: bytes, limits: ImportLimits) -> ParsedFile:
    check_archive(data, limits)
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    # Hidden sheets are a workbook's scratch space (lookup lists, old versions): only what the person
    # sees in Excel is imported.
    visible = [
        index
        for index, meta in enumerate(workbook.sheets_metadata)
        if meta.visible == SheetVisibleEnum.Visible
    ]
    for position, index in enumerate(visible):
        sheet = workbook.get_sheet_by_index(index)
        first = _first_row(sheet)
        parsed = _read_table(
            name, sheet.iter_rows(), limits, first_row=first, height=first - 1 + sheet.height
        )
        if not _no_header(parsed) or position == len(visible) - 1:
            return parsed
    return ParsedFile(name, errors=[_header_missing(name)])


def _first_row(sheet: CalamineSheet) -> int:
    # calamine starts a sheet at its first non-empty cell; Excel numbers rows from the top.
    return sheet.start[0] + 1 if sheet.start is not None else 1


def _no_header(parsed: ParsedFile) -> bool:
    return any(error.code == "header_missing" for error in parsed.errors)


def decode_csv(data: bytes) -> str:
    """CSV text: UTF-8 with or without BOM, else GB18030 (what Excel on Chinese Windows writes)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def csv_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the comma, tab or semicolon found most in its first line."""
    first_line = text.split("\n", 1)[0]
    return max(",\t;", key=first_line.count)


def _read_csv(name: str, data: bytes, limits: ImportLimits) -> ParsedFile:
    try:
        text = decode_csv(data)
    except UnicodeDecodeError:
        message = "无法识别文件编码：请以 UTF-8 或 GB18030（GBK）编码保存 CSV"
        return ParsedFile(name, errors=[file_error(name, "encoding_unknown", message)])
    # An export guards cells that spreadsheet programs would run as formulas; read them back as typed.
    return _read_table(name, _csv_rows(text), limits, cell=_csv_text, height=text.count("\n"))


def _csv_rows(text: str) -> Iterator[list[str]]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text))
    try:
        yield from rows
    except csv.Error as error:
        raise FileRefusedError("file_corrupt", _csv_problem(rows.line_num, error)) from None


def _csv_problem(line: int, error: csv.Error) -> str:
    # The csv module's reasons are English; the two a person can cause get a sentence of their own.
    if "field larger than field limit" in str(error):
        limit = csv.field_size_limit()
        return f"CSV 第 {line} 行有单元格超过 {limit} 个字符（约{limit // 10_000}万字），请删减后再导入"
    if "NUL" in str(error):
        return f"CSV 第 {line} 行含有空字符（NUL），文件可能已损坏或不是文本文件"
    return f"CSV 第 {line} 行无法解析（引号不成对或格式有误），请在表格软件中检查后另存为 CSV"


def _csv_text(value: object, field_name: str) -> str | None:
    text = cell_text(value, field_name)
    return None if text is None else unguard_formula(text)


def _header_missing(name: str) -> RowError:
    message = f"找不到表头：前{HEADER_SEARCH_ROWS}行中没有“单位名称”“技术需求名称”等栏目名（或 API 字段名）"
    return file_error(name, "header_missing", message)


CellReader = Callable[[object, str], str | None]


def _read_table(
    name: str,
    rows: Iterable[Sequence[object]],
    limits: ImportLimits,
    *,
    first_row: int = 1,
    cell: CellReader | None = None,
    height: int | None = None,
) -> ParsedFile:
    """Find the header among the first rows; the records are read lazily, as the import asks."""
    iterator = iter(rows)
    try:
        head = list(islice(iterator, HEADER_SEARCH_ROWS))
    except FileRefusedError as error:  # a bad line among the first rows: refused before any record
        return ParsedFile(name, errors=[file_error(name, error.code, str(error))])
    scores = [header_score(row) for row in head]
    if not scores or max(scores) < 2:
        return ParsedFile(name, errors=[_header_missing(name)])
    header_at = scores.index(max(scores))
    columns = map_columns(head[header_at])
    body = _numbered(head[header_at + 1 :], iterator, first=first_row + header_at + 1)
    return ParsedFile(
        name,
        records=_records(name, body, columns, limits, cell or cell_text),
        extra_columns=columns.extra,
        errors=_missing_columns(name, columns),
        expected_rows=None if height is None else max(height - first_row - header_at, 0),
    )


def _records(
    name: str,
    body: Iterator[tuple[int, Sequence[object]]],
    columns: ColumnMap,
    limits: ImportLimits,
    cell: CellReader,
) -> Iterator[Record]:
    for count, (number, row) in enumerate(body):
        if count >= limits.max_rows:
            raise FileRefusedError("too_many_rows", f"文件超过 {limits.max_rows} 行的上限，请拆分后分批导入")
        yield Record(name, number, _row_values(row, columns, cell))


def _numbered(
    buffered: list[Sequence[object]], rest: Iterator[Sequence[object]], first: int
) -> Iterator[tuple[int, Sequence[object]]]:
    rows = enumerate([*buffered], start=first)
    yield from ((n, row) for n, row in rows if _filled(row))
    start = first + len(buffered)
    yield from ((n, row) for n, row in enumerate(rest, start=start) if _filled(row))


def _filled(row: Sequence[object]) -> bool:
    return any(cell is not None and str(cell).strip() for cell in row)


def _missing_columns(name: str, columns: ColumnMap) -> list[RowError]:
    errors = []
    for missing in columns.missing_required():
        label = "手机”或“办公电话" if missing == "mobile" else FIELD_LABELS[missing]
        errors.append(file_error(name, "column_missing", f"缺少“{label}”列，整个文件无法导入", missing))
    return errors


def _row_values(row: Sequence[object], columns: ColumnMap, cell: CellReader) -> dict[str, str]:
    values: dict[str, str] = {}
    for position, field_name in columns.fields.items():
        if position < len(row) and (text := cell(row[position], field_name)) is not None:
            values[field_name] = text
    return merge_address_postcode(values)


def merge_address_postcode(values: dict[str, str]) -> dict[str, str]:
    """Split the combined 联系地址、邮编 text; a separate 联系地址 or 邮编 column wins over it."""
    combined = values.pop(ADDRESS_POSTCODE, None)
    if combined is None:
        return values
    address, postcode = split_address_postcode(combined)
    if address is not None:
        values.setdefault("address", address)
    if postcode is not None:
        values.setdefault("postcode", postcode)
    return values


def cell_text(value: object, field_name: str) -> str | None:
    """A cell as the text a person typed: 13805912345.0 -> "13805912345", a date -> "2027-12-31"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        # Excel drops the leading zero of a postcode typed as a number (010010 -> 10010).
        return f"{value:06d}" if field_name == "postcode" and 0 <= value < 1_000_000 else str(value)
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


# --- Word forms -----------------------------------------------------------------------------------


def _read_docx(name: str, data: bytes, limits: ImportLimits) -> ParsedFile:
    check_archive(data, limits)
    document = docx.Document(io.BytesIO(data))
    forms = [values for table in document.tables if (values := form_values(table)) is not None]
    if not forms:
        message = "没有找到附件1表格：表格中应有“单位名称”“技术需求名称”等栏目及其填写内容"
        return ParsedFile(name, errors=[file_error(name, "form_missing", message)])
    numbered = len(forms) > 1
    records = [Record(name, index if numbered else None, values) for index, values in enumerate(forms, 1)]
    return ParsedFile(name, records=records)


def form_values(table: Table) -> dict[str, str] | None:
    """The label/value pairs of a 附件1 table: each label cell is followed by the cell holding its value."""
    values: dict[str, str] = {}
    found = False
    for row in table.rows:
        cells = _distinct_cells(row.cells)
        for position, text in enumerate(cells):
            label = field_of(text) if text.strip() else None
            if label is None:
                continue
            found = True
            following = cells[position + 1] if position + 1 < len(cells) else ""
            if following.strip() and field_of(following) is None:
                values.setdefault(label, following.strip())
    return merge_address_postcode(values) if found else None


def _distinct_cells(cells: Sequence[_Cell]) -> list[str]:
    # A merged cell appears once per grid column it spans; keep it once.
    texts: list[str] = []
    seen: set[int] = set()
    for cell in cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            texts.append(cell.text)
    return texts


def read_path(path: Path, limits: ImportLimits) -> list[ParsedFile]:
    """Read a file from disk, refusing one over the size limit before loading it."""
    try:
        check_file_size(path.stat().st_size, limits)
    except LimitExceededError as error:
        return [ParsedFile(path.name, errors=[file_error(path.name, error.code, str(error))])]
    return read_upload(path.name, path.read_bytes(), limits)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and the supported files inside each folder (sorted, recursively)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and _wanted_file(p)))
        else:
            found.append(path)
    return found


def _wanted_file(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED and not path.name.startswith(("~$", "."))
