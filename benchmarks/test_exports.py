"""The match-list export of the demo data: one ``match_list`` call per demand against the batch
(``match_lists``), in the same run, on the same warm caches.

``huiqi demo load``'s steps (209 societies, 315 branches, 442 experts, 333 demands submitted through
intake) fill a fresh SQLite database (and PostgreSQL when ``HUIQI_TEST_POSTGRES_URL`` is set). For each
level, the workbook of all 333 demands' top-10 lists is built both ways, alternately, ``ROUNDS`` times;
the provider index and the capacities are cached before the first timing, as in a running service.
The two workbooks must hold the same cells.

    .venv/bin/pytest benchmarks/test_exports.py -s

pytest-benchmark times the batch; ``extra_info`` holds ``per_demand_s`` and ``batch_s`` (medians),
``speedup`` (per demand / batch), the statements each path sends and the load average, and the release
report's keys: ``ours_s`` (the batch export), ``peer_s`` (the export per demand), ``peer_name``,
``ratio`` (ours / peer, lower is better) and ``spread`` ((max - min) / median of the per-round ratios).
"""

import io
import os
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from api.db import make_engine, make_session_factory
from api.db.migrate import upgrade
from api.db.models import Demand
from api.demo import DemoContext, run_demo_steps
from api.matching import service
from api.reports.workbooks import match_lists_workbook, matches_workbook
from tests.conftest import fresh_database

ROUNDS = 3
LIMIT = 10


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine on a fresh database filled by the demo steps."""
    with fresh_database(request.param, tmp_path_factory.mktemp("exports")) as url:
        upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine).begin() as session:
            run_demo_steps(session, DemoContext(secret=b"benchmark", report=lambda _: None))
        yield engine
        engine.dispose()


def per_demand(session: Session, ids: list[int], level: str) -> bytes:
    """The export as it was: one match list per demand, then the workbook."""
    lists = [service.match_list(session, demand_id=d, level=level, limit=LIMIT) for d in ids]
    return match_lists_workbook(session, lists, level)


def batch(session: Session, ids: list[int], level: str) -> bytes:
    """The export as it is: the lists of all demands at once, then the same workbook."""
    return matches_workbook(session, ids, level, LIMIT)


def cells(content: bytes) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every sheet's name and values, in order."""
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [(name, list(book[name].iter_rows(values_only=True))) for name in book.sheetnames]


def timed(export: Callable[[], object]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    export()
    return time.perf_counter() - start


def statements(engine: Engine, export: Callable[[], bytes]) -> int:
    """Statements one export sends."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        export()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(sent)


def rounds(paths: Mapping[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Seconds of each path in each of ``ROUNDS`` rounds, the paths taking turns within a round."""
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(ROUNDS):
        for name, path in paths.items():
            seconds[name].append(timed(path))
    return seconds


def ratio_spread(ours: list[float], peer: list[float]) -> float:
    """(max - min) / median of the per-round ratios ours / peer."""
    ratios = [o / p for o, p in zip(ours, peer, strict=True)]
    return (max(ratios) - min(ratios)) / statistics.median(ratios)


@pytest.mark.parametrize("level", ["society", "branch", "expert"])
def test_export_of_the_demo_match_lists(benchmark: Any, demo: Engine, level: str) -> None:
    with make_session_factory(demo)() as session:
        ids = list(session.scalars(select(Demand.id).order_by(Demand.id)))

        def old() -> bytes:
            return per_demand(session, ids, level)

        def new() -> bytes:
            return batch(session, ids, level)

        assert cells(new()) == cells(old())  # also warms the index and the capacities
        paths = {
            "per_demand": old,
            "batch": new,
            "lists_per_demand": lambda: [
                service.match_list(session, demand_id=d, level=level, limit=LIMIT) for d in ids
            ],
            "lists_batch": lambda: service.match_lists(session, demand_ids=ids, level=level, limit=LIMIT),
        }
        timings = rounds(paths)
        seconds = {name: statistics.median(values) for name, values in timings.items()}
        benchmark.pedantic(new, rounds=1, iterations=1)
        figures: dict[str, object] = {"demands": len(ids)}
        figures.update({f"{name}_s": round(value, 3) for name, value in seconds.items()})
        figures["speedup"] = round(seconds["per_demand"] / seconds["batch"], 1)
        figures["lists_speedup"] = round(seconds["lists_per_demand"] / seconds["lists_batch"], 1)
        figures.update(
            ours_s=round(seconds["batch"], 4),
            peer_s=round(seconds["per_demand"], 4),
            peer_name="the export per demand (one match_list call each)",
            ratio=round(seconds["batch"] / seconds["per_demand"], 3),
            spread=round(ratio_spread(timings["batch"], timings["per_demand"]), 3),
        )
        sent = {"per_demand": statements(demo, old), "batch": statements(demo, new)}
        figures.update({f"{name}_statements": count for name, count in sent.items()})
        figures["load_average"] = round(os.getloadavg()[0], 2)
    benchmark.extra_info.update(figures)
    print(f"\n{demo.dialect.name} {level}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    assert sent["batch"] < sent["per_demand"]
