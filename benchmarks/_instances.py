"""Instance generators for the solver benchmarks: the grid of the assignment issue.

N demands, M = N / 5 providers, capacity 1 + Poisson(4.5) capped at 20 (total about 1.1 N, so
providers contend), k candidates per demand, wanted number 1 or mixed {1: 80 %, 2: 15 %, 3: 5 %}.
Affinities: ``uniform`` in [0, 1); ``tied`` on a grid of 5 values; ``tfidf``: cosines of sublinear
TF-IDF vectors from a topic model with a few hot topics, so most values sit near 0.02 and a few real
matches exceed 0.1. ``make_degenerate``: half the demands exact copies of one, wanted 2.
``real``: the service's own cosine scores on real technology-market texts
(``make_real_instance``), the profile on which a price war once cost the auction 38-60 s per solve.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from features.profiles import DEMAND, PROVIDER
from features.tokenize import Tokenizer
from features.vectorize import TfidfVectorizer
from matcher.candidates import top_k


@dataclass(frozen=True)
class Instance:
    name: str
    affinity: sp.csr_array
    capacity: np.ndarray
    wanted: np.ndarray

    @property
    def nbytes(self) -> int:
        a = self.affinity
        return int(
            a.data.nbytes + a.indices.nbytes + a.indptr.nbytes + self.capacity.nbytes + self.wanted.nbytes
        )


def _candidates(rng: np.random.Generator, n: int, m: int, k: int) -> np.ndarray:
    """k distinct providers per demand, shape (n, k)."""
    picks = rng.random((n, m)).argpartition(k, axis=1)[:, :k] if n * m <= 4e7 else None
    if picks is not None:
        return np.sort(picks, axis=1)
    out = np.empty((n, k), np.int64)
    for start in range(0, n, 2000):
        stop = min(n, start + 2000)
        out[start:stop] = np.sort(rng.random((stop - start, m)).argpartition(k, axis=1)[:, :k], axis=1)
    return out


def _tfidf_scores(rng: np.random.Generator, n: int, m: int, cols: np.ndarray) -> np.ndarray:
    """Cosine of sublinear TF-IDF topic vectors: mostly ~0.02, a few matches above 0.1."""
    topics, vocab = 40, 400
    hot = rng.dirichlet(np.full(topics, 0.3))
    words = rng.dirichlet(np.full(vocab, 0.05), size=topics)

    def docs(count: int, length: int) -> sp.csr_array:
        topic = rng.choice(topics, size=count, p=hot)
        counts = np.stack([rng.multinomial(length, 0.7 * words[t] + 0.3 / vocab) for t in topic])
        tf = np.log1p(counts)
        idf = np.log((1 + count) / (1 + (counts > 0).sum(axis=0))) + 1
        v = tf * idf
        return sp.csr_array(v / np.linalg.norm(v, axis=1, keepdims=True))

    d, p = docs(n, 30), docs(m, 80)
    rows = np.repeat(np.arange(n), cols.shape[1])
    return np.asarray((d[rows].multiply(p[cols.ravel()])).sum(axis=1)).ravel()


def make_degenerate(n: int, k: int, seed: int = 0) -> Instance:
    """Uniform affinities, every demand wanting 2, and the second half of the demands exact copies
    of demand 0 (same candidates, same affinities): one provider group fought over by n / 2 demands."""
    base = make_instance(n, k, "one", "uniform", seed)
    a = base.affinity
    half = n // 2
    first = slice(int(a.indptr[0]), int(a.indptr[1]))
    cols = np.concatenate([a.indices[: int(a.indptr[n - half])], np.tile(a.indices[first], half)])
    data = np.concatenate([a.data[: int(a.indptr[n - half])], np.tile(a.data[first], half)])
    rows = np.repeat(np.arange(n), k)
    affinity = sp.csr_array((data, (rows, cols)), shape=a.shape)
    return Instance(f"n{n}-k{k}-degenerate", affinity, base.capacity, np.full(n, 2, np.int64))


def make_instance(n: int, k: int, wanted: str, values: str, seed: int = 0) -> Instance:
    rng = np.random.default_rng(seed)
    m = n // 5
    capacity = np.minimum(1 + rng.poisson(4.5, m), 20).astype(np.int64)
    cols = _candidates(rng, n, m, k)
    if values == "uniform":
        data = rng.random(n * k)
    elif values == "tied":
        data = rng.integers(1, 6, n * k) / 5
    else:
        data = _tfidf_scores(rng, n, m, cols)
    want = np.ones(n, np.int64) if wanted == "one" else rng.choice([1, 2, 3], size=n, p=[0.8, 0.15, 0.05])
    rows = np.repeat(np.arange(n), k)
    affinity = sp.csr_array((data, (rows, cols.ravel())), shape=(n, m))
    return Instance(f"n{n}-k{k}-{wanted}-{values}", affinity, capacity, want)


# ------------------------------------------------------------------------------------------------
# "real": the service's own scores on real technology-market texts
# ------------------------------------------------------------------------------------------------

MARKET = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "zj-tech-market"
REAL_DEMANDS, REAL_PROVIDERS, REAL_K, REAL_CAPACITY = 5_000, 2_000, 20, 3


def _tsv(name: str) -> list[dict[str, str]]:
    with (MARKET / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _real_texts() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Demand and provider records built as ``benchmarks/test_round.py`` builds its round."""
    demands, achievements = _tsv("demands.tsv"), _tsv("achievements.tsv")
    demand_records = []
    for i in range(REAL_DEMANDS):
        row, other = demands[i % len(demands)], demands[(i * 7 + 3) % len(demands)]
        extra = "" if i < len(demands) else other["description"].split("。")[0]
        demand_records.append({"title": row["title"][:100], "description": row["description"] + extra})
    rng = random.Random(7)
    provider_records = []
    for i in range(REAL_PROVIDERS):
        picked = [achievements[i % len(achievements)]] + ([rng.choice(achievements)] if i % 2 else [])
        text = "。".join(f"{r['title']}：{r['description']}" for r in picked)
        provider_records.append({"name": f"技术市场服务学会{i:04d}", "text": text})
    return demand_records, provider_records


def make_real_instance() -> Instance:
    """Top-20 cosines of the service's sublinear TF-IDF (words and character n-grams), capacity 3.

    5,000 demands x 2,000 providers from real texts, tokenized, weighed and vectorized as the
    service does; the candidate scores are those a matching round hands to the solver.
    """
    if not MARKET.is_dir():
        pytest.skip(f"{MARKET} is absent: the real-score case needs its texts")
    demand_records, provider_records = _real_texts()
    tokenize = Tokenizer()
    demand_bags = [DEMAND.bag(DEMAND.tokenize_fields(r, tokenize)) for r in demand_records]
    provider_bags = [PROVIDER.bag(PROVIDER.tokenize_fields(r, tokenize)) for r in provider_records]
    vectorizer = TfidfVectorizer().fit(provider_bags)
    scores = top_k(vectorizer.transform(demand_bags), vectorizer.transform(provider_bags), REAL_K)
    affinity = sp.csr_array(scores.astype(np.float64))
    capacity = np.full(REAL_PROVIDERS, REAL_CAPACITY, np.int64)
    return Instance("real", affinity, capacity, np.ones(REAL_DEMANDS, np.int64))


# ------------------------------------------------------------------------------------------------
# "contended": near-duplicate demands on hot providers, the shape of a large real round
# ------------------------------------------------------------------------------------------------


def make_contended(n: int, k: int, seed: int = 0) -> Instance:
    """Demands drawn as noisy copies of a few prototypes, capacity 8, wanted 1.

    The shape of a real 100,000 x 20,000 round (imported rows repeating a few hundred texts): about
    half the demands share their best providers with dozens of others (a best provider is wanted by up
    to ~100 demands for 8 places) and many rows are exact copies. Prototypes: n / 20, popularity
    falling as a power law; each has k providers drawn with a power-law preference (some providers
    are everyone's), low scores 0.05-0.25 and one to four real matches 0.4-0.9. A demand copies its
    prototype exactly (half of them) or with 2 % noise on the scores and three candidates swapped for
    random providers at low scores.
    """
    rng = np.random.default_rng(seed)
    m, protos = n // 5, max(1, n // 10)
    provider_weight = 1.0 / (1.0 + np.arange(m)) ** 0.3
    provider_weight /= provider_weight.sum()
    proto_cols = np.stack([rng.choice(m, k, replace=False, p=provider_weight) for _ in range(protos)])
    proto_vals = 0.05 + 0.2 * rng.random((protos, k))
    matches = rng.integers(1, 5, protos)
    proto_vals[np.arange(k)[None, :] < matches[:, None]] = 0.4 + 0.5 * rng.random(int(matches.sum()))
    popularity = 1.0 / (1.0 + np.arange(protos)) ** 0.5
    proto = rng.choice(protos, n, p=popularity / popularity.sum())
    cols, vals = proto_cols[proto].copy(), proto_vals[proto].copy()
    noisy = np.flatnonzero(rng.random(n) < 0.5)
    vals[noisy] *= 1.0 + 0.02 * rng.standard_normal((noisy.shape[0], k))
    for i in noisy:  # three low candidates swapped for random providers not yet among the demand's
        swap = k - 1 - np.arange(3)
        fresh = np.setdiff1d(rng.choice(m, 8, replace=False), cols[i])[:3]
        cols[i, swap[: fresh.shape[0]]] = fresh
        vals[i, swap[: fresh.shape[0]]] = 0.05 + 0.2 * rng.random(fresh.shape[0])
    rows = np.repeat(np.arange(n), k)
    affinity = sp.csr_array((np.clip(vals, 0.0, 1.0).ravel(), (rows, cols.ravel())), shape=(n, m))
    return Instance(f"n{n}-k{k}-contended", affinity, np.full(m, 8, np.int64), np.ones(n, np.int64))
