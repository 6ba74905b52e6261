"""Export of demands: the route is not shadowed, filters apply, and an export imports back unchanged."""

import csv
import io
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand, DemandEvent
from api.demands.schemas import DemandCreate
from api.demands.service import submit
from api.exports.service import HEADERS, demand_filter, export_demands
from api.exports.tables import TableFormat
from api.imports.columns import FIELDS
from api.imports.limits import ImportLimits
from api.imports.readers import read_upload
from api.imports.report import ImportMode
from api.imports.service import import_files
from tests.api.demand_files import varied_payload

pytestmark = pytest.mark.db


def stored_fields(session: Session) -> list[dict[str, Any]]:
    """Every demand's imported fields, in id order."""
    columns = [getattr(Demand, name) for name in FIELDS]
    return [
        dict(zip(FIELDS, row, strict=True)) for row in session.execute(select(*columns).order_by(Demand.id))
    ]


def seed(db: sessionmaker[Session], count: int) -> None:
    with db.begin() as session:
        for index in range(count):
            submit(
                session,
                payload=DemandCreate.model_validate(varied_payload(index)),
                secret=b"k",
                idempotency_key=None,
            )


def round_trip(
    db: sessionmaker[Session], table_format: TableFormat
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Export every demand, delete them all, import the export; the fields before and after."""
    stream = io.BytesIO()
    with db() as session:
        before = stored_fields(session)
        export_demands(session, demand_filter(), table_format, stream)
    with db.begin() as session:
        session.execute(delete(DemandEvent))
        session.execute(delete(Demand))
    parsed = read_upload(f"export.{table_format.value}", stream.getvalue(), ImportLimits())
    with db.begin() as session:
        report = import_files(session, parsed, mode=ImportMode.STRICT, limits=ImportLimits())
    assert not report.errors
    assert report.created == len(before)
    assert parsed[0].extra_columns == []
    with db() as session:
        return before, stored_fields(session)


@pytest.mark.parametrize("table_format", list(TableFormat))
def test_an_export_imports_back_unchanged(db: sessionmaker[Session], table_format: TableFormat) -> None:
    seed(db, 36)
    before, after = round_trip(db, table_format)
    assert len(before) == 36
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        assert old == new, f"demand {index} changed"


def test_export_route_is_not_shadowed_and_has_chinese_headers(
    client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    seed(db, 3)
    response = client.get("/api/v1/demands/export.xlsx", headers=staff_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    assert len(rows) == 4
    assert "单位名称" in rows[0]
    assert "技术需求名称" in rows[0]


def test_export_uses_the_list_filters(
    client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    seed(db, 6)  # every third demand has no industry code
    listed = client.get("/api/v1/demands", params={"industry": "C26"}, headers=staff_headers).json()
    response = client.get("/api/v1/demands/export.csv", params={"industry": "C26"}, headers=staff_headers)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert listed["total"] == 4
    assert len(rows) == 1 + 4
    assert {row[rows[0].index("行业代码")] for row in rows[1:]} == {"C2651"}


def test_export_needs_staff(client: TestClient) -> None:
    assert client.get("/api/v1/demands/export.xlsx").status_code == 401


def test_csv_cells_that_spreadsheets_would_run_are_guarded_and_read_back(db: sessionmaker[Session]) -> None:
    seed(db, 3)  # demand 2 has a description starting with "=1+1"
    with db.begin() as session:
        first, second = session.scalars(select(Demand.id).order_by(Demand.id).limit(2)).all()
        session.execute(update(Demand).where(Demand.id == first).values(company_profile="+86 的出口业务"))
        session.execute(
            update(Demand).where(Demand.id == second).values(main_business="@SUM(A1)", address="-1 层")
        )
    stream = io.BytesIO()
    with db() as session:
        before = stored_fields(session)
        export_demands(session, demand_filter(), TableFormat.CSV, stream)
    rows = list(csv.reader(io.StringIO(stream.getvalue().decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert "'=1+1 开头的说明也必须原样保留（不能变成公式）（编号2）" in cells
    assert {"'+86 的出口业务", "'@SUM(A1)", "'-1 层"} <= set(cells)
    with db.begin() as session:
        session.execute(delete(DemandEvent))
        session.execute(delete(Demand))
    parsed = read_upload("export.csv", stream.getvalue(), ImportLimits())
    with db.begin() as session:
        assert import_files(session, parsed, mode=ImportMode.STRICT, limits=ImportLimits()).created == 3
    with db() as session:
        assert stored_fields(session) == before


def test_an_export_carries_the_campaign_and_forwarding_society(
    client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    seed(db, 1)
    response = client.get("/api/v1/demands/export.xlsx", headers=staff_headers)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header = next(sheet.iter_rows(values_only=True))
    assert header[-3:-1] == ("征集活动编号", "汇总填报学会编号")
