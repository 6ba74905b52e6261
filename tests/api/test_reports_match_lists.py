"""The match-list export's batch path on SQLite and PostgreSQL: the same lists and the same workbook as one
``match_list`` call per demand (demo data, every level, capacities and constraints of every kind), and a
number of statements that does not grow with the number of demands."""

import functools
import io
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand
from api.demo import DemoContext, run_demo_steps
from api.matching import service
from api.matching.models import (
    ConstraintKind,
    MatchRound,
    PairConstraint,
    Pairing,
    PairingStatus,
    RoundStatus,
)
from api.matching.schemas import MatchList
from api.providers.models import DemandPreference, PreferenceKind, ProviderLevel
from api.reports.workbooks import match_lists_workbook, matches_workbook
from tests.api.matching_helpers import DEMANDS, add_demands, add_societies

pytestmark = pytest.mark.db

Factory = sessionmaker[Session]
LEVELS = ("society", "branch", "expert")
# Demands compared per level: enough to cover every kind of constraint and several score blocks' rows.
SAMPLE = 30
STATUSES = (
    PairingStatus.ACCEPTED,
    PairingStatus.PROPOSED,
    PairingStatus.REJECTED,
    PairingStatus.CONTACTED,
    PairingStatus.AGREEMENT,
    PairingStatus.CLOSED,
)


def per_demand(session: Session, ids: list[int], level: str, limit: int) -> list[MatchList]:
    """The old export path: one ``match_list`` call per demand."""
    return [service.match_list(session, demand_id=d, level=level, limit=limit) for d in ids]


def cells(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet of a workbook, in order, as rows of values."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


@pytest.fixture
def demo(db: Factory) -> list[int]:
    """The demo data, then rounds, reviewed pairings, staff constraints and enterprise preferences on
    pairs the match lists show; a sample of demand ids in shuffled order, the first one twice."""
    with db.begin() as session:
        run_demo_steps(session, DemoContext(secret=b"export-test", report=lambda _: None))
    with db.begin() as session:
        ids = list(session.scalars(select(Demand.id).order_by(Demand.id)))
        sample = random.Random(7).sample(ids, SAMPLE)
        for level in ("society", "branch"):
            _constrain(session, sample, level)
    return [*sample, sample[0]]


def _constrain(session: Session, ids: list[int], level: str) -> None:
    """A succeeded round of ``level`` whose pairings take every status, one capacity override, locks,
    forbids, preferences, refusals, and one pair with a note of each source."""
    lists = per_demand(session, ids[:12], level, 3)
    tops = [(found.demand_id, found.items[0]) for found in lists if found.items]
    assert len(tops) >= 10, "the sample needs ten demands with a match to constrain"
    round_ = MatchRound(
        status=RoundStatus.SUCCEEDED,
        scope={"level": level, "capacities": {str(tops[0][1].provider_id): 1}},
    )
    session.add(round_)
    session.flush()
    for (demand_id, item), status in zip(tops, STATUSES, strict=False):
        reason = "方向不符" if status == PairingStatus.REJECTED else None
        session.add(_pairing(round_.id, demand_id, level, item, status, reason))
    session.add_all(_notes(ProviderLevel(level), [(d, item.provider_id) for d, item in tops]))


def _notes(level: ProviderLevel, pairs: list[tuple[int, int]]) -> list[PairConstraint | DemandPreference]:
    """A note of each kind on pairs 6 to 9; a staff lock and an enterprise preference on pair 0, whose
    pairing is accepted."""
    staff = functools.partial(PairConstraint, provider_level=level)
    enterprise = functools.partial(DemandPreference, provider_level=level)
    (d0, p0), (d6, p6), (d7, p7), (d8, p8), (d9, p9) = pairs[0], *pairs[6:10]
    return [
        staff(demand_id=d6, provider_id=p6, kind=ConstraintKind.LOCK),
        staff(demand_id=d7, provider_id=p7, kind=ConstraintKind.FORBID, reason="回避"),
        enterprise(demand_id=d8, provider_id=p8, kind=PreferenceKind.PREFER),
        enterprise(demand_id=d9, provider_id=p9, kind=PreferenceKind.REFUSE, reason="竞争对手"),
        staff(demand_id=d0, provider_id=p0, kind=ConstraintKind.LOCK, reason="重点"),
        enterprise(demand_id=d0, provider_id=p0, kind=PreferenceKind.PREFER),
    ]


def _pairing(
    round_id: int, demand_id: int, level: str, item: Any, status: PairingStatus, reason: str | None
) -> Pairing:
    return Pairing(
        round_id=round_id,
        demand_id=demand_id,
        provider_level=ProviderLevel(level),
        provider_id=item.provider_id,
        provider_name=item.provider_name,
        score=item.score,
        rank=1,
        status=status,
        reject_reason=reason,
    )


@pytest.mark.slow
def test_the_batch_export_holds_the_lists_and_the_workbook_of_one_call_per_demand(
    demo: list[int], db: Factory
) -> None:
    with db() as session:
        batches = {
            level: service.match_lists(session, demand_ids=demo, level=level, limit=10) for level in LEVELS
        }
        for level, batch in batches.items():
            assert batch == per_demand(session, demo, level, 10), level
        long = service.match_lists(session, demand_ids=demo[:8], level="society", limit=100)
        assert long == per_demand(session, demo[:8], "society", 100)
    # What the fixture set up is in the lists, so the comparison covered it.
    for level in ("society", "branch"):
        notes = {note for found in batches[level] for item in found.items for note in item.constraints}
        assert {"工作人员锁定", "工作人员禁止：回避", "企业指定（加分）", "企业拒绝：竞争对手"} <= notes
        assert any(note.endswith("已拒绝：方向不符") for note in notes)
        every_source = [
            item.constraints for found in batches[level] for item in found.items if len(item.constraints) == 3
        ]
        assert len(every_source) == 2  # the demand listed twice
        assert every_source[0][:2] == ["工作人员锁定：重点", "企业指定（加分）"]
        assert every_source[0][2].endswith("已接受")
        assert any(item.remaining_capacity == 0 for found in batches[level] for item in found.items)
        assert {found.current_round_id for found in batches[level]} != {None}
    with db() as session:
        for level in ("society", "expert"):
            exported = cells(matches_workbook(session, demo, level, 10))
            old = match_lists_workbook(session, per_demand(session, demo, level, 10), level)
            assert exported == cells(old), level
            assert sum(len(rows) - 1 for rows in list(exported.values())[1:]) >= SAMPLE * 5


@contextmanager
def counted(engine: Engine) -> Iterator[Callable[[], int]]:
    """Count the statements sent to the database inside the block."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield lambda: len(sent)
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements(db: Factory, engine: Engine, export: Callable[[Session], object]) -> int:
    """Statements one export sends once the provider index and the capacities are cached."""
    with db() as session:
        export(session)  # builds the index and the capacities, as the first export of a process would
        with counted(engine) as count:
            export(session)
            return count()


def test_the_statements_of_an_export_do_not_grow_with_its_demands(db: Factory, engine: Engine) -> None:
    societies = add_societies(db)
    ids = add_demands(db, DEMANDS * 20)
    with db.begin() as session:
        for demand_id in ids[::7]:
            society = societies["中国材料研究学会"]
            lock = ConstraintKind.LOCK
            session.add(
                PairConstraint(
                    demand_id=demand_id, provider_level=ProviderLevel.SOCIETY, provider_id=society, kind=lock
                )
            )
    few = statements(db, engine, lambda s: matches_workbook(s, ids[:3], "society", 10))
    many = statements(db, engine, lambda s: matches_workbook(s, ids, "society", 10))
    # the change stamp on PostgreSQL (SQLite reads its pragma on the driver's connection), the
    # signatures unless the stamp says they are unchanged, demands, their sentence vectors,
    # constraints, the demands' titles, the providers' societies
    assert many <= few <= 7
    # The counter does see the per-demand path grow with the demands: it counts what it should.
    old_few = statements(db, engine, lambda s: per_demand(s, ids[:3], "society", 10))
    old_many = statements(db, engine, lambda s: per_demand(s, ids, "society", 10))
    assert old_many - old_few >= 2 * (len(ids) - 3)


def test_an_unknown_demand_is_a_404_naming_the_first_one(
    client: TestClient, staff_headers: dict[str, str], db: Factory
) -> None:
    add_societies(db)
    [known] = add_demands(db, DEMANDS[:1])
    response = client.get(
        f"/api/v1/demands/matches.xlsx?ids={known},{known + 8},{known + 9}", headers=staff_headers
    )
    assert response.status_code == 404
    assert f"需求 {known + 8} 不存在" in response.text


def test_without_providers_the_lists_are_empty_and_the_workbook_has_only_its_summary(db: Factory) -> None:
    ids = add_demands(db)
    with db() as session:
        lists = service.match_lists(session, demand_ids=ids, level="society", limit=10)
        assert lists == per_demand(session, ids, "society", 10)
        assert [found.items for found in lists] == [[], [], []]
        assert cells(matches_workbook(session, ids, "society", 10)) == {"汇总": [("学会", "工作表", "行数")]}


def test_no_demands_make_no_lists(db: Factory) -> None:
    add_societies(db)
    with db() as session:
        assert service.match_lists(session, demand_ids=[], level="society", limit=10) == []
