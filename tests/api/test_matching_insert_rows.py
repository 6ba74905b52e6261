"""The round's bulk insert binds values as a Core INSERT would: each distinct value of a column is
bound once, but values equal in Python and of different types (1 and True) keep their own binding."""

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, select

from api.db import make_engine, make_session_factory
from api.matching.models import Pairing
from api.matching.repository import _bound, insert_rows


def test_bound_values_are_those_of_the_columns_processors() -> None:
    engine = make_engine("sqlite://")
    table = Pairing.__table__
    names = ["status", "reasons", "provider_level"]
    processors = [table.columns[n].type._cached_bind_processor(engine.dialect) for n in names]
    rows = [
        {"status": status, "reasons": {"terms": [f"词{i}"]}, "provider_level": "society"}
        for i, status in enumerate(["proposed", "accepted", "proposed", "rejected"] * 3)
    ]
    memos: list[dict[tuple[type, object], object]] = [{} for _ in names]
    got = [_bound(row, names, processors, memos) for row in rows]
    expected = [
        [v if f is None else f(v) for f, v in zip(processors, row.values(), strict=True)] for row in rows
    ]
    assert got == expected
    assert len(memos[0]) == 3  # one binding per distinct status; the JSON documents are not kept


def test_equal_values_of_different_types_keep_their_own_binding() -> None:
    engine = make_engine("sqlite://")
    table = Table("documents", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JSON))
    table.metadata.create_all(engine)
    values = [1, True, 2.5, True, 1, "1"]
    with make_session_factory(engine).begin() as session:
        insert_rows(session, table, [{"id": i, "doc": v} for i, v in enumerate(values)])
    with engine.connect() as connection:
        stored = [row.doc for row in connection.execute(select(table).order_by(table.c.id))]
    assert stored == values
    assert [type(v) for v in stored] == [type(v) for v in values]


def test_a_column_left_out_gets_its_default_once_bound() -> None:
    engine = make_engine("sqlite://")
    table = Table(
        "labels",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("kind", String, default="plain"),
        Column("extra", JSON, default=dict),
    )
    table.metadata.create_all(engine)
    with make_session_factory(engine).begin() as session:
        insert_rows(session, table, [{"id": i} for i in range(3)])
    with engine.connect() as connection:
        assert [(r.kind, r.extra) for r in connection.execute(select(table))] == [("plain", {})] * 3
