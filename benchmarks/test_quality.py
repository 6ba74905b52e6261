"""Ranking quality on csl-dev (discipline routing): the service's ranking, its ablations and a plain peer.

Run with ``.venv/bin/pytest benchmarks/test_quality.py -s``: prints one table of acc@1, hit@5, MRR and
macro acc@1 with 95 % bootstrap intervals on the report split (never tuned on), and the same for the
tuning split the choices were made on; the last column is each row's paired difference in acc@1 from
the cosine alone, with its paired bootstrap interval. ``extra_info`` holds the chosen ranking's and the
peer's figures with their intervals.
"""

import logging
from dataclasses import replace

import jieba
import numpy as np
import numpy.typing as npt
import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sklearn.feature_extraction.text import TfidfVectorizer as PlainTfidf

from benchmarks._csl import CslSplit, load_split
from features.tokenize import STOPWORDS
from matcher import RankingConfig
from matcher.candidates import top_k
from matcher.evaluate import Metrics, gold_ranks, metrics_from_ranks, paired_difference
from matcher.ranking import LabelledDemand, ProviderDocument, evaluate, rank

Ranks = npt.NDArray[np.float64]
CHOSEN = RankingConfig()
COSINE = replace(CHOSEN, classifier_weight=0.0)
PREVIOUS = "cosine only (word+char 1-2)"
# Every row is a ranking the service can run: RankingConfig holds only what the index honours.
ABLATIONS = {
    "chosen: cosine + character SVM fused": CHOSEN,
    PREVIOUS: COSINE,
    "older: cosine, word+char 2-3": replace(COSINE, char_ngram_range=(2, 3)),
    "large scale: cosine, word+char 2 (> 600 prov.)": replace(CHOSEN, max_classifier_providers=0),
    "fused, word+char 2": replace(CHOSEN, char_ngram_range=(2, 2)),
    "character SVM only": replace(CHOSEN, classifier_weight=1.0),
    "words only (no char n-grams), fused": replace(CHOSEN, char_weight=0.0),
    "words only, cosine only": replace(COSINE, char_weight=0.0),
    "raw tf (no sublinear), fused": replace(CHOSEN, sublinear_tf=False),
}


@pytest.fixture(scope="module")
def split() -> CslSplit:
    return load_split()


def plain_baseline(documents: list[ProviderDocument], demands: list[LabelledDemand]) -> Metrics:
    """The peer: default jieba, the stopwords, no single characters, sklearn TF-IDF, joined profiles."""
    jieba.setLogLevel(logging.WARNING)
    stopwords = set(STOPWORDS.read_text(encoding="utf-8").split())

    def tokenize(text: str) -> list[str]:
        return [w for w in jieba.lcut(text) if len(w) > 1 and w.strip() and w not in stopwords]

    ids = sorted({d.provider_id for d in documents})
    joined = dict.fromkeys(ids, "")
    for document in documents:
        joined[document.provider_id] += document.text
    vectorizer = PlainTfidf(tokenizer=tokenize, token_pattern=None, lowercase=False)
    providers = vectorizer.fit_transform([joined[pid] for pid in ids])
    scores = top_k(vectorizer.transform([d.title + d.description for d in demands]), providers, len(ids))
    gold = [frozenset(ids.index(g) for g in d.gold) for d in demands]
    return metrics_from_ranks(gold_ranks(scores, gold), [min(g) for g in gold])


def ranks(
    documents: list[ProviderDocument], demands: list[LabelledDemand], config: RankingConfig
) -> tuple[Ranks, list[int]]:
    """Gold ranks and classes of every demand under ``config``, as ``evaluate`` measures them."""
    scores, ids = rank(documents, demands, config)
    column = {pid: i for i, pid in enumerate(ids)}
    gold = [frozenset(column[g] for g in d.gold) for d in demands]
    return gold_ranks(scores, gold), [min(g) for g in gold]


def row(name: str, metrics: Metrics, versus: Ranks | None = None, own: Ranks | None = None) -> str:
    cells = [f"{name:<50}"]
    for key in ("acc_at_1", "hit_at_5", "mrr", "macro_acc_at_1"):
        interval = metrics.intervals[key]
        cells.append(f"{getattr(metrics, key):.3f} [{interval.low:.3f},{interval.high:.3f}]")
    if versus is not None and own is not None:
        delta = paired_difference(versus, own)["acc_at_1"]
        cells.append(f"{delta.value:+.3f} [{delta.interval.low:+.3f},{delta.interval.high:+.3f}]")
    return " | ".join(cells)


def table(split: CslSplit, demands: list[LabelledDemand], title: str) -> tuple[list[str], dict[str, Metrics]]:
    lines = [f"csl-dev {title}: {len(demands)} demands, 67 providers, {len(split.documents)} documents"]
    lines.append(
        f"{'configuration':<50} | "
        + " | ".join(f"{m + ' [95% CI]':<20}" for m in ("acc@1", "hit@5", "MRR", "macro acc@1"))
        + " | acc@1 - previous [paired 95% CI]"
    )
    lines.append(row("plain jieba + TF-IDF (peer)", plain_baseline(split.documents, demands)))
    found = {name: ranks(split.documents, demands, config) for name, config in ABLATIONS.items()}
    results = {name: metrics_from_ranks(*found[name]) for name in ABLATIONS}
    lines += [row(name, results[name], found[PREVIOUS][0], found[name][0]) for name in ABLATIONS]
    return lines, results


PEER = "plain jieba + sklearn TF-IDF"


def _figures(metrics: Metrics) -> dict[str, object]:
    """Headline figures with their 95 % bootstrap intervals, for the release harness."""
    intervals = {k: [round(i.low, 4), round(i.high, 4)] for k, i in metrics.intervals.items()}
    return {**metrics.headline(), "intervals": intervals}


def test_quality_report_split(split: CslSplit, benchmark: BenchmarkFixture) -> None:
    chosen = benchmark.pedantic(
        evaluate, args=(split.documents, split.report, CHOSEN), rounds=1, iterations=1
    )
    peer = plain_baseline(split.documents, split.report)
    lines, results = table(split, split.report, "report split")
    print("\n" + "\n".join(lines))
    benchmark.extra_info.update({"chosen": _figures(chosen), "peer": _figures(peer), "peer_name": PEER})
    assert results[next(iter(ABLATIONS))] == chosen  # deterministic end to end, same ranks as evaluate
    assert chosen.acc_at_1 > peer.acc_at_1
    assert chosen.mrr > peer.mrr


def test_quality_tuning_split(split: CslSplit) -> None:
    """The split the choices were made on, for comparison with the report split."""
    lines, results = table(split, split.tuning, "tuning split")
    print("\n" + "\n".join(lines))
    assert results[next(iter(ABLATIONS))].acc_at_1 > results[PREVIOUS].acc_at_1
