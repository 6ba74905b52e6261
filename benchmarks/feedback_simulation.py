"""Learning from staff decisions, simulated on the labelled demo demands through the service's ranking.

Every ranking here is ``matcher.ranking.rank`` (the ``huiqi evaluate`` path: the same provider index,
``matcher.index.with_feedback`` and ``top_candidates`` as match lists and rounds). The demands are
split in two halves (even / odd line). The first half is reviewed over ``ROUNDS`` successive rounds:
in each, staff see the top 5 of a share of those demands ranked with the decisions so far (learning
on), accept the gold pairing(s) and reject the providers listed above the first gold one. After each
round the second half (never decided on) is measured with learning switched on (all decisions so far)
and off (no decisions: the ranking without learning).

    .venv/bin/python -m benchmarks.feedback_simulation [weight neighbours threshold reject_weight]

Encoded texts are kept in ``var/e5-evaluate.sqlite`` (the first run encodes the demo corpus: a few
minutes on two cores).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from api.encoding.store import FileVectorStore
from benchmarks import _dense
from features.encoder import E5Encoder
from matcher.evaluate import Metrics, gold_ranks, metrics_from_ranks
from matcher.feedback import FeedbackConfig
from matcher.ranking import StaffDecision, rank

ROUNDS = 3
SHOWN = 5
ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "var" / "e5-evaluate.sqlite"


def measure(
    scores: sp.csr_matrix, corpus: _dense.Corpus, rows: Sequence[int], providers: list[str]
) -> Metrics:
    """acc@1, hit@5 and MRR of the demands ``rows`` (ties count against gold, as ``huiqi evaluate``)."""
    column = {p: i for i, p in enumerate(providers)}
    gold = [frozenset(column[g] for g in corpus.demands[row].gold) for row in rows]
    groups = [min(g) if g else 0 for g in gold]
    return metrics_from_ranks(gold_ranks(sp.csr_matrix(scores)[list(rows)], gold), groups)


def review(
    rows: Sequence[int], scores: sp.csr_matrix, corpus: _dense.Corpus, providers: list[str]
) -> list[StaffDecision]:
    """Staff decisions on the top lists of ``rows``: gold accepted, those listed above it rejected."""
    decisions = []
    dense = sp.csr_matrix(scores).toarray()
    for row in rows:
        demand = corpus.demands[row]
        shown = [providers[c] for c in np.lexsort((np.arange(dense.shape[1]), -dense[row]))[:SHOWN]]
        first_gold = min((shown.index(g) for g in demand.gold if g in shown), default=SHOWN)
        decisions += [StaffDecision(demand.demand_id, g, True) for g in sorted(demand.gold)]
        decisions += [StaffDecision(demand.demand_id, p, False) for p in shown[:first_gold]]
    return decisions


def _figures(metrics: Metrics) -> dict[str, float]:
    return {"acc_at_1": metrics.acc_at_1, "hit_at_5": metrics.hit_at_5, "mrr": metrics.mrr}


def simulate(config: FeedbackConfig) -> list[dict[str, object]]:
    """The second half's figures after each round, learning on and off; printed and returned."""
    corpus = _dense.demo_corpus()
    encoder, store = E5Encoder(), FileVectorStore(STORE)

    def ranking(decisions: Sequence[StaffDecision]) -> tuple[sp.csr_matrix, list[str]]:
        return rank(corpus.documents, corpus.demands, None, encoder, store, decisions, config)

    first = list(range(0, len(corpus.demands), 2))
    second = list(range(1, len(corpus.demands), 2))
    started = time.perf_counter()
    scores, providers = ranking([])
    off = measure(scores, corpus, second, providers)
    print(f"config {config}; {len(first)} reviewed demands, {len(second)} held out", flush=True)
    rows: list[dict[str, object]] = [
        {"round": 0, "accepted": 0, "rejected": 0, "off": _figures(off), "on": _figures(off)}
    ]
    print(f"round 0 (no decisions)  off = on: {_line(off)}", flush=True)
    decisions: list[StaffDecision] = []
    for number, part in enumerate(np.array_split(np.asarray(first), ROUNDS), start=1):
        decisions += review([int(r) for r in part], scores, corpus, providers)
        scores, _ = ranking(decisions)
        on = measure(scores, corpus, second, providers)
        accepted = sum(d.accepted for d in decisions)
        rows.append(
            {
                "round": number,
                "accepted": accepted,
                "rejected": len(decisions) - accepted,
                "off": _figures(off),
                "on": _figures(on),
            }
        )
        print(
            f"round {number} ({accepted} accepted, {len(decisions) - accepted} rejected)  "
            f"off: {_line(off)}  on: {_line(on)}",
            flush=True,
        )
    load = os.getloadavg()
    print(f"{time.perf_counter() - started:.0f} s, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return rows


def _line(metrics: Metrics) -> str:
    interval = metrics.intervals["acc_at_1"]
    return (
        f"acc@1 {metrics.acc_at_1:.3f} [{interval.low:.3f}, {interval.high:.3f}] "
        f"hit@5 {metrics.hit_at_5:.3f} MRR {metrics.mrr:.3f}"
    )


if __name__ == "__main__":
    values = [float(v) for v in sys.argv[1:5]]
    chosen = FeedbackConfig(values[0], int(values[1]), values[2], values[3]) if values else FeedbackConfig()
    result = simulate(chosen)
    out = ROOT / "var" / "feedback_simulation.json"
    out.write_text(json.dumps({"config": vars(chosen), "rounds": result}, indent=1), encoding="utf-8")
