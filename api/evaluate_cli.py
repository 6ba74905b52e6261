"""``huiqi evaluate``: rank labelled demands against providers and report the ranking quality.

The files are read and checked here; the ranking itself is ``matcher.ranking`` (shared with matching).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from matcher.evaluate import Metrics
from matcher.ranking import LabelledDemand, ProviderDocument, RankingConfig, evaluate, rank

__all__ = [
    "EvaluationInputError",
    "LabelledDemand",
    "ProviderDocument",
    "RankingConfig",
    "evaluate",
    "evaluate_command",
    "rank",
    "read_demands",
    "read_providers",
]

PROVIDER_COLUMNS = ("id", "name", "text")
DEMAND_COLUMNS = ("id", "title", "description", "gold")


class EvaluationInputError(ValueError):
    """An input file is missing, unreadable or malformed."""


def _read_rows(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise EvaluationInputError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = [{c: (row.get(c) or "").strip() for c in columns} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise EvaluationInputError(f"{path}: cannot read ({error})") from error
    if not rows:
        raise EvaluationInputError(f"{path}: no data rows")
    return rows


def read_providers(path: Path) -> list[ProviderDocument]:
    """Provider documents from ``id,name,text`` (several rows per id allowed)."""
    rows = _read_rows(path, PROVIDER_COLUMNS)
    for line, row in enumerate(rows, start=2):
        if not row["id"]:
            raise EvaluationInputError(f"{path}: line {line}: empty id")
    return [ProviderDocument(r["id"], r["name"], r["text"]) for r in rows]


def read_demands(path: Path, known_providers: set[str]) -> list[LabelledDemand]:
    """Demands from ``id,title,description,gold``; every gold id must name a provider."""
    demands = []
    for line, row in enumerate(_read_rows(path, DEMAND_COLUMNS), start=2):
        gold = frozenset(g.strip() for g in row["gold"].split("|") if g.strip())
        if not gold:
            raise EvaluationInputError(f"{path}: line {line}: empty gold")
        if unknown := sorted(gold - known_providers):
            raise EvaluationInputError(f"{path}: line {line}: unknown provider id(s) {', '.join(unknown)}")
        demands.append(LabelledDemand(row["id"], row["title"], row["description"], gold))
    return demands


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
) -> None:
    """Measure ranking quality on labelled demands (acc@1, hit@5, MRR, macro acc@1, 95% intervals)."""
    try:
        documents = read_providers(providers)
        labelled = read_demands(demands, {d.provider_id for d in documents})
    except EvaluationInputError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    metrics = evaluate(documents, labelled, RankingConfig())
    typer.echo(json.dumps(metrics.headline()) if as_json else _human(metrics))
