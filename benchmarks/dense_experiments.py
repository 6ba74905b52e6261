"""Sparse-only, dense-only and fused rankings on the tuning sets (demo demands, csl-dev tuning split).

Encoded vectors come from ``var/e5cache.sqlite`` (``benchmarks/_vectors.py``), sparse scores of the
service's ranking from ``var/dense/<corpus>-sparse.npz`` (computed once). Prints one line per
configuration: acc@1 [95 % interval], hit@5, MRR.

    .venv/bin/python -m benchmarks.dense_experiments demo csl
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from benchmarks import _dense, _vectors
from matcher.dense import ProviderChunks, dense_similarities
from matcher.evaluate import Metrics, gold_ranks, metrics_from_ranks
from matcher.ranking import RankingConfig, rank

CACHE = Path(__file__).resolve().parents[1] / "var" / "dense"
Floats = npt.NDArray[np.float32]


def sparse_scores(corpus: _dense.Corpus) -> tuple[Floats, list[str]]:
    """The service's ranking (every provider scored), cached per corpus."""
    path = CACHE / f"{corpus.name}-sparse.npz"
    if path.exists():
        saved = np.load(path, allow_pickle=False)
        return saved["scores"], [str(p) for p in saved["providers"]]
    scores, providers = rank(corpus.documents, corpus.demands, RankingConfig())
    dense = np.asarray(sp.csr_matrix(scores).toarray(), dtype=np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, scores=dense, providers=np.asarray(providers))
    return dense, providers


def provider_chunks(corpus: _dense.Corpus, providers: list[str], named: bool = False) -> ProviderChunks:
    """Every document chunk of every provider, from the vector cache."""
    column = {p: i for i, p in enumerate(providers)}
    chunks = _dense.document_chunks(corpus, named)
    texts = [c for cs in chunks for c in cs]
    owner = np.asarray(
        [column[d.provider_id] for d, cs in zip(corpus.documents, chunks, strict=True) for _ in cs],
        dtype=np.int64,
    )
    vectors = _vectors.cached(texts, "passage")
    return ProviderChunks(vectors.astype(np.float32), owner, texts, len(providers))


def zscore(scores: Floats) -> Floats:
    """Per demand, standardised over providers (NaN counts as the row minimum)."""
    filled = np.where(np.isnan(scores), np.nanmin(scores, axis=1, keepdims=True), scores)
    centred = filled - filled.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    out: Floats = np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)
    return out


def measure(scores: Floats, corpus: _dense.Corpus, providers: list[str]) -> Metrics:
    """acc@1, hit@5, MRR of a dense score matrix (shifted positive; ties count against gold)."""
    column = {p: i for i, p in enumerate(providers)}
    gold = [frozenset(column[g] for g in d.gold) for d in corpus.demands]
    shifted = scores - np.nanmin(scores) + 1.0
    shifted = np.nan_to_num(shifted, nan=0.5)
    groups = [min(g) if g else 0 for g in gold]
    return metrics_from_ranks(gold_ranks(sp.csr_matrix(shifted), gold), groups)


def line(label: str, metrics: Metrics) -> str:
    """One printed result."""
    interval = metrics.intervals["acc_at_1"]
    return (
        f"{label:<44} acc@1 {metrics.acc_at_1:.3f} [{interval.low:.3f}, {interval.high:.3f}]"
        f"  hit@5 {metrics.hit_at_5:.3f}  MRR {metrics.mrr:.3f}"
    )


def configurations(
    sparse: Floats, queries: Floats, chunks: ProviderChunks
) -> dict[str, Callable[[], Floats]]:
    """The configurations compared."""
    sim_max, _ = dense_similarities(queries, chunks, "max")
    sim_mean, _ = dense_similarities(queries, chunks, "mean")
    top3 = _top_m_mean(queries, chunks, 3)
    centroid = _centroid(queries, chunks)
    configs: dict[str, Callable[[], Floats]] = {
        "sparse only (service ranking)": lambda: sparse,
        "dense only, max over chunks": lambda: sim_max,
        "dense only, mean over chunks": lambda: sim_mean,
        "dense only, mean of best 3 chunks": lambda: top3,
        "dense only, max + mean": lambda: zscore(sim_max) + zscore(sim_mean),
        "dense only, normalised centroid": lambda: centroid,
        "dense only, centroid + max": lambda: zscore(centroid) + zscore(sim_max),
    }
    for w in (0.3, 0.4, 0.5, 0.6, 0.7):
        configs[f"fused z, w_dense {w}, max"] = _fused(sparse, sim_max, w)
        configs[f"fused z, w_dense {w}, mean"] = _fused(sparse, sim_mean, w)
        configs[f"fused z, w_dense {w}, max+mean"] = _fused(sparse, zscore(sim_max) + zscore(sim_mean), w)
        configs[f"fused z, w_dense {w}, top3"] = _fused(sparse, top3, w)
        configs[f"fused z, w_dense {w}, centroid"] = _fused(sparse, centroid, w)
        configs[f"fused z, w_dense {w}, centroid+max"] = _fused(sparse, zscore(centroid) + zscore(sim_max), w)
    return configs


def _fused(sparse: Floats, dense: Floats, w: float) -> Callable[[], Floats]:
    return lambda: (1 - w) * zscore(sparse) + w * zscore(dense)


def _centroid(queries: Floats, chunks: ProviderChunks) -> Floats:
    sums = np.zeros((chunks.n_providers, chunks.vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, chunks.owner, chunks.vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    unit = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
    out: Floats = queries @ unit.T
    out[:, norms[:, 0] == 0] = np.nan
    return out


def _top_m_mean(queries: Floats, chunks: ProviderChunks, m: int) -> Floats:
    per_chunk = queries @ chunks.vectors.T
    out = np.full((queries.shape[0], chunks.n_providers), np.nan, dtype=np.float32)
    for column in range(chunks.n_providers):
        mine = per_chunk[:, chunks.owner == column]
        if mine.shape[1]:
            best = -np.sort(-mine, axis=1)[:, :m]
            out[:, column] = best.mean(axis=1)
    return out


def run(name: str) -> None:
    """Print every configuration's figures on one tuning corpus."""
    named = name.endswith("-named")
    corpus = {"demo": _dense.demo_corpus, "csl": _dense.csl_corpus}[name.removesuffix("-named")]()
    sparse, providers = sparse_scores(corpus)
    queries = _vectors.cached(_dense.query_texts(corpus), "query").astype(np.float32)
    chunks = provider_chunks(corpus, providers, named)
    print(f"== {name}: {len(corpus.demands)} demands, {len(providers)} providers, {len(chunks.texts)} chunks")
    for label, scores in configurations(sparse, queries, chunks).items():
        print(line(label, measure(scores(), corpus, providers)), flush=True)


if __name__ == "__main__":
    for corpus_name in sys.argv[1:] or ["demo"]:
        run(corpus_name)
