"""附件2/附件3 as files laid out like seed 003's tables: the attachment number, the title lines,
the 填报单位/填报时间 line, then the five-column table
(序号, 活动名称, 活动内容, 主要成效（含宣传工作情况）, 存在不足)."""

from io import BytesIO
from typing import Final

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

from api.programmes.reports import HEADERS
from api.programmes.schemas import Report

XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
COLUMN_WIDTHS_XLSX: Final = (8, 22, 48, 48, 28)
COLUMN_WIDTHS_CM: Final = (1.5, 4.0, 8.0, 8.0, 4.5)
BODY_FONT: Final = "宋体"
TITLE_FONT: Final = "黑体"
# Where the table starts in the sheet: after the attachment number, three title lines and 填报单位.
XLSX_HEADER_ROW: Final = 6


def unit_line(report: Report) -> tuple[str, str]:
    """The two halves of the 填报单位 / 填报时间 line."""
    day = report.filled_on
    return f"填报单位：{report.unit.name}", f"填报时间：{day.year}年{day.month}月{day.day}日"


def file_name(report: Report, extension: str) -> str:
    """A file name a person recognises: 附件2_单位_2026Q3.xlsx."""
    return f"附件{report.table}_{report.unit.name}_{report.period}.{extension}"


# XLSX -----------------------------------------------------------------------------------------


def to_xlsx(report: Report) -> bytes:
    """The report as an Excel workbook of one sheet."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = f"附件{report.table}"
    _xlsx_titles(sheet, report)
    _xlsx_table(sheet, report)
    for index, width in enumerate(COLUMN_WIDTHS_XLSX):
        sheet.column_dimensions["ABCDE"[index]].width = width
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_titles(sheet: Worksheet, report: Report) -> None:
    number, *titles = report.title_lines
    sheet["A1"] = number
    sheet["A1"].font = Font(name=TITLE_FONT, size=12)
    for row, line in enumerate(titles, start=2):
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=5)
        cell = sheet.cell(row=row, column=1, value=line)
        cell.font = Font(name=TITLE_FONT, size=16 if row < 4 else 12, bold=row < 4)
        cell.alignment = Alignment(horizontal="center", vertical="center")
    unit, filled = unit_line(report)
    sheet.merge_cells("A5:C5")
    sheet.merge_cells("D5:E5")
    sheet["A5"], sheet["D5"] = unit, filled
    sheet["D5"].alignment = Alignment(horizontal="right")
    for cell in (sheet["A5"], sheet["D5"]):
        if isinstance(cell.value, str):
            cell.data_type = "s"  # a unit's name beginning with "=" stays text, never a formula


def _xlsx_table(sheet: Worksheet, report: Report) -> None:
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    values = [HEADERS, *((r.seq, r.name, r.content, r.outcomes, r.shortcomings) for r in report.rows)]
    for offset, row in enumerate(values):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=XLSX_HEADER_ROW + offset, column=column, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # staff text beginning with "=" stays text, never a live formula
            cell.border = border
            cell.font = Font(name=BODY_FONT, size=11, bold=offset == 0)
            centred = offset == 0 or column == 1
            cell.alignment = Alignment(
                horizontal="center" if centred else "left", vertical="center", wrap_text=True
            )
    sheet.print_title_rows = f"{XLSX_HEADER_ROW}:{XLSX_HEADER_ROW}"


# DOCX -----------------------------------------------------------------------------------------


def to_docx(report: Report) -> bytes:
    """The report as a Word document (landscape A4), laid out like the seed's table."""
    document = Document()
    _landscape(document)
    number, *titles = report.title_lines
    _paragraph(document, number, size=12, font=TITLE_FONT)
    for index, line in enumerate(titles):
        last = index == len(titles) - 1
        _paragraph(document, line, size=12 if last else 16, bold=not last, centre=True, font=TITLE_FONT)
    unit, filled = unit_line(report)
    _paragraph(document, f"{unit}\u3000\u3000\u3000\u3000{filled}", size=12)
    _docx_table(document, report)
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _landscape(document: DocxDocument) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))


def _paragraph(
    document: DocxDocument,
    text: str,
    *,
    size: int,
    bold: bool = False,
    centre: bool = False,
    font: str = BODY_FONT,
) -> None:
    paragraph = document.add_paragraph()
    if centre:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, text, size=size, bold=bold, font=font)


def _run(paragraph: Paragraph, text: str, *, size: int, bold: bool = False, font: str = BODY_FONT) -> None:
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = Pt(size)
    run.font.name = font
    # Word takes the font of Chinese characters from the East Asian slot, not from font.name.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def _docx_table(document: DocxDocument, report: Report) -> None:
    rows = [HEADERS, *((r.seq, r.name, r.content, r.outcomes, r.shortcomings) for r in report.rows)]
    table = document.add_table(rows=len(rows), cols=len(HEADERS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for row_index, values in enumerate(rows):
        cells = table.rows[row_index].cells
        for column, value in enumerate(values):
            cells[column].width = Cm(COLUMN_WIDTHS_CM[column])
            paragraph = cells[column].paragraphs[0]
            if row_index == 0 or column == 0:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _run(paragraph, value, size=11, bold=row_index == 0)
