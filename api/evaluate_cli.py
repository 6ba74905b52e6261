"""``huiqi evaluate``: rank labelled demands against providers and report the ranking quality."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import typer

from features.profiles import DEMAND, PROVIDER
from features.tokenize import Tokenizer
from features.vectorize import TfidfVectorizer
from matcher.candidates import centroids, top_k, top_k_nearest_documents
from matcher.evaluate import Metrics, gold_ranks, metrics_from_ranks

PROVIDER_COLUMNS = ("id", "name", "text")
DEMAND_COLUMNS = ("id", "title", "description", "gold")


class EvaluationInputError(ValueError):
    """An input file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class ProviderDocument:
    """One row of the providers file: one document of one provider."""

    provider_id: str
    name: str
    text: str


@dataclass(frozen=True)
class LabelledDemand:
    """One row of the demands file."""

    demand_id: str
    title: str
    description: str
    gold: frozenset[str]


@dataclass(frozen=True)
class RankingConfig:
    """How texts become scores; the defaults were chosen on the csl-dev tuning split.

    ``aggregation``: ``profile`` joins a provider's documents into one bag of terms; ``centroid``
    averages its document vectors; ``nearest`` scores the mean of its ``nearest_m`` best documents.
    ``idf_corpus``: ``providers`` learns the idf from the provider profiles (terms shared by every
    provider weigh little), ``all`` from every document and demand.
    """

    use_domain_dictionary: bool = True
    char_weight: float = 0.5
    sublinear_tf: bool = True
    aggregation: Literal["profile", "centroid", "nearest"] = "profile"
    idf_corpus: Literal["providers", "all"] = "providers"
    nearest_m: int = 10
    title_only: bool = False
    n_jobs: int = 2


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


def _sum_bags(
    bags: Sequence[Mapping[str, float]], owner: npt.NDArray[np.int64], n: int
) -> list[dict[str, float]]:
    summed: list[dict[str, float]] = [{} for _ in range(n)]
    for bag, row in zip(bags, owner, strict=True):
        target = summed[row]
        for term, weight in bag.items():
            target[term] = target.get(term, 0.0) + weight
    return summed


def _bags(
    documents: Sequence[ProviderDocument], demands: Sequence[LabelledDemand], config: RankingConfig
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Weighted bags of terms of the provider documents and of the demands."""
    tokenizer = Tokenizer(use_domain_dictionary=config.use_domain_dictionary)
    texts = [d.text for d in documents] + [d.title for d in demands]
    texts += [] if config.title_only else [d.description for d in demands]
    tokens = tokenizer.tokenize_many(texts, n_jobs=config.n_jobs)
    n_docs, n_dem = len(documents), len(demands)
    names = {name: tokenizer(name) for name in {d.name for d in documents}}
    doc_bags = [
        PROVIDER.bag({"name": names[d.name], "text": t}) for d, t in zip(documents, tokens, strict=False)
    ]
    titles = tokens[n_docs : n_docs + n_dem]
    descriptions = [[] for _ in demands] if config.title_only else tokens[n_docs + n_dem :]
    demand_bags = [
        DEMAND.bag({"title": t, "description": d}) for t, d in zip(titles, descriptions, strict=True)
    ]
    return doc_bags, demand_bags


def rank(
    documents: Sequence[ProviderDocument], demands: Sequence[LabelledDemand], config: RankingConfig
) -> tuple[sp.csr_matrix, list[str]]:
    """Scores demands x providers (every provider ranked), and the provider ids in column order."""
    provider_ids = list(dict.fromkeys(d.provider_id for d in documents))
    column = {pid: i for i, pid in enumerate(provider_ids)}
    owner = np.array([column[d.provider_id] for d in documents], dtype=np.int64)
    k = len(provider_ids)
    doc_bags, demand_bags = _bags(documents, demands, config)
    profile_bags = _sum_bags(doc_bags, owner, k)
    vectorizer = TfidfVectorizer(char_weight=config.char_weight, sublinear_tf=config.sublinear_tf)
    vectorizer.fit(profile_bags if config.idf_corpus == "providers" else doc_bags + demand_bags)
    demand_vectors = vectorizer.transform(demand_bags)
    if config.aggregation == "profile":
        return top_k(demand_vectors, vectorizer.transform(profile_bags), k), provider_ids
    doc_vectors = vectorizer.transform(doc_bags)
    if config.aggregation == "nearest":
        return top_k_nearest_documents(
            demand_vectors, doc_vectors, owner, k, k, m=config.nearest_m
        ), provider_ids
    return top_k(demand_vectors, centroids(doc_vectors, owner, k), k), provider_ids


def evaluate(
    documents: Sequence[ProviderDocument], demands: Sequence[LabelledDemand], config: RankingConfig
) -> Metrics:
    """Rank every demand against every provider and measure where its gold providers land."""
    scores, provider_ids = rank(documents, demands, config)
    column = {pid: i for i, pid in enumerate(provider_ids)}
    gold = [frozenset(column[g] for g in d.gold) for d in demands]
    groups = [min(g) for g in gold]
    return metrics_from_ranks(gold_ranks(scores, gold), groups)


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
