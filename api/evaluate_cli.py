"""``huiqi evaluate``: rank labelled demands against providers and report the ranking quality.

The files are read and checked here; the ranking itself is the service's (``matcher.ranking`` fits the
same provider index and ranks with the same call as match lists and rounds). With the sentence encoder
available (``HUIQI_ENCODER``), the providers' chunks and the demands are encoded as the worker would
encode them; the vectors are kept in ``<HUIQI_DATA_DIR>/vectors.sqlite``, so a second run of the same
files encodes nothing (the first takes about 0.1-0.2 s per text on two cores). ``--sparse-only``
measures the ranking without it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from api.encoding.service import encoder
from api.encoding.store import FileVectorStore
from api.imports.readers import csv_delimiter, decode_csv
from api.settings import get_settings
from matcher.evaluate import Metrics
from matcher.ranking import LabelledDemand, ProviderDocument, StaffDecision, evaluate, rank

__all__ = [
    "EvaluationInputError",
    "LabelledDemand",
    "ProviderDocument",
    "evaluate",
    "evaluate_command",
    "rank",
    "read_demands",
    "read_providers",
]

PROVIDER_COLUMNS = ("id", "name", "text")
DEMAND_COLUMNS = ("id", "title", "description", "gold")
DECISION_COLUMNS = ("demand_id", "provider_id", "decision")
# What staff decided: an acceptance (or 对接, 签约) strengthens the provider, a rejection weakens it.
DECISION_VALUES = {"accepted": True, "contacted": True, "agreement": True, "closed": True, "rejected": False}
_FIELD_LIMIT = 64 * 1024 * 1024


class EvaluationInputError(ValueError):
    """An input file is missing, unreadable or malformed."""


def _read_text(path: Path) -> str:
    try:
        return decode_csv(path.read_bytes())
    except OSError as error:
        raise EvaluationInputError(f"{path}: cannot read ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise EvaluationInputError(f"{path}: unknown encoding, save it as UTF-8 or GB18030 (GBK)") from error


def _read_rows(path: Path, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows as (line where the row ends, cells by column); blank rows are skipped."""
    text = _read_text(path)
    with _long_fields():
        return _parse(path, text, columns)


@contextmanager
def _long_fields() -> Iterator[None]:
    """Provider documents (an expert's papers) can be longer than the csv module's 128 KiB default; the
    limit is process-wide, so it is raised only while these files are read."""
    before = csv.field_size_limit()
    csv.field_size_limit(max(before, _FIELD_LIMIT))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _parse(path: Path, text: str, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise EvaluationInputError(f"{path}: missing column(s) {', '.join(missing)}")
        at = [header.index(c) for c in columns]
        rows = [
            (reader.line_num, {c: _cell(row, i) for c, i in zip(columns, at, strict=True)})
            for row in reader
            if any(row)
        ]
    except csv.Error as error:
        raise EvaluationInputError(f"{path}: line {reader.line_num}: {error}") from error
    if not rows:
        raise EvaluationInputError(f"{path}: no data rows")
    return rows


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def read_providers(path: Path) -> list[ProviderDocument]:
    """Provider documents from ``id,name,text`` (several rows per id allowed)."""
    rows = _read_rows(path, PROVIDER_COLUMNS)
    for line, row in rows:
        if not row["id"]:
            raise EvaluationInputError(f"{path}: line {line}: empty id")
    return [ProviderDocument(r["id"], r["name"], r["text"]) for _, r in rows]


def read_demands(path: Path, known_providers: set[str]) -> list[LabelledDemand]:
    """Demands from ``id,title,description,gold``; ids are unique, every gold id names a provider."""
    demands: list[LabelledDemand] = []
    seen: dict[str, int] = {}
    for line, row in _read_rows(path, DEMAND_COLUMNS):
        _check_demand_id(path, line, row["id"], seen)
        gold = frozenset(g.strip() for g in row["gold"].split("|") if g.strip())
        if not gold:
            raise EvaluationInputError(f"{path}: line {line}: empty gold")
        if unknown := sorted(gold - known_providers):
            raise EvaluationInputError(f"{path}: line {line}: unknown provider id(s) {', '.join(unknown)}")
        demands.append(LabelledDemand(row["id"], row["title"], row["description"], gold))
    return demands


def read_decisions(path: Path, demands: set[str], providers: set[str]) -> list[StaffDecision]:
    """Staff decisions from ``demand_id,provider_id,decision`` (accepted, contacted, agreement, closed
    or rejected), on demands and providers of the other two files."""
    found = []
    for line, row in _read_rows(path, DECISION_COLUMNS):
        if row["demand_id"] not in demands:
            raise EvaluationInputError(f"{path}: line {line}: unknown demand id {row['demand_id']}")
        if row["provider_id"] not in providers:
            raise EvaluationInputError(f"{path}: line {line}: unknown provider id {row['provider_id']}")
        if row["decision"].lower() not in DECISION_VALUES:
            choices = ", ".join(DECISION_VALUES)
            raise EvaluationInputError(f"{path}: line {line}: decision must be one of {choices}")
        found.append(
            StaffDecision(row["demand_id"], row["provider_id"], DECISION_VALUES[row["decision"].lower()])
        )
    return found


def _check_demand_id(path: Path, line: int, demand_id: str, seen: dict[str, int]) -> None:
    if not demand_id:
        raise EvaluationInputError(f"{path}: line {line}: empty id")
    if demand_id in seen:
        raise EvaluationInputError(
            f"{path}: line {line}: duplicate id {demand_id} (first on line {seen[demand_id]})"
        )
    seen[demand_id] = line


def _human(metrics: Metrics) -> str:
    lines = [f"{'n':<14} {metrics.n}"]
    for name in ("acc_at_1", "hit_at_5", "mrr", "macro_acc_at_1"):
        interval = metrics.intervals[name]
        value = getattr(metrics, name)
        lines.append(f"{name:<14} {value:.4f}  (95% CI {interval.low:.4f}-{interval.high:.4f})")
    return "\n".join(lines)


def evaluate_command(
    providers: Annotated[Path, typer.Option("--providers", help="CSV id,name,text (rows = documents).")],
    demands: Annotated[Path, typer.Option("--demands", help="CSV id,title,description,gold (gold: a|b).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: n, acc_at_1, hit_at_5, mrr.")
    ] = False,
    sparse_only: Annotated[
        bool, typer.Option("--sparse-only", help="Rank without the sentence encoder.")
    ] = False,
    decisions: Annotated[
        Path | None,
        typer.Option(
            "--decisions",
            help="CSV demand_id,provider_id,decision (accepted|rejected|...): rank with learning on.",
        ),
    ] = None,
) -> None:
    """Measure ranking quality on labelled demands (acc@1, hit@5, MRR, macro acc@1, 95% intervals)."""
    try:
        documents = read_providers(providers)
        known = {d.provider_id for d in documents}
        labelled = read_demands(demands, known)
        decided = read_decisions(decisions, {d.demand_id for d in labelled}, known) if decisions else []
    except EvaluationInputError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    # The service's own ranking, as it would rank these providers (the index adjusts it to their number).
    settings = get_settings()
    current = encoder(False if sparse_only else settings.encoder)
    if not current.available and not sparse_only:
        typer.echo(f"注意：句向量模型不可用，仅按关键词评估（{getattr(current, 'reason', '')}）", err=True)
    store = FileVectorStore(Path(settings.data_dir) / "vectors.sqlite")
    if decided and not current.available:
        typer.echo("error: --decisions needs the sentence encoder (HUIQI_ENCODER)", err=True)
        raise typer.Exit(2)
    metrics = evaluate(documents, labelled, encoder=current, store=store, decisions=decided)
    typer.echo(json.dumps(metrics.headline()) if as_json else _human(metrics))
