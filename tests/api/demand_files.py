"""Build the files staff upload: 汇总表 in XLSX or CSV, filled 附件1 Word forms, zips of them."""

import csv
import io
import zipfile
from collections.abc import Sequence
from typing import Any

import docx
import openpyxl

from tests.api.factories import demand_payload

FORM_HEADERS = [
    "单位名称",
    "主营业务",
    "联系人",
    "手机",
    "办公电话",
    "传真",
    "E-mail",
    "网址",
    "联系地址、邮编",
    "技术需求名称",
    "具体的技术需求说明",
    "企业概况",
]
_KEYS = [
    "org_name",
    "main_business",
    "contact_name",
    "mobile",
    "office_phone",
    "fax",
    "email",
    "website",
    None,
    "title",
    "description",
    "company_profile",
]


def form_row(index: int, **overrides: Any) -> list[Any]:
    """One 汇总表 row under FORM_HEADERS; a distinct demand per ``index``."""
    payload = demand_payload(org_name=f"福建省测试企业{index}有限公司", title=f"耐水解聚氨酯配方开发{index}")
    payload.update(overrides)
    address = f"{payload['address']}，{payload['postcode']}"
    return [address if key is None else payload.get(key) for key in _KEYS]


def xlsx_bytes(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title_row: str | None = None
) -> bytes:
    """A workbook with an optional title line above the header, as county 汇总表 have."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    if title_row:
        sheet.append([title_row])
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[Any]], encoding: str = "gb18030") -> bytes:
    """CSV text in ``encoding`` (Excel on Chinese Windows writes GB18030/GBK)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return text.getvalue().encode(encoding)


def docx_bytes(values: dict[str, str]) -> bytes:
    """The 附件1 form filled with ``values`` (label -> text), laid out as the seed: two pairs a row."""
    document = docx.Document()
    document.add_paragraph("福建省企事业单位技术需求征集表")
    layout = [
        ("单位名称", "主营业务"),
        ("联系人", "手机"),
        ("办公电话", "传真"),
        ("E-mail", "网址"),
        ("联系地址、邮编",),
        ("技术需求名称",),
        ("具体的技术\n需求说明",),
        ("企业概况",),
    ]
    table = document.add_table(rows=len(layout), cols=4)
    for row, labels in zip(table.rows, layout, strict=True):
        if len(labels) == 1:
            value_cell = row.cells[1].merge(row.cells[3])  # one wide value box, as in the form
            row.cells[0].text = labels[0]
            value_cell.text = values.get(labels[0].replace("\n", ""), "")
            continue
        for position, label in enumerate(labels):
            row.cells[2 * position].text = label
            row.cells[2 * position + 1].text = values.get(label, "")
    stream = io.BytesIO()
    document.save(stream)
    return stream.getvalue()


def form_values(index: int, **overrides: str) -> dict[str, str]:
    """The label -> text of a filled form."""
    return {
        header: "" if value is None else str(value)
        for header, value in zip(FORM_HEADERS, form_row(index), strict=True)
    } | overrides


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive of the members."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return stream.getvalue()


def zip_bomb(megabytes: int = 64) -> bytes:
    """An .xlsx-named archive whose one member inflates to ``megabytes`` of zeros (about 1000:1)."""
    stream = io.BytesIO()
    block = b"\0" * (1024 * 1024)
    with (
        zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w") as member,
    ):
        for _ in range(megabytes):
            member.write(block)
    return stream.getvalue()


_TEXTS = [
    "希望开发耐水解配方，要求85℃、85%湿度下老化500小时后拉伸强度保持率≥80%。",
    '需要"视觉检测"方案，兼容现有产线；含逗号,引号"和换行\n第二行。',
    "=1+1 开头的说明也必须原样保留（不能变成公式）",
    "傳統字書寫的需求：提高鋁合金壓鑄件良品率。",
    "  前后有空格的文本会被去掉首尾空白  ",
]
_KEYWORDS = [[], ["聚氨酯"], ["焊接", "机器人", "视觉"], ["水处理", "膜分离", "MBR", "反渗透", "节能"]]
_MODES = [None, "技术开发", "技术转让", "联合攻关"]
_BUDGETS = [None, 0, 12.5, 80, 1234567.89]
_DEADLINES = [None, "2027-12-31", "2026-01-05"]


def varied_payload(index: int) -> dict[str, Any]:
    """A valid submission whose optional fields vary with ``index`` (some empty, some full)."""
    pick = lambda options: options[index % len(options)]  # noqa: E731
    payload = demand_payload(
        org_name=f"测试企业{index}有限公司",
        title=f"技术需求{index}：{pick(['耐水解配方', '视觉检测', '压铸良率', '膜分离节能'])}",
        description=pick(_TEXTS) + f"（编号{index}）",
        keywords=pick(_KEYWORDS),
        cooperation_mode=pick(_MODES),
        budget_wan=pick(_BUDGETS),
        deadline=pick(_DEADLINES),
    )
    if index % 3 == 0:
        for optional in (
            "main_business",
            "fax",
            "email",
            "website",
            "company_profile",
            "industry_code",
            "discipline_code",
        ):
            payload[optional] = None
    if index % 4 == 1:
        payload.update(mobile=None, region_code="350102", address=None, postcode=None)
    return payload
