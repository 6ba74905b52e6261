"""Fit the 匹配度 calibration on the tuning sets: P(pair is a gold pair | fused score).

The fused score is ``logistic(mixed)``, ``mixed`` the weighted mix of per-demand z-scores; the
calibrated 匹配度 is ``100 * logistic(slope * mixed + intercept)``. Slope and intercept are fitted by
logistic regression on every (demand, provider) pair of the demo demands and the csl-dev tuning split,
each set weighted equally; the reliability of the top-1 pairs is printed per set.

    .venv/bin/python -m benchmarks.calibration
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from benchmarks import _dense, _vectors
from benchmarks.dense_real_path import cached_only
from features.encoder import E5Encoder
from matcher.index import RankingConfig, demand_vectors, fit_index, top_candidates
from matcher.ranking import demand_inputs, encode_inputs, provider_inputs


def pairs(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mixed (logit of the fused score), gold flag and demand row of every scored pair."""
    corpus = {"demo": _dense.demo_corpus, "csl": _dense.csl_corpus}[name]()
    ids, providers = provider_inputs(corpus.documents)
    encoder = E5Encoder()
    inputs = demand_inputs(corpus.demands)
    if name == "csl":
        providers, _, _ = cached_only(providers, encoder)
        _, inputs = encode_inputs([], inputs, encoder, _vectors.BenchStore())
    else:
        providers, inputs = encode_inputs(providers, inputs, encoder, _vectors.BenchStore())
    index = fit_index(providers, RankingConfig())
    scores = top_candidates(index, demand_vectors(index, inputs), index.n_providers).toarray()
    column = {p: i for i, p in enumerate(ids)}
    gold = np.zeros_like(scores, dtype=bool)
    for row, demand in enumerate(corpus.demands):
        gold[row, [column[g] for g in demand.gold]] = True
    clipped = np.clip(scores, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped)), gold, scores > 0


def main() -> None:
    """Fit, then print reliability of the top-1 and top-5 pairs per set."""
    sets = {name: pairs(name) for name in ("demo", "csl")}
    xs, ys, ws = [], [], []
    for mixed, gold, scored in sets.values():
        x, y = mixed[scored], gold[scored]
        xs.append(x)
        ys.append(y)
        ws.append(np.full(x.size, 1.0 / x.size))
    model = LogisticRegression(C=1e6).fit(np.concatenate(xs)[:, None], np.concatenate(ys), np.concatenate(ws))
    slope, intercept = float(model.coef_[0, 0]), float(model.intercept_[0])
    print(f"slope {slope:.4f} intercept {intercept:.4f}")
    for name, (mixed, gold, _) in sets.items():
        calibrated = 1 / (1 + np.exp(-(slope * mixed + intercept)))
        order = np.argsort(-mixed, axis=1)
        for k in (1, 2, 5):
            rows = np.arange(mixed.shape[0])[:, None]
            picked = order[:, k - 1 : k]
            p, g = calibrated[rows, picked].ravel(), gold[rows, picked].ravel()
            print(f"{name} rank {k}: mean 匹配度 {100 * p.mean():.1f}, share gold {100 * g.mean():.1f}")
        flat_p, flat_g = calibrated.ravel(), gold.ravel()
        bins = np.digitize(flat_p, [0.1, 0.3, 0.5, 0.7, 0.9])
        for b in range(6):
            sel = bins == b
            if sel.sum():
                print(
                    f"  {name} bin {b}: n {sel.sum()}, mean 匹配度 {100 * flat_p[sel].mean():.1f}, "
                    f"gold {100 * flat_g[sel].mean():.1f}"
                )


if __name__ == "__main__":
    main()
