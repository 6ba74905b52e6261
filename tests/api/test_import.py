"""Bulk import: a broken campaign in strict and keep-valid mode, duplicates, limits, the route and the CLI."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.db.models import Demand, DemandEvent, DemandStatus
from api.imports.limits import ImportLimits
from api.imports.readers import ParsedFile, read_upload
from api.imports.report import ImportMode, ImportReport
from api.imports.router import import_limits
from api.imports.service import import_files
from api.matching.inputs import demand_record
from api.settings import get_settings
from matcher.texts import tokenize_demands
from tests.api.demand_files import (
    FORM_HEADERS,
    csv_bytes,
    docx_bytes,
    form_row,
    form_values,
    xlsx_bytes,
    zip_bomb,
    zip_bytes,
)

pytestmark = pytest.mark.db


def broken_campaign() -> dict[str, bytes]:
    """Four uploads of one campaign, each with one kind of problem (or none)."""
    bad_mobile = [form_row(100 + i, mobile="1380591234" if i == 4 else "13805912345") for i in range(8)]
    no_title = [h for h in FORM_HEADERS if h != "技术需求名称"]
    no_title_rows = [
        [v for h, v in zip(FORM_HEADERS, form_row(200 + i), strict=True) if h != "技术需求名称"]
        for i in range(3)
    ]
    forms = {
        "企业甲.docx": docx_bytes(form_values(300)),
        "企业乙.docx": docx_bytes(form_values(301)),
        "empty_title.docx": docx_bytes(form_values(302, 技术需求名称="")),
    }
    return {
        "campaign.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(5)], encoding="gb18030"),
        "missing_title.xlsx": xlsx_bytes(no_title, no_title_rows),
        "county.xlsx": xlsx_bytes(FORM_HEADERS, bad_mobile, title_row="福建省企事业单位技术需求汇总表"),
        "forms.zip": zip_bytes(forms),
    }


def parse(files: dict[str, bytes], limits: ImportLimits | None = None) -> list[ParsedFile]:
    return [
        parsed for name, data in files.items() for parsed in read_upload(name, data, limits or ImportLimits())
    ]


def run_import(db: sessionmaker[Session], files: dict[str, bytes], mode: ImportMode) -> ImportReport:
    with db.begin() as session:
        return import_files(session, parse(files), mode=mode, limits=ImportLimits())


def demand_count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Demand)) or 0


def problems(report: ImportReport) -> set[tuple[str, int | None, str, str]]:
    return {(error.source, error.row, error.field, error.code) for error in report.errors}


EXPECTED_PROBLEMS = {
    ("missing_title.xlsx", None, "title", "column_missing"),
    ("county.xlsx", 7, "mobile", "mobile_invalid"),
    ("forms.zip/empty_title.docx", None, "title", "required"),
}


def test_strict_mode_reports_every_problem_and_writes_nothing(db: sessionmaker[Session]) -> None:
    report = run_import(db, broken_campaign(), ImportMode.STRICT)
    assert problems(report) == EXPECTED_PROBLEMS
    assert (report.rows, report.created, report.invalid_rows) == (19, 0, 3)
    assert demand_count(db) == 0
    by_file = {summary.source: (summary.rows, summary.valid, summary.invalid) for summary in report.files}
    assert by_file["campaign.csv"] == (5, 5, 0)
    assert by_file["county.xlsx"] == (8, 7, 1)
    assert by_file["missing_title.xlsx"] == (3, 0, 3)


def test_keep_valid_mode_writes_the_valid_rows(db: sessionmaker[Session]) -> None:
    report = run_import(db, broken_campaign(), ImportMode.KEEP_VALID)
    assert problems(report) == EXPECTED_PROBLEMS
    assert report.created == demand_count(db) == 5 + 7 + 2
    with db() as session:
        stored = session.scalars(select(Demand).order_by(Demand.id)).all()
        events = session.scalars(select(DemandEvent)).all()
    assert {demand.status for demand in stored} == {DemandStatus.SUBMITTED}
    assert all(demand.receipt_salt and demand.dedup_key and demand.tokens for demand in stored)
    assert stored[0].org_name == "福建省测试企业0有限公司"  # GB18030 decoded
    assert (stored[0].address, stored[0].postcode) == ("福建省福州市鼓楼区五四路128号", "350001")
    assert len(events) == len(stored)
    assert {event.kind for event in events} == {"imported"}


def test_messages_are_chinese_and_name_the_row(db: sessionmaker[Session]) -> None:
    report = run_import(db, broken_campaign(), ImportMode.STRICT)
    messages = {(error.source, error.field): error.message for error in report.errors}
    assert "11位" in messages[("county.xlsx", "mobile")]
    assert "技术需求名称" in messages[("missing_title.xlsx", "title")]
    assert "技术需求名称" in messages[("forms.zip/empty_title.docx", "title")]


def test_importing_the_same_file_twice_creates_no_duplicates(db: sessionmaker[Session]) -> None:
    files = {"campaign.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(4)])}
    first = run_import(db, files, ImportMode.STRICT)
    again = run_import(db, files, ImportMode.STRICT)
    assert (first.created, again.created, len(again.duplicates)) == (4, 0, 4)
    assert {duplicate.demand_id for duplicate in again.duplicates} == set(first.created_ids)
    assert "已存在" in again.headline()
    assert demand_count(db) == 4


def test_a_row_repeated_in_one_import_is_written_once(db: sessionmaker[Session]) -> None:
    spaced = form_row(1, title=" 耐水解聚氨酯配方开发1 ")
    report = run_import(db, {"a.xlsx": xlsx_bytes(FORM_HEADERS, [form_row(1), spaced])}, ImportMode.STRICT)
    assert report.created == 1
    assert [(d.row, d.first_row) for d in report.duplicates] == [(3, 2)]


def test_api_field_names_and_extra_columns(db: sessionmaker[Session]) -> None:
    headers = ["org_name", "contact_name", "mobile", "title", "description", "keywords", "备注"]
    row = ["某公司", "王五", "13900001111", "一种需求", "需求的说明", "焊接、机器人", "无"]
    report = run_import(db, {"api.csv": csv_bytes(headers, [row], encoding="utf-8-sig")}, ImportMode.STRICT)
    assert report.created == 1
    assert report.files[0].extra_columns == ["备注"]
    with db() as session:
        assert session.scalars(select(Demand.keywords)).one() == ["焊接", "机器人"]


def test_limits_refuse_zip_bombs_oversized_files_and_too_many_rows() -> None:
    bomb = parse({"bomb.xlsx": zip_bomb()})[0]
    assert [error.code for error in bomb.errors] == ["unzipped_too_large"]
    small = ImportLimits(max_file_bytes=1000, max_rows=3)
    big = parse({"big.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(5)])}, small)[0]
    assert [error.code for error in big.errors] == ["file_too_large"]


@pytest.mark.parametrize("mode", list(ImportMode))
def test_a_file_over_the_row_limit_is_refused_while_streaming(
    db: sessionmaker[Session], mode: ImportMode
) -> None:
    # The limit is met on the 4th row, after earlier rows may have been written: the file's savepoint
    # undoes them, and in keep-valid mode the other file is still written.
    limits = ImportLimits(max_rows=3)
    files = {
        "rows.xlsx": xlsx_bytes(FORM_HEADERS, [form_row(i) for i in range(5)]),
        "ok.csv": csv_bytes(FORM_HEADERS, [form_row(10)]),
    }
    with db.begin() as session:
        report = import_files(session, parse(files, limits), mode=mode, limits=limits)
    assert [(error.source, error.code) for error in report.errors] == [("rows.xlsx", "too_many_rows")]
    assert "超过" in report.errors[0].message
    assert demand_count(db) == report.created == (1 if mode is ImportMode.KEEP_VALID else 0)


def test_more_rows_than_the_limit_across_files_refuse_the_call(db: sessionmaker[Session]) -> None:
    limits = ImportLimits(max_rows=4)
    files = {
        f"part{i}.csv": csv_bytes(FORM_HEADERS, [form_row(10 * i + j) for j in range(3)]) for i in range(2)
    }
    with db.begin() as session:
        report = import_files(session, parse(files, limits), mode=ImportMode.KEEP_VALID, limits=limits)
    assert [error.code for error in report.errors] == ["too_many_rows"]
    assert (report.created, demand_count(db)) == (0, 0)


def test_unreadable_and_unsupported_files_are_reported() -> None:
    parsed = parse(
        {"broken.xlsx": b"not a zip", "old.xls": b"\xd0\xcf", "notes.txt": b"x", "blank.docx": docx_bytes({})}
    )
    codes = {p.source: [e.code for e in p.errors] for p in parsed}
    assert codes["broken.xlsx"] == ["file_corrupt"]
    assert codes["old.xls"] == codes["notes.txt"] == ["format_unsupported"]
    assert parsed[3].records
    assert not parsed[3].errors


def test_gbk_named_zip_members_keep_their_names() -> None:
    # Zips made on Chinese Windows store GBK names without the UTF-8 flag: patch the bytes of an ASCII
    # name of the same length, as such a tool would have written them.
    archive = zip_bytes({"ABCDEF.docx": docx_bytes(form_values(1))})
    gbk = archive.replace(b"ABCDEF.docx", "企业甲.docx".encode("gbk"))
    assert parse({"forms.zip": gbk})[0].source == "forms.zip/企业甲.docx"


# --- the route ------------------------------------------------------------------------------------


def upload(files: dict[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "application/octet-stream")) for name, data in files.items()]


def test_route_refuses_in_strict_mode_with_the_error_shape(
    client: TestClient, staff_headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/demands/import", files=upload(broken_campaign()), headers=staff_headers)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "import_refused"
    assert "导入被拒绝" in body["detail"]
    assert {(e["source"], e["row"], e["field"], e["code"]) for e in body["errors"]} == EXPECTED_PROBLEMS
    assert body["report"]["created"] == 0
    assert body["report"]["rows"] == 19


def test_route_keep_valid_writes_the_rest(client: TestClient, staff_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/demands/import",
        files=upload(broken_campaign()),
        data={"mode": "keep_valid"},
        headers=staff_headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["created"] == 14
    assert body["invalid_rows"] == 3
    assert len(body["errors"]) == 3
    listed = client.get("/api/v1/demands", headers=staff_headers).json()
    assert listed["total"] == 14


def test_route_needs_staff(client: TestClient) -> None:
    response = client.post("/api/v1/demands/import", files=upload({"a.csv": b"x"}))
    assert response.status_code == 401


@pytest.fixture
def small_limits(app: FastAPI) -> Iterator[None]:
    app.dependency_overrides[import_limits] = lambda: ImportLimits(max_file_bytes=2000)
    yield
    app.dependency_overrides.clear()


def test_route_answers_413_for_an_oversized_file(
    client: TestClient, staff_headers: dict[str, str], small_limits: None
) -> None:
    big = csv_bytes(FORM_HEADERS, [form_row(i) for i in range(20)])
    response = client.post("/api/v1/demands/import", files=upload({"big.csv": big}), headers=staff_headers)
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert "上限" in response.json()["detail"]


async def _post_raw(app: FastAPI, chunks: int, content_length: int | None) -> tuple[int, bytes, int]:
    """POST ``chunks`` blocks of 64 KiB to the import route; (status, body, blocks the app read)."""
    read = 0
    sent: list[dict[str, Any]] = []

    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n\r\n'

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        block = b"x" * 65536
        return {
            "type": "http.request",
            "body": part + block if read == 1 else block,
            "more_body": read < chunks,
        }

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"multipart/form-data; boundary=b")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/v1/demands/import", "raw_path": b"/api/v1/demands/import", "root_path": "",
        "query_string": b"", "headers": headers, "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, read


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_route_stops_reading_an_upload_over_the_limit(app: FastAPI, declared: bool) -> None:
    app.dependency_overrides[import_limits] = lambda: ImportLimits(max_upload_bytes=200_000)
    try:
        status, body, read = anyio.run(_post_raw, app, 1000, 1000 * 65536 if declared else None)
    finally:
        app.dependency_overrides.clear()
    assert status == 413
    assert json.loads(body)["code"] == "file_too_large"
    # Refused on the header alone, or at the first block past 200 kB: never 64 MB spooled.
    assert read == (0 if declared else 4)


def test_route_refuses_a_zip_bomb(client: TestClient, staff_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/demands/import", files=upload({"bomb.xlsx": zip_bomb()}), headers=staff_headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "unzipped_too_large"


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def cli_database(
    database_url: str, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("HUIQI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def write_files(folder: Path, files: dict[str, bytes]) -> list[str]:
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [str(folder / name) for name in files]


def report_lines(path: Path) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def test_cli_strict_exits_non_zero_and_writes_the_report(
    cli_database: None, db: sessionmaker[Session], tmp_path: Path
) -> None:
    paths = write_files(tmp_path, broken_campaign())
    result = CliRunner().invoke(cli_app, ["import", "demands", *paths])
    assert result.exit_code == 1
    assert demand_count(db) == 0
    reason = [line for line in result.stderr.splitlines() if line.startswith("导入未全部完成")]
    assert len(reason) == 1
    assert "3 条被拒绝" in reason[0]
    lines = report_lines(tmp_path / "campaign_导入报告.xlsx")
    assert lines[0] == ("文件", "行号", "字段", "栏目", "代码", "说明")
    assert ("county.xlsx", 7, "mobile", "手机", "mobile_invalid") in [line[:5] for line in lines]


def test_cli_keep_valid_with_a_folder_and_a_csv_report(
    cli_database: None, db: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    write_files(folder, broken_campaign())
    result = CliRunner().invoke(
        cli_app, ["import", "demands", str(folder), "--mode", "keep-valid", "--report-format", "csv"]
    )
    assert result.exit_code == 1
    assert demand_count(db) == 14
    assert (tmp_path / "campaign_导入报告.csv").read_text(encoding="utf-8-sig").count("mobile_invalid") == 1
    clean = CliRunner().invoke(cli_app, ["import", "demands", str(folder / "campaign.csv")])
    assert clean.exit_code == 0
    assert "5 条已存在" in clean.stdout


def test_worker_processes_store_the_terms_single_intake_stores(db: sessionmaker[Session]) -> None:
    files = {"a.csv": csv_bytes(FORM_HEADERS, [form_row(i) for i in range(30)])}
    with db.begin() as session:
        report = import_files(session, parse(files), mode=ImportMode.STRICT, limits=ImportLimits(), n_jobs=2)
    assert report.created == 30
    with db() as session:
        demands = session.scalars(select(Demand).order_by(Demand.id)).all()
        expected = tokenize_demands([demand_record(demand) for demand in demands])
        assert [demand.tokens for demand in demands] == expected
    assert all(terms["title"] and terms["description"] for terms in expected)
