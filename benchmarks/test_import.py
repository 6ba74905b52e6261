"""Bulk import: a 50,000-row XLSX 汇总表 through ``huiqi import demands``, and a 10,000-demand round trip.

The import runs the real command line in a subprocess against a fresh database, on SQLite and on
PostgreSQL (``HUIQI_TEST_POSTGRES_URL``); the target is <= 60 s each on 2 cores. ``extra_info`` holds
the wall time, the CPU seconds of the command and its tokenizer workers (on a loaded machine the wall
time is mostly waiting: compare the CPU seconds), the load average before the run, the rows written,
the largest resident set of any one process (ru_maxrss) and the peak proportional set size of the
whole process tree, sampled every 0.2 s (workers share the dictionary pages; PSS counts them once).
The release report's keys: ``ours_s`` (the import's wall time), ``peer_s`` (a plain script that only
reads the same workbook's rows with python-calamine, in its own process, run before and after the
import: the mean), ``peer_name``, ``ratio`` (ours / peer) and ``load_average``.
The round trip exports 10,000 demands as XLSX, deletes them, imports the file and compares every
imported field of every demand.

    .venv/bin/pytest benchmarks/test_import.py -s      # PostgreSQL needs HUIQI_TEST_POSTGRES_URL
"""

import io
import os
import resource
import subprocess
import sys
import threading
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


def _tree_pss(root: int) -> int:
    """Proportional set size in bytes of ``root`` and its children (0 where /proc is unavailable)."""
    total = 0
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if int(entry.name) != root and parent != root:
                continue
            pss = [
                line for line in (entry / "smaps_rollup").read_text().splitlines() if line.startswith("Pss:")
            ]
            total += int(pss[0].split()[1]) * 1024 if pss else 0
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile
    return total


def _run_sampled(command: list[str], environment: dict[str, str]) -> tuple[subprocess.Popen[str], str, int]:
    """Run ``command`` to its end; the process, its standard error and the peak PSS of its tree."""
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_pss(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    sampler.join()
    return process, stderr, peak[0]


_PLAIN_READ = """
import sys
from python_calamine import CalamineWorkbook
sheet = CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0)
print(sum(1 for _ in sheet.iter_rows()))
"""


def _plain_read(path: Path) -> float:
    """Seconds a plain script takes to read every row of ``path`` (the peer of the import)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PLAIN_READ, str(path)], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) == ROWS + 1
    return time.perf_counter() - start


def test_import_50000_row_xlsx(benchmark: Any, big_workbook: Path, database: str) -> None:
    environment = {**os.environ, "HUIQI_DATABASE_URL": database}
    command = [str(Path(sys.executable).with_name("huiqi")), "import", "demands", str(big_workbook)]
    load = os.getloadavg()[0]
    measured: dict[str, float] = {}

    def run() -> None:
        start = time.perf_counter()
        process, stderr, peak_pss = _run_sampled(command, environment)
        measured.update(seconds=time.perf_counter() - start, peak_pss=peak_pss)
        assert process.returncode == 0, stderr[-2000:]

    peer = [_plain_read(big_workbook)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    benchmark.pedantic(run, rounds=1, iterations=1)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peer.append(_plain_read(big_workbook))
    peer_s = sum(peer) / len(peer)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak_rss, peak_pss = after.ru_maxrss / 1024, measured["peak_pss"] / 2**20
    written = _count(database)
    benchmark.extra_info.update(
        seconds=round(measured["seconds"], 1),
        cpu_seconds=round(cpu, 1),
        load_average=round(load, 1),
        rows=written,
        max_process_rss_mib=round(peak_rss),
        peak_tree_pss_mib=round(peak_pss),
        ours_s=round(measured["seconds"], 3),
        peer_s=round(peer_s, 3),
        peer_name="plain script: python-calamine reads the rows",
        ratio=round(measured["seconds"] / peer_s, 3),
    )
    print(
        f"\n50,000-row import on {database.split(':')[0]}: {measured['seconds']:.1f} s "
        f"({cpu:.1f} CPU s, load {load:.1f}), largest process {peak_rss:.0f} MiB, tree PSS {peak_pss:.0f} MiB"
    )
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
