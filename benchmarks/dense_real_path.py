"""The fused ranking through the service's own path (``matcher.ranking``, the index and its gate):
the dense weight and the split of the sparse share, on a tuning corpus, from cached vectors.

    .venv/bin/python -m benchmarks.dense_real_path demo
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace

from benchmarks import _dense, _vectors
from benchmarks.dense_experiments import line
from features.encoder import E5Encoder
from matcher.dense import named_chunks
from matcher.evaluate import gold_ranks, metrics_from_ranks
from matcher.index import RankingConfig, demand_vectors, fit_index, top_candidates
from matcher.ranking import demand_inputs, encode_inputs, provider_inputs
from matcher.types import ProviderInput


def cached_only(providers: list[ProviderInput], encoder: E5Encoder) -> tuple[list[ProviderInput], int, int]:
    """Providers with only those chunks already in the cache (while a corpus is still being encoded)."""
    store = _vectors.BenchStore()
    prefix = f"{encoder.identity.checksum}:passage:"
    chunks = [named_chunks(p.name, p.documents) for p in providers]
    keys = [[prefix + hashlib.sha1(c.encode("utf-8")).hexdigest() for c in cs] for cs in chunks]
    found = store.get([k for ks in keys for k in ks])
    out = [
        replace(p, chunks=tuple((c, found[k]) for c, k in zip(cs, ks, strict=True) if k in found))
        for p, cs, ks in zip(providers, chunks, keys, strict=True)
    ]
    return out, len(found), sum(map(len, keys))


def run(name: str, weights: list[tuple[float, float]]) -> None:
    """Print the figures of each (dense weight, character SVM share of the sparse part)."""
    corpus = {"demo": _dense.demo_corpus, "csl": _dense.csl_corpus}[name]()
    ids, providers = provider_inputs(corpus.documents)
    encoder = E5Encoder()
    inputs = demand_inputs(corpus.demands)
    if name == "csl":
        providers, found, total = cached_only(providers, encoder)
        print(f"csl: {found} of {total} provider chunks encoded so far (dense part uses those)")
        _, inputs = encode_inputs([], inputs, encoder, _vectors.BenchStore())
    else:
        providers, inputs = encode_inputs(providers, inputs, encoder, _vectors.BenchStore())
    index = fit_index(providers, RankingConfig(dense_weight=0.5))
    vectors = demand_vectors(index, inputs)
    column = {p: i for i, p in enumerate(ids)}
    gold = [frozenset(column[g] for g in d.gold) for d in corpus.demands]
    groups = [min(g) if g else 0 for g in gold]
    for dense, svm_share in weights:
        parts = []
        for component in index.components:
            share = dense if component.name == "sentence_encoder" else svm_share * (1 - dense)
            parts.append(replace(component, weight=share))  # type: ignore[type-var]
        kept = tuple(p for p in parts if p.weight > 0)
        variant = replace(index, components=kept)
        chosen = vectors if len(kept) == len(index.components) else demand_vectors(variant, inputs)
        scores = top_candidates(variant, chosen, index.n_providers)
        metrics = metrics_from_ranks(gold_ranks(scores, gold), groups)
        print(line(f"{name} dense {dense} svm share {svm_share}", metrics), flush=True)


if __name__ == "__main__":
    grid = [
        (0.0, 0.5),
        (0.4, 0.5),
        (0.5, 0.5),
        (0.6, 0.5),
        (0.7, 0.5),
        (0.5, 0.3),
        (0.5, 0.7),
        (1.0 - 1e-9, 0.5),
    ]
    for corpus_name in sys.argv[1:] or ["demo"]:
        run(corpus_name, grid)
