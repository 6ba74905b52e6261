"""Learning from staff decisions, simulated on the labelled demo demands.

The demands are split in two halves (even / odd line). The first half is reviewed over three
successive rounds: in each, staff see the top 5 of a third of those demands, accept the gold
pairing(s) and reject the providers listed above the gold one. After each round, the second half
is ranked with learning switched on (decisions so far) and off; acc@1, hit@5 and MRR are printed.

    .venv/bin/python -m benchmarks.feedback_simulation [weight threshold reject_weight]
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks import _dense, _vectors
from benchmarks.dense_experiments import measure, provider_chunks, sparse_scores, zscore
from matcher.dense import dense_similarities
from matcher.feedback import Decision, FeedbackConfig, feedback_scores

ROUNDS = 3
SHOWN = 5


def fused_base() -> tuple[_dense.Corpus, np.ndarray, np.ndarray, list[str]]:
    """The demo corpus, the fused scores (z scale) of every demand, the demand vectors, provider ids."""
    corpus = _dense.demo_corpus()
    sparse, providers = sparse_scores(corpus)
    queries = _vectors.cached(_dense.query_texts(corpus), "query").astype(np.float32)
    chunks = provider_chunks(corpus, providers, named=True)
    best, _ = dense_similarities(queries, chunks, "max")
    sums = np.zeros((chunks.n_providers, chunks.vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, chunks.owner, chunks.vectors)
    centroid = queries @ (sums / np.linalg.norm(sums, axis=1, keepdims=True)).T
    dense = zscore(zscore(centroid) + zscore(best))
    return corpus, 0.5 * zscore(sparse) + 0.5 * dense, queries, providers


def review(
    rows: list[int], scores: np.ndarray, corpus: _dense.Corpus, queries: np.ndarray, column: dict[str, int]
) -> list[Decision]:
    """Staff decisions on the top lists of ``rows``: gold accepted, those listed above it rejected."""
    decisions = []
    for row in rows:
        gold = {column[g] for g in corpus.demands[row].gold}
        shown = list(np.argsort(-scores[row], kind="stable")[:SHOWN])
        for col in gold:
            decisions.append(Decision(row, queries[row], col, True))
        first_gold = min((shown.index(c) for c in gold if c in shown), default=SHOWN)
        decisions += [Decision(row, queries[row], int(c), False) for c in shown[:first_gold]]
    return decisions


def simulate(config: FeedbackConfig) -> None:
    """Print the second half's figures after each round, learning on and off."""
    corpus, base, queries, providers = fused_base()
    column = {p: i for i, p in enumerate(providers)}
    first, second = list(range(0, len(corpus.demands), 2)), list(range(1, len(corpus.demands), 2))
    held = _dense.Corpus("held", corpus.documents, [corpus.demands[i] for i in second])
    off = measure(base[second], held, providers)
    print(f"config {config}")
    print(
        f"round 0 (no decisions)  off/on: acc@1 {off.acc_at_1:.3f} hit@5 {off.hit_at_5:.3f} MRR {off.mrr:.3f}"
    )
    decisions: list[Decision] = []
    for number, rows in enumerate(np.array_split(first, ROUNDS), start=1):
        current = base + feedback_scores(queries, decisions, len(providers), config)
        decisions += review(list(rows), current, corpus, queries, column)
        on = measure(
            (base + feedback_scores(queries, decisions, len(providers), config))[second], held, providers
        )
        accepted = sum(d.accepted for d in decisions)
        print(
            f"round {number} ({accepted} accepted, {len(decisions) - accepted} rejected)  "
            f"off: acc@1 {off.acc_at_1:.3f} hit@5 {off.hit_at_5:.3f} MRR {off.mrr:.3f}  "
            f"on: acc@1 {on.acc_at_1:.3f} "
            f"[{on.intervals['acc_at_1'].low:.3f}, {on.intervals['acc_at_1'].high:.3f}]"
            f" hit@5 {on.hit_at_5:.3f} MRR {on.mrr:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    values = [float(v) for v in sys.argv[1:5]]
    simulate(FeedbackConfig(values[0], int(values[1]), values[2], values[3]) if values else FeedbackConfig())
