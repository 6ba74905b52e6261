"""Every import that takes effect leaves one audit entry, in its own transaction; a refused one none."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.auth.service import create_staff
from api.cli import app as cli_app
from api.db import StaffRole
from api.db.models import Demand
from api.imports.audit import IMPORT_ACTION, id_ranges
from api.imports.limits import ImportLimits
from api.imports.report import ImportMode
from api.imports.service import import_files
from api.security.models import AuditEntry
from tests.api.demand_files import FORM_HEADERS, csv_bytes, form_row
from tests.api.test_import import broken_campaign, cli_database, parse, upload, write_files
from tests.api.test_import_campaigns import add_campaign, county_sheet, run_import

__all__ = ["cli_database"]  # a fixture of test_import, used here

pytestmark = pytest.mark.db

IMPORT_URL = "/api/v1/demands/import"


def audit_entries(db: sessionmaker[Session]) -> list[AuditEntry]:
    with db() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def import_entries(db: sessionmaker[Session]) -> list[AuditEntry]:
    return [entry for entry in audit_entries(db) if entry.action == IMPORT_ACTION]


def demand_ids(db: sessionmaker[Session]) -> list[int]:
    with db() as session:
        return list(session.scalars(select(Demand.id).order_by(Demand.id)))


def test_id_ranges_are_runs_of_consecutive_ids() -> None:
    assert id_ranges([]) == []
    assert id_ranges([7, 3, 4, 5, 9, 10]) == [[3, 5], [7, 7], [9, 10]]


def test_the_route_logs_who_imported_which_files_and_what_came_of_them(
    client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    response = client.post(
        IMPORT_URL, files=upload(broken_campaign()), data={"mode": "keep_valid"}, headers=staff_headers
    )
    assert response.status_code == 200
    [entry] = import_entries(db)
    assert (entry.staff_name, entry.target_kind, entry.target_id, entry.before) == (
        "审核员甲",
        "demand",
        None,
        None,
    )
    assert entry.staff_id is not None
    after: dict[str, Any] = entry.after or {}
    assert {item["source"]: (item["rows"], item["valid"], item["invalid"]) for item in after["files"]} == {
        "campaign.csv": (5, 5, 0),
        "missing_title.xlsx": (3, 0, 3),
        "county.xlsx": (8, 7, 1),
        "forms.zip/企业甲.docx": (1, 1, 0),
        "forms.zip/企业乙.docx": (1, 1, 0),
        "forms.zip/empty_title.docx": (1, 0, 1),
    }
    counts = {key: after[key] for key in ("mode", "rows", "created", "duplicates_skipped", "refused_rows")}
    assert counts == {
        "mode": "keep_valid",
        "rows": 19,
        "created": 14,
        "duplicates_skipped": 0,
        "refused_rows": 3,
    }
    assert after["created_ids"] == id_ranges(demand_ids(db)) == id_ranges(response.json()["created_ids"])
    assert after["campaign_id"] is None


def test_one_entry_per_import_not_one_per_row(
    client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    rows = {"a.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(40)])}
    assert client.post(IMPORT_URL, files=upload(rows), headers=staff_headers).status_code == 200
    assert [entry.action for entry in audit_entries(db)] == [IMPORT_ACTION]


def test_a_refused_strict_import_leaves_no_entry(
    client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    response = client.post(IMPORT_URL, files=upload(broken_campaign()), headers=staff_headers)
    assert response.status_code == 422
    assert audit_entries(db) == []


def test_an_import_over_the_row_limit_leaves_no_entry(db: sessionmaker[Session]) -> None:
    files = {"a.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(6)])}
    limits = ImportLimits(max_rows=5)
    with db.begin() as session:
        report = import_files(session, parse(files, limits), mode=ImportMode.KEEP_VALID, limits=limits)
    assert (report.created, report.took_effect) == (0, False)
    assert audit_entries(db) == []


def test_the_entry_is_rolled_back_with_the_rows(db: sessionmaker[Session]) -> None:
    files = {"a.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(3)])}
    with db() as session:
        report = import_files(session, parse(files), mode=ImportMode.STRICT, limits=ImportLimits())
        pending = session.scalars(select(AuditEntry.action)).all()
        session.rollback()
    assert (report.created, pending) == (3, [IMPORT_ACTION])
    assert audit_entries(db) == []
    assert demand_ids(db) == []


def test_an_import_of_copies_only_is_logged_with_what_it_skipped(db: sessionmaker[Session]) -> None:
    files = {"a.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(4)])}
    for _ in range(2):
        with db.begin() as session:
            import_files(session, parse(files), mode=ImportMode.STRICT, limits=ImportLimits())
    first, again = (entry.after or {} for entry in import_entries(db))
    assert (first["created"], first["created_ids"]) == (4, id_ranges(demand_ids(db)))
    assert (again["created"], again["duplicates_skipped"], again["created_ids"]) == (0, 4, [])


def test_a_staff_id_without_a_signed_in_session_is_named(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        staff = create_staff(session, name="导入员乙", role=StaffRole.REVIEWER)[0]
        staff_id = staff.id
    files = {"a.csv": csv_bytes(FORM_HEADERS, [form_row(1)])}
    with db.begin() as session:
        import_files(session, parse(files), mode=ImportMode.STRICT, limits=ImportLimits(), staff_id=staff_id)
    [entry] = import_entries(db)
    assert (entry.staff_id, entry.staff_name) == (staff_id, "导入员乙")


def test_the_campaign_of_an_import_is_logged(db: sessionmaker[Session]) -> None:
    campaign_id = add_campaign(db, closes_in_days=5)
    report = run_import(db, county_sheet(3), ImportMode.STRICT, campaign_id=campaign_id)
    [entry] = import_entries(db)
    after = entry.after or {}
    assert (after["campaign_id"], after["created"], after["created_ids"]) == (
        campaign_id, 3, id_ranges(report.created_ids)
    )  # fmt: skip


def test_the_command_line_logs_its_imports_as_the_command_line(
    cli_database: None, db: sessionmaker[Session], tmp_path: Path
) -> None:
    paths = write_files(tmp_path, {"county.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(5)])})
    assert CliRunner().invoke(cli_app, ["import", "demands", *paths]).exit_code == 0
    [entry] = import_entries(db)
    assert (entry.staff_id, entry.staff_name) == (None, "命令行")
    assert [item["source"] for item in (entry.after or {})["files"]] == ["county.csv"]


def test_staff_find_the_import_in_the_audit_log(
    client: TestClient, staff_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    rows = {"county.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(2)])}
    client.post(IMPORT_URL, files=upload(rows), headers=staff_headers)
    page = client.get("/api/v1/audit", params={"action": IMPORT_ACTION}, headers=admin_headers).json()
    [entry] = page["items"]
    assert (entry["staff_name"], entry["after"]["created"]) == ("审核员甲", 2)
