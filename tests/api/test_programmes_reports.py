"""The Q3 附件2 and 附件3 of a society and of a county, as JSON, XLSX and Word, reopened and read back;
存在不足, filing, and reminders of who has not reported."""

from io import BytesIO
from typing import Any
from urllib.parse import unquote

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from api.matching.models import AgreementType, Pairing, PairingStatus
from api.programmes.periods import parse_period
from tests.api.programme_setup import ENTERPRISE, SOCIETY_NAME, Setting, build_setting

pytestmark = pytest.mark.db

HEADERS = ["序号", "活动名称", "活动内容", "主要成效（含宣传工作情况）", "存在不足"]
STATION = f"{SOCIETY_NAME}{ENTERPRISE}学会服务站"


@pytest.fixture
def setting(client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]) -> Setting:
    """A society station founded on 2026-07-08 with a Q3 log, and a county with its own Q3 log."""
    setting = build_setting(client, staff_headers, db)
    station = {
        "pairing_id": setting.pairing_id,
        "kind": "society_station",
        "level": "provincial",
        "established_on": "2026-07-08",
    }
    unit = client.post("/api/v1/standing-units/from-pairing", json=station, headers=staff_headers).json()
    for body in _society_log():
        _post(client, f"/api/v1/standing-units/{unit['id']}/activities", body, staff_headers)
    for body in _county_log():
        _post(client, "/api/v1/activities", body | {"reporting_unit_id": setting.county_unit}, staff_headers)
    return setting


def _post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    answer = client.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text


def _society_log() -> list[dict[str, Any]]:
    return [
        {
            "kind": "agreement",
            "title": "签订铸件缺陷检测技术开发合同",
            "content": "学会组织专家团队与企业签订技术开发合同",
            "outcomes": "解决铸件气孔检测难题",
            "occurred_on": "2026-08-20",
            "enterprises": 1,
            "experts": 4,
            "amount_wan": "50.00",
            "publicity": "闽西日报报道1篇",
        },
        {
            "kind": "visit",
            "title": "专家走访诊断",
            "content": "专家深入生产车间开展技术诊断",
            "occurred_on": "2026-07-20",
            "enterprises": 1,
            "experts": 3,
        },
        {
            "kind": "training",
            "title": "数控加工技能培训",
            "content": "举办数控加工工艺培训班",
            "outcomes": "提升一线技术人员工艺水平",
            "occurred_on": "2026-09-25",
            "participants": 120,
        },
        # Second quarter: never in the Q3 tables.
        {"kind": "visit", "title": "前期调研", "content": "调研", "occurred_on": "2026-06-30"},
    ]


def _county_log() -> list[dict[str, Any]]:
    return [
        {
            "kind": "training",
            "title": "科技下乡实用技术培训",
            "content": "组织农技专家赴乡镇开展果树栽培培训",
            "occurred_on": "2026-08-05",
            "participants": 300,
            "experts": 6,
            "publicity": "县融媒体中心报道",
        },
        {
            "kind": "project",
            "title": "稀土材料短板攻坚项目",
            "content": "组织专家与企业联合攻关稀土永磁材料",
            "occurred_on": "2026-09-10",
            "enterprises": 2,
            "amount_wan": "120.5",
        },
    ]


def _report(client: TestClient, headers: dict[str, str], unit: int, table: int, **params: Any) -> Any:
    query = {"unit": unit, "period": "2026Q3", "table": table} | params
    answer = client.get("/api/v1/reports/quarterly", params=query, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


def _rows(report: dict[str, Any]) -> list[list[str]]:
    return [[r["seq"], r["name"], r["content"], r["outcomes"], r["shortcomings"]] for r in report["rows"]]


def test_society_q3_tables_from_the_activity_log(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    table2 = _report(client, staff_headers, setting.society_unit, 2, filled_on="ignored").json()
    assert table2["title_lines"] == [
        "附件2",
        "动员组织百名专家开展短板攻坚勇攀高峰",
        "工作开展情况统计表",
        "（2026年第三季度）",
    ]
    assert table2["due_on"] == "2026-09-18"
    assert _rows(table2) == [
        [
            "1",
            "建立学会服务站",
            f"2026年7月8日，{SOCIETY_NAME}与{ENTERPRISE}共建“{STATION}”",
            "学会服务站挂牌成立，常态化服务企业技术创新；服务企业1家。",
            "",
        ],
        [
            "2",
            "签订铸件缺陷检测技术开发合同",
            f"2026年8月20日，依托“{STATION}”，学会组织专家团队与企业签订技术开发合同",
            "解决铸件气孔检测难题；服务企业1家，参与专家4人，涉及金额50万元。宣传工作：闽西日报报道1篇",
            "",
        ],
        ["合计", "共2项", "", "服务企业2家，涉及金额50万元。", ""],
    ]
    table3 = _report(client, staff_headers, setting.society_unit, 3).json()
    assert table3["title_lines"][1:3] == [
        "动员组织千名科技工作者走基层送服务、万名科技工作者",
        "开展“三比”活动工作开展情况统计表",
    ]
    assert [row[1] for row in _rows(table3)] == ["专家走访诊断", "数控加工技能培训", "共2项"]
    assert _rows(table3)[1][3] == "提升一线技术人员工艺水平；受益120人次。"


def test_agreed_pairings_count_for_the_society_in_the_period_they_were_agreed(
    client: TestClient, staff_headers: dict[str, str], setting: Setting, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        pairing = session.get(Pairing, setting.pairing_id)
        assert pairing is not None
        pairing.status = PairingStatus.AGREEMENT
        pairing.agreement_type = AgreementType.DEVELOPMENT
        pairing.agreement_amount_wan = 30
        agreed_year = pairing.updated_at.year
    annual = client.get(
        "/api/v1/reports/quarterly",
        params={"unit": setting.society_unit, "period": str(agreed_year), "table": 2},
        headers=staff_headers,
    ).json()
    pairing_rows = [row for row in annual["rows"] if row["key"] == f"p{setting.pairing_id}"]
    assert len(pairing_rows) == 1
    assert pairing_rows[0]["name"].startswith("技术需求对接：")
    assert pairing_rows[0]["outcomes"] == "签订技术开发合同；服务企业1家，涉及金额30万元。"


def test_q3_xlsx_of_a_society_and_a_county_read_back_cell_by_cell(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    for unit, table, name in (
        (setting.society_unit, 2, SOCIETY_NAME),
        (setting.county_unit, 3, "上杭县科协"),
    ):
        expected = _rows(_report(client, staff_headers, unit, table).json())
        answer = _report(client, staff_headers, unit, table, format="xlsx")
        assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert unquote(answer.headers["content-disposition"]).endswith(f"附件{table}_{name}_2026Q3.xlsx")
        sheet = load_workbook(BytesIO(answer.content)).active
        assert sheet.title == f"附件{table}"
        assert sheet["A1"].value == f"附件{table}"
        assert sheet["A4"].value == "（2026年第三季度）"
        assert sheet["A5"].value == f"填报单位：{name}"
        assert sheet["D5"].value.startswith("填报时间：")
        assert {"A2:E2", "A3:E3", "A4:E4", "A5:C5", "D5:E5"} <= {str(r) for r in sheet.merged_cells.ranges}
        cells = [[cell.value or "" for cell in row] for row in sheet.iter_rows(min_row=6, max_col=5)]
        assert cells == [HEADERS, *expected]
        assert sheet["A6"].font.bold
        assert sheet["C7"].alignment.wrap_text


def test_q3_docx_of_a_society_and_a_county_read_back_cell_by_cell(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    for unit, table, name in (
        (setting.society_unit, 3, SOCIETY_NAME),
        (setting.county_unit, 2, "上杭县科协"),
    ):
        report = _report(client, staff_headers, unit, table).json()
        answer = _report(client, staff_headers, unit, table, format="docx")
        document = Document(BytesIO(answer.content))
        texts = [paragraph.text for paragraph in document.paragraphs]
        assert texts[:4] == report["title_lines"]
        assert texts[4].startswith(f"填报单位：{name}")
        assert "填报时间：" in texts[4]
        assert len(document.tables) == 1
        cells = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
        assert cells == [HEADERS, *_rows(report)]
        assert document.sections[0].page_width > document.sections[0].page_height


def test_county_q3_tables_split_by_kind(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    table2 = _rows(_report(client, staff_headers, setting.county_unit, 2).json())
    table3 = _rows(_report(client, staff_headers, setting.county_unit, 3).json())
    assert [row[1] for row in table2] == ["稀土材料短板攻坚项目", "共1项"]
    assert table2[0][3] == "服务企业2家，涉及金额120.5万元。"
    assert table3[0][3] == "参与专家6人，受益300人次。宣传工作：县融媒体中心报道"


def test_shortcomings_filing_and_reminders(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    key = {"unit": setting.society_unit, "period": "2026Q3", "table": 2}
    first_row = _report(client, staff_headers, setting.society_unit, 2).json()["rows"][0]["key"]
    for row, text in ((first_row, "企业配套资金到位较慢"), ("", "专家下沉时间不足")):
        answer = client.put(
            "/api/v1/reports/quarterly/shortcomings",
            json=key | {"row": row, "text": text},
            headers=staff_headers,
        )
        assert answer.status_code == 200, answer.text
    bad_row = client.put(
        "/api/v1/reports/quarterly/shortcomings",
        json=key | {"row": "a999", "text": "x"},
        headers=staff_headers,
    )
    assert bad_row.status_code == 422
    assert bad_row.json()["errors"][0]["field"] == "row"

    before = client.get("/api/v1/reports/due", params={"on": "2026-09-10"}, headers=staff_headers).json()
    q3 = next(item for item in before if item["period"] == "2026Q3")
    assert q3["due_on"] == "2026-09-18"
    assert q3["days_left"] == 8
    assert [(m["name"], m["tables"]) for m in q3["missing"]] == [
        (SOCIETY_NAME, [2, 3]),
        ("上杭县科协", [2, 3]),
    ]
    assert [item["period"] for item in before] == ["2026Q1", "2026Q2", "2026Q3", "2026"]
    assert next(item for item in before if item["period"] == "2026")["missing"] == []  # not due for months

    filed = client.post("/api/v1/reports/quarterly/filings", json=key, headers=staff_headers)
    assert filed.status_code == 200, filed.text
    report = filed.json()
    assert report["status"] == "filed"
    assert report["rows"][0]["shortcomings"] == "企业配套资金到位较慢"
    assert report["rows"][-1]["shortcomings"] == "专家下沉时间不足"
    # A later activity does not change what was filed.
    late = {"kind": "project", "title": "补记项目", "content": "x", "occurred_on": "2026-09-01"}
    _post(client, "/api/v1/activities", late | {"reporting_unit_id": setting.society_unit}, staff_headers)
    assert _report(client, staff_headers, setting.society_unit, 2).json()["rows"] == report["rows"]

    after = client.get("/api/v1/reports/due", params={"on": "2026-09-10"}, headers=staff_headers).json()
    q3 = next(item for item in after if item["period"] == "2026Q3")
    assert [(m["name"], m["tables"]) for m in q3["missing"]] == [(SOCIETY_NAME, [3]), ("上杭县科协", [2, 3])]


def test_report_parameters_are_checked(
    client: TestClient, staff_headers: dict[str, str], setting: Setting
) -> None:
    bad_period = client.get(
        "/api/v1/reports/quarterly",
        params={"unit": setting.society_unit, "period": "2026Q5", "table": 2},
        headers=staff_headers,
    )
    assert bad_period.status_code == 422
    assert bad_period.json()["errors"][0]["field"] == "period"
    unknown_unit = client.get(
        "/api/v1/reports/quarterly",
        params={"unit": 999, "period": "2026Q3", "table": 2},
        headers=staff_headers,
    )
    assert unknown_unit.status_code == 422
    assert unknown_unit.json()["errors"][0]["code"] == "reporting_unit_not_found"
    bad_table = client.get(
        "/api/v1/reports/quarterly",
        params={"unit": setting.society_unit, "period": "2026Q3", "table": 4},
        headers=staff_headers,
    )
    assert bad_table.status_code == 422


@pytest.mark.parametrize(
    ("text", "expected"), [("2026Q3", (2026, 3)), ("2026", (2026, None)), ("2026a", (2026, None))]
)
def test_a_period_is_a_quarter_or_a_year(text: str, expected: tuple[int, int | None]) -> None:
    period = parse_period(text)
    assert period is not None
    assert (period.year, period.quarter) == expected


@pytest.mark.parametrize("text", ["9999Q4", "0001", "2026Q5", "26Q1", ""])
def test_a_period_beyond_the_calendar_is_malformed(text: str) -> None:
    # 9999Q4 ends in the year 10000, which no date holds: it used to raise deep in the report code.
    assert parse_period(text) is None
