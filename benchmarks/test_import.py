"""Bulk import: a 50,000-row XLSX 汇总表 through ``huiqi import demands``, and a 10,000-demand round trip.

The import runs the real command line in a subprocess against a fresh database, on SQLite and on
PostgreSQL (``HUIQI_TEST_POSTGRES_URL``); the target is <= 60 s each on 2 cores. ``extra_info`` holds
the wall time, the rows written and the peak resident memory of the import process (ru_maxrss of the
child, which includes its tokenizer worker). The round trip exports 10,000 demands as XLSX, deletes
them, imports the file and compares every imported field of every demand.

    .venv/bin/pytest benchmarks/test_import.py -s      # PostgreSQL needs HUIQI_TEST_POSTGRES_URL
"""

import io
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import Demand, make_engine, make_session_factory
from api.db.migrate import upgrade
from api.db.models import DemandEvent
from api.exports.service import demand_filter, export_demands
from api.exports.tables import TableFormat, write_table
from api.imports.columns import FIELDS
from api.imports.limits import ImportLimits
from api.imports.readers import ParsedFile, Record, read_upload
from api.imports.report import ImportMode
from api.imports.service import import_files
from tests.api.demand_files import varied_payload
from tests.conftest import BACKENDS, fresh_database

ROWS = 50_000
ROUND_TRIP = 10_000
HEADERS = [
    "单位名称",
    "主营业务",
    "联系人",
    "手机",
    "办公电话",
    "E-mail",
    "网址",
    "联系地址、邮编",
    "技术需求名称",
    "具体的技术需求说明",
    "企业概况",
    "关键词",
    "行业代码",
]
_DETAIL = (
    "现有工艺在高温高湿环境下性能衰减明显，产品合格率约为百分之八十五。希望与高校或科研院所合作，"
    "从材料配方、工艺参数和在线检测三个方面系统改进，形成可在现有产线上实施的方案，并协助完成中试验证。"
)


def _row(index: int) -> list[Any]:
    payload = varied_payload(index)
    address = f"{payload['address']}，{payload['postcode']}" if payload["address"] else None
    description = f"{payload['description']}{_DETAIL}"
    keywords = "、".join(payload["keywords"])
    return [
        payload["org_name"],
        payload["main_business"],
        payload["contact_name"],
        payload["mobile"],
        payload["office_phone"],
        payload["email"],
        payload["website"],
        address,
        payload["title"],
        description,
        payload["company_profile"],
        keywords,
        payload["industry_code"],
    ]


@pytest.fixture(scope="module")
def big_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 50,000-row 汇总表 under the 附件1 headers (combined 联系地址、邮编 column)."""
    path = tmp_path_factory.mktemp("import") / "汇总表-50000.xlsx"
    with path.open("wb") as stream:
        write_table(stream, HEADERS, (_row(i) for i in range(ROWS)), TableFormat.XLSX)
    return path


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        upgrade(url)
        yield url


def _count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Demand)) or 0
    finally:
        engine.dispose()


def test_import_50000_row_xlsx(benchmark: Any, big_workbook: Path, database: str) -> None:
    environment = {**os.environ, "HUIQI_DATABASE_URL": database}
    command = [str(Path(sys.executable).with_name("huiqi")), "import", "demands", str(big_workbook)]
    timings: list[float] = []

    def run() -> None:
        start = time.perf_counter()
        done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        timings.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr[-2000:]

    benchmark.pedantic(run, rounds=1, iterations=1)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    written = _count(database)
    benchmark.extra_info.update(seconds=round(timings[0], 1), rows=written, peak_rss_mib=round(peak_mib))
    print(f"\n50,000-row import on {database.split(':')[0]}: {timings[0]:.1f} s, peak RSS {peak_mib:.0f} MiB")
    assert written == ROWS


def _stored(session: Session) -> list[tuple[Any, ...]]:
    columns = [getattr(Demand, name) for name in FIELDS]
    return [tuple(row) for row in session.execute(select(*columns).order_by(Demand.id))]


def _seed(factory: sessionmaker[Session]) -> None:
    records = [
        Record("seed", i, {k: _text(v) for k, v in varied_payload(i).items() if v is not None})
        for i in range(ROUND_TRIP)
    ]
    with factory.begin() as session:
        import_files(
            session, [ParsedFile("seed", records=records)], mode=ImportMode.STRICT, limits=ImportLimits()
        )


def _text(value: Any) -> str:
    return "、".join(value) if isinstance(value, list) else str(value)


def test_round_trip_10000(benchmark: Any, database: str) -> None:
    engine = make_engine(database)
    factory = make_session_factory(engine)
    _seed(factory)
    with factory() as session:
        before = _stored(session)

    def export_then_import() -> int:
        stream = io.BytesIO()
        with factory() as session:
            export_demands(session, demand_filter(), TableFormat.XLSX, stream)
        with factory.begin() as session:
            session.execute(delete(DemandEvent))
            session.execute(delete(Demand))
        parsed = read_upload("export.xlsx", stream.getvalue(), ImportLimits())
        with factory.begin() as session:
            return import_files(session, parsed, mode=ImportMode.STRICT, limits=ImportLimits()).created

    created = benchmark.pedantic(export_then_import, rounds=1, iterations=1)
    with factory() as session:
        after = _stored(session)
    engine.dispose()
    changed = sum(1 for old, new in zip(before, after, strict=True) if old != new)
    benchmark.extra_info.update(demands=len(before), created=created, changed=changed)
    print(f"\nround trip of {len(before)} demands: {changed} changed")
    assert created == len(before) == ROUND_TRIP
    assert changed == 0
