"""The tuning corpora of the dense experiments: demo demands -> demo societies, csl-dev tuning split.

Only tuning material is read here: the 333 labelled demo demands against the exported demo society
profiles (``benchmarks/test_demo_quality.py`` writes them), and the csl-dev tuning split
(``benchmarks/_csl.py``). The csl-dev report split is read once per kept configuration, by
``report_split``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from features.encoder import chunk_text, demand_query_text
from matcher.ranking import LabelledDemand, ProviderDocument

ROOT = Path(__file__).resolve().parents[1]
QUALITY = ROOT / "var" / "quality"
MARKET = ROOT / ".." / "shared" / "data" / "zj-tech-market"


@dataclass(frozen=True)
class Corpus:
    """Provider documents and labelled demands of one tuning set."""

    name: str
    documents: list[ProviderDocument]
    demands: list[LabelledDemand]


def demo_corpus() -> Corpus:
    """The 333 labelled demo demands and the 209 demo society profiles (one row per document)."""
    if not (QUALITY / "providers.csv").exists():
        from benchmarks.test_demo_quality import _demo_session, write_files

        for session in _demo_session(QUALITY):
            write_files(QUALITY, session)
    from api.evaluate_cli import read_demands, read_providers

    documents = read_providers(QUALITY / "providers.csv")
    demands = read_demands(QUALITY / "demands.csv", {d.provider_id for d in documents})
    return Corpus("demo", list(documents), list(demands))


def csl_corpus() -> Corpus:
    """csl-dev: 67 disciplines' documents and the tuning split's 1,491 demands."""
    from benchmarks._csl import load_split

    split = load_split()
    return Corpus("csl", split.documents, split.tuning)


def csl_report_corpus() -> Corpus:
    """csl-dev report split: read once per kept configuration, never tuned on."""
    from benchmarks._csl import load_split

    split = load_split()
    return Corpus("csl-report", split.documents, split.report)


def market_texts() -> list[str]:
    """The technology-market demands and achievements (title and description), for throughput."""
    texts = []
    for name in ("demands.tsv", "achievements.tsv"):
        with (MARKET / name).open(encoding="utf-8", newline="") as handle:
            texts += [f"{r['title']}。{r['description']}" for r in csv.DictReader(handle, delimiter="\t")]
    return texts


def query_texts(corpus: Corpus) -> list[str]:
    """The demand texts as encoded (title then description)."""
    return [demand_query_text(d.title, d.description) for d in corpus.demands]


def document_chunks(corpus: Corpus, named: bool = False) -> list[list[str]]:
    """Each provider document's chunks (with the provider's name in front when ``named``)."""
    return [[f"{d.name}：{c}" if named else c for c in chunk_text(d.text)] for d in corpus.documents]


def texts_to_encode(name: str) -> Iterator[tuple[str, list[str]]]:
    """(kind, texts) pairs of a corpus: its demands as queries, its document chunks as passages."""
    if name == "market":
        yield "passage", market_texts()
        return
    named = name.endswith("-named")
    loaders = {"demo": demo_corpus, "csl": csl_corpus, "csl-report": csl_report_corpus}
    corpus = loaders[name.removesuffix("-named")]()
    yield "query", query_texts(corpus)
    if name != "csl-report":
        yield "passage", [c for chunks in round_robin(corpus, document_chunks(corpus, named)) for c in chunks]


def round_robin(corpus: Corpus, chunks: list[list[str]]) -> list[list[str]]:
    """Documents' chunks ordered first document of every provider, then second, ...: a partly encoded
    corpus covers every provider evenly."""
    rank: dict[str, int] = {}
    order = []
    for index, document in enumerate(corpus.documents):
        rank[document.provider_id] = rank.get(document.provider_id, -1) + 1
        order.append((rank[document.provider_id], index))
    return [chunks[index] for _, index in sorted(order)]
