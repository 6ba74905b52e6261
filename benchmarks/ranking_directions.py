"""Directions for the ranking measured on the tuning sets against the service's fusion (not kept).

Every figure is paired against the service's own fusion on the same demands (cosine 0.15, character
SVM 0.15, sentence encoder 0.7 of per-demand z-scores; ``matcher.index.fuse``), from raw component
blocks that the service's index computes (``fit_index`` over the providers with their cached chunk
vectors, ``demand_vectors``), so only the direction under test differs. Tuning sets only: the demo
demands -> societies and the csl-dev tuning split; the vectors come from ``var/e5cache.sqlite``
(``benchmarks/_vectors.py``). Directions (benchmarks/README.md, "Sentence encoder"):

* ``multinomial``: one multinomial logistic regression over every provider's documents on the fused
  feature space [cosine TF-IDF, character TF-IDF, scaled document vector]; its log-probabilities
  alone, added to the fusion, or in place of the character SVM;
* ``knn``: document-level kNN: per document the sparse cosine and the dense similarity (best chunk, or
  the document's mean vector) fused by z-scores over the documents, aggregated per provider by the mean
  of its best m documents or a soft maximum;
* ``norm``: per-demand normalisations of each component before the fusion (z over the best k, robust
  z, rank to normal scores, min-max, one global scale) and a hubness correction of the dense part;
* ``chunks``: provider documents cut at 480 characters (whole csl-dev abstracts) instead of 200;
* ``weights``: the dense weight and the character SVM's share of the sparse part on a grid;
* ``expansion``: the demand's vector moved toward its k closest chunks (dense pseudo-relevance
  feedback), and the provider's name alone encoded as a further component.

    .venv/bin/python -m benchmarks.ranking_directions blocks csl demo
    .venv/bin/python -m benchmarks.ranking_directions multinomial csl
    .venv/bin/python -m benchmarks.ranking_directions knn csl
    .venv/bin/python -m benchmarks.ranking_directions norm csl demo
    .venv/bin/python -m benchmarks.ranking_directions chunks csl
    .venv/bin/python -m benchmarks.ranking_directions weights csl demo
    .venv/bin/python -m benchmarks.ranking_directions expansion csl demo
    .venv/bin/python -m benchmarks.ranking_directions service demo csl csl-report

``service`` prints the service's own figures through ``matcher.ranking.evaluate`` (the path of ``huiqi
evaluate``: one provider index, its gate, ``top_candidates``): sparse only (no encoder), dense only
(dense weight 0.999) and fused (the defaults). ``csl-report`` is the report split: read once, for the
final figure, never tuned on.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from benchmarks import _dense, _vectors
from features.characters import character_text
from features.encoder import E5Encoder, chunk_text, demand_query_text
from features.profiles import PROVIDER
from matcher.evaluate import gold_ranks, paired_difference
from matcher.index import RankingConfig, demand_vectors, fit_index
from matcher.ranking import demand_inputs, provider_inputs
from matcher.texts import tokenizer

OUT = Path(__file__).resolve().parents[1] / "var" / "directions"
Floats = npt.NDArray[np.float64]
LOADERS = {"demo": _dense.demo_corpus, "csl": _dense.csl_corpus, "csl-report": _dense.csl_report_corpus}
SPARSE = ("qcos", "dcos", "qchar", "dchar")


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def blocks(name: str, chunk_chars: int = 200) -> None:
    """Write the service's raw component blocks, the chunk and demand vectors and per-document features
    of one tuning set to ``var/directions/<name>[-<chunk_chars>].npz`` (chunks cut at ``chunk_chars``)."""
    corpus = LOADERS[name]()
    ids, providers = provider_inputs(corpus.documents)
    store = _vectors.BenchStore()
    prefix = E5Encoder().identity.checksum
    owner, document, keys, texts, doc_owner, doc_texts = [], [], [], [], [], []
    for column, provider in enumerate(providers):
        head = f"{provider.name.strip()}：" if provider.name.strip() else ""
        for text in provider.documents:
            doc_owner.append(column)
            doc_texts.append(text)
            for chunk in chunk_text(text, chunk_chars):
                owner.append(column)
                document.append(len(doc_owner) - 1)
                texts.append(head + chunk)
                keys.append(f"{prefix}:passage:{_sha(head + chunk)}")
    found = store.get(keys)
    if len(found) < len(set(keys)):
        raise SystemExit(f"{len(set(keys)) - len(found)} chunks are not encoded yet (benchmarks._vectors)")
    queries = [demand_query_text(d.title, d.description) for d in corpus.demands]
    query_found = store.get([f"{prefix}:query:{_sha(t)}" for t in queries])
    chunked = [
        replace(p, chunks=tuple((t, found[k]) for t, k, o in zip(texts, keys, owner, strict=True) if o == c))
        for c, p in enumerate(providers)
    ]
    inputs = [
        replace(d, vector=query_found[f"{prefix}:query:{_sha(t)}"])
        for d, t in zip(demand_inputs(corpus.demands, n_jobs=1), queries, strict=True)
    ]
    index = fit_index(chunked, RankingConfig(), n_jobs=1)
    encoded = demand_vectors(index, inputs)
    raw = {"cosine": np.asarray((encoded.cosine @ index.matrix_t).toarray(), np.float32)}
    characters = None
    for component, features in zip(index.components, encoded.extra, strict=True):
        raw[component.name] = np.asarray(component.scores(features), np.float32)
        characters = getattr(component, "vectorizer", characters)
    doc_terms = tokenizer().tokenize_many(doc_texts, n_jobs=1)
    weights, terms = PROVIDER.weight_matrix([{"name": [], "text": t} for t in doc_terms])
    column = {p: i for i, p in enumerate(ids)}
    gold = np.zeros(raw["cosine"].shape, bool)
    for row, demand in enumerate(corpus.demands):
        gold[row, [column[g] for g in demand.gold]] = True
    OUT.mkdir(parents=True, exist_ok=True)
    stem = name if chunk_chars == 200 else f"{name}-{chunk_chars}"
    np.savez_compressed(
        OUT / f"{stem}.npz",
        gold=gold,
        chunk_vec=np.stack([np.frombuffer(found[k], "<f4") for k in keys]),
        chunk_owner=np.array(owner),
        chunk_doc=np.array(document),
        doc_owner=np.array(doc_owner),
        qvec=np.stack([np.frombuffer(query_found[f"{prefix}:query:{_sha(t)}"], "<f4") for t in queries]),
        **raw,
    )
    sparse = {
        "qcos": encoded.cosine,
        "dcos": index.vectorizer.transform_weights(weights, terms),
        "qchar": encoded.extra[0],
        "dchar": characters.transform([character_text(t) for t in doc_texts]) if characters else None,
    }
    for key, matrix in sparse.items():
        sp.save_npz(OUT / f"{stem}-{key}.npz", sp.csr_matrix(matrix, dtype=np.float32))


def load(stem: str) -> dict[str, object]:
    """The arrays ``blocks`` wrote."""
    data: dict[str, object] = dict(np.load(OUT / f"{stem}.npz"))
    for key in SPARSE:
        data[key] = sp.load_npz(OUT / f"{stem}-{key}.npz").tocsr()
    return data


def z(scores: npt.ArrayLike) -> Floats:
    """Per row, standardised over the providers (``matcher.index._standardise``)."""
    values = np.asarray(scores, np.float64)
    centred = values - values.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    out: Floats = np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)
    return out


def service(data: dict[str, object], transform: Callable[[npt.ArrayLike], Floats] = z) -> Floats:
    """The service's mix: cosine 0.15, character SVM 0.15, sentence encoder 0.7."""
    return (
        0.15 * transform(data["cosine"])  # type: ignore[arg-type]
        + 0.15 * transform(data["character_svm"])  # type: ignore[arg-type]
        + 0.7 * transform(data["sentence_encoder"])  # type: ignore[arg-type]
    )


def ranks(scores: Floats, gold: npt.NDArray[np.bool_]) -> Floats:
    """Rank of the best gold provider of each row (``matcher.evaluate.gold_ranks``)."""
    wanted = [frozenset(np.flatnonzero(g).tolist()) for g in gold]
    return np.asarray(gold_ranks(sp.csr_matrix(scores - scores.min() + 1.0), wanted), np.float64)


def line(label: str, found: Floats, base: Floats) -> str:
    """acc@1 / hit@5 / MRR and the paired acc@1 and hit@5 differences against ``base``."""
    diff = paired_difference(base, found)
    acc, hit = diff["acc_at_1"], diff["hit_at_5"]
    return (
        f"{label:<46} acc@1 {np.mean(found <= 1):.3f} hit@5 {np.mean(found <= 5):.3f} "
        f"MRR {np.mean(1 / found):.3f}  acc@1 {acc.value:+.3f} [{acc.interval.low:+.3f}, "
        f"{acc.interval.high:+.3f}]  hit@5 {hit.value:+.3f} "
        f"[{hit.interval.low:+.3f}, {hit.interval.high:+.3f}]"
    )


def _document_vectors(data: dict[str, object]) -> Floats:
    chunks = np.asarray(data["chunk_vec"], np.float64)
    out = np.zeros((np.asarray(data["doc_owner"]).size, chunks.shape[1]))
    np.add.at(out, np.asarray(data["chunk_doc"]), chunks)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def multinomial(name: str, settings: tuple[tuple[float, float, float, float], ...]) -> None:
    """Multinomial logistic regression on [a x cosine TF-IDF, b x character TF-IDF, s x document vector]
    of every provider document, inverse penalty C; for each (a, b, s, C)."""
    from sklearn.linear_model import LogisticRegression

    data = load(name)
    gold = np.asarray(data["gold"])
    base = ranks(service(data), gold)
    documents = _document_vectors(data)
    for a, b, s, c in settings:
        train = sp.hstack([a * data["dcos"], b * data["dchar"], sp.csr_matrix(s * documents)]).tocsr()  # type: ignore[operator]
        test = sp.hstack([a * data["qcos"], b * data["qchar"], sp.csr_matrix(s * data["qvec"])]).tocsr()  # type: ignore[operator]
        start = time.perf_counter()
        model = LogisticRegression(C=c, max_iter=300).fit(train, np.asarray(data["doc_owner"]))
        log_p = model.predict_log_proba(test)
        full = np.full(gold.shape, log_p.min() - 1.0)
        full[:, model.classes_] = log_p
        label = f"{name} multinomial a {a} b {b} s {s} C {c}"
        print(line(f"{label} alone ({time.perf_counter() - start:.0f} s)", ranks(full, gold), base))
        for weight in (0.2, 0.35, 0.5):
            mixed = (1 - weight) * service(data) + weight * z(full)
            print(line(f"  service x {1 - weight:.2f} + {weight}", ranks(mixed, gold), base))
        instead = 0.15 * z(data["cosine"]) + 0.15 * z(full) + 0.7 * z(data["sentence_encoder"])  # type: ignore[arg-type]
        print(line("  in place of the character SVM", ranks(instead, gold), base))


def _per_provider(docs: Floats, owner: npt.NDArray[np.int64], n: int, m: float, soft: bool) -> Floats:
    out = np.zeros((docs.shape[0], n))
    for provider in range(n):
        x = docs[:, owner == provider]
        if soft:
            top = x.max(axis=1, keepdims=True)
            out[:, provider] = top[:, 0] + m * np.log(np.exp((x - top) / m).mean(axis=1))
        else:
            out[:, provider] = -np.sort(-x, axis=1)[:, : min(int(m), x.shape[1])].mean(axis=1)
    return out


def knn(name: str) -> None:
    """Documents ranked by the sparse cosine and the dense similarity fused per document, then per
    provider the mean of the best m documents or a soft maximum (temperature m); alone and added."""
    data = load(name)
    gold = np.asarray(data["gold"])
    base = ranks(service(data), gold)
    owner = np.asarray(data["doc_owner"])
    per_chunk = np.asarray(data["qvec"]) @ np.asarray(data["chunk_vec"]).T
    best = np.full((gold.shape[0], owner.size), -np.inf)
    np.maximum.at(best.T, np.asarray(data["chunk_doc"]), per_chunk.T)
    views = {"best chunk": best, "document vector": np.asarray(data["qvec"]) @ _document_vectors(data).T}
    sparse_docs = z((data["qcos"] @ data["dcos"].T).toarray())  # type: ignore[operator]
    for dense_weight in (0.5, 0.7):
        for view, dense in views.items():
            fused = (1 - dense_weight) * sparse_docs + dense_weight * z(dense)
            for m, soft in ((1, False), (3, False), (5, False), (10, False), (0.3, True), (1.0, True)):
                scores = _per_provider(fused, owner, gold.shape[1], m, soft)
                label = f"{name} kNN dense {dense_weight} {view} {'soft' if soft else 'top'} {m}"
                print(line(f"{label} alone", ranks(scores, gold), base))
                for weight in (0.2, 0.35, 0.5):
                    mixed = (1 - weight) * service(data) + weight * z(scores)
                    print(line(f"  service x {1 - weight:.2f} + {weight}", ranks(mixed, gold), base))


def _z_top(k: int) -> Callable[[npt.ArrayLike], Floats]:
    def transform(scores: npt.ArrayLike) -> Floats:
        values = np.asarray(scores, np.float64)
        top = -np.sort(-values, axis=1)[:, :k]
        spread = top.std(axis=1, keepdims=True)
        return (values - top.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)

    return transform


def _robust(scores: npt.ArrayLike) -> Floats:
    values = np.asarray(scores, np.float64)
    median = np.median(values, axis=1, keepdims=True)
    mad = 1.4826 * np.median(np.abs(values - median), axis=1, keepdims=True)
    return (values - median) / np.where(mad > 0, mad, 1.0)


def _normal_scores(scores: npt.ArrayLike) -> Floats:
    from scipy.stats import norm

    values = np.asarray(scores, np.float64)
    order = np.argsort(np.argsort(-values, axis=1), axis=1) + 1
    return np.asarray(-norm.ppf(order / (values.shape[1] + 1)), np.float64)


def _min_max(scores: npt.ArrayLike) -> Floats:
    values = np.asarray(scores, np.float64)
    low, high = values.min(axis=1, keepdims=True), values.max(axis=1, keepdims=True)
    return (values - low) / np.where(high > low, high - low, 1.0)


def _global(scores: npt.ArrayLike) -> Floats:
    values = np.asarray(scores, np.float64)
    return (values - values.mean()) / values.std()


def norm(name: str) -> None:
    """Normalisations of each component before the service's weights; a hubness-corrected dense part."""
    data = load(name)
    gold = np.asarray(data["gold"])
    base = ranks(service(data), gold)
    transforms: dict[str, Callable[[npt.ArrayLike], Floats]] = {
        "z over the best 5": _z_top(5),
        "z over the best 10": _z_top(10),
        "z over the best 20": _z_top(20),
        "robust z (median, MAD)": _robust,
        "ranks as normal scores": _normal_scores,
        "min-max": _min_max,
        "one global scale": _global,
    }
    for label, transform in transforms.items():
        print(line(f"{name} {label}", ranks(service(data, transform), gold), base))
    vectors, chunk_owner = np.asarray(data["chunk_vec"]), np.asarray(data["chunk_owner"])
    centroids = np.zeros((gold.shape[1], vectors.shape[1]))
    np.add.at(centroids, chunk_owner, vectors)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    to_centroid = vectors @ centroids.T
    for k in (10, 50):
        hub = np.array([np.sort(to_centroid[chunk_owner != p, p])[-k:].mean() for p in range(gold.shape[1])])
        corrected = dict(data, sentence_encoder=np.asarray(data["sentence_encoder"]) - hub[None, :])
        print(line(f"{name} dense minus hubness (k {k})", ranks(service(corrected), gold), base))


def chunks(name: str) -> None:
    """The service's fusion with provider chunks of 480 characters against 200 (paired), and each part."""
    short, long = load(name), load(f"{name}-480")
    gold = np.asarray(short["gold"])
    base = ranks(service(short), gold)
    print(line(f"{name} chunks of 200 (service)", base, base))
    print(line(f"{name} chunks of 480, fused", ranks(service(long), gold), base))
    for label, data in (("200", short), ("480", long)):
        print(line(f"{name} chunks of {label}, dense alone", ranks(z(data["sentence_encoder"]), gold), base))


def weights(name: str) -> None:
    """The service's mix with the dense weight 0.4-0.8 and the character share 0.3-0.7 of the rest."""
    data = load(name)
    gold = np.asarray(data["gold"])
    base = ranks(service(data), gold)
    parts = [z(data[key]) for key in ("cosine", "character_svm", "sentence_encoder")]  # type: ignore[arg-type]
    for dense in (0.4, 0.5, 0.6, 0.7, 0.8):
        for character in (0.3, 0.5, 0.7):
            sparse = 1 - dense
            mixed = sparse * (1 - character) * parts[0] + sparse * character * parts[1] + dense * parts[2]
            print(line(f"{name} dense {dense} character {character}", ranks(mixed, gold), base))


def expansion(name: str) -> None:
    """Dense pseudo-relevance feedback, and the provider's name encoded alone, against the service."""
    from matcher.ranking import provider_inputs as inputs_of

    data = load(name)
    gold = np.asarray(data["gold"])
    base = ranks(service(data), gold)
    vectors, owner = np.asarray(data["chunk_vec"], np.float64), np.asarray(data["chunk_owner"])
    centroids = np.zeros((gold.shape[1], vectors.shape[1]))
    np.add.at(centroids, owner, vectors)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)

    def dense(queries: Floats) -> Floats:  # the service's centroid + closest chunk
        best = np.full((queries.shape[0], gold.shape[1]), -np.inf)
        np.maximum.at(best.T, owner, (queries @ vectors.T).T)
        return np.asarray(queries @ centroids.T + best, np.float64)

    queries = np.asarray(data["qvec"], np.float64)
    closest = np.argsort(-(queries @ vectors.T), axis=1)
    for k in (5, 10, 30):
        for beta in (0.5, 1.0, 2.0):
            moved = queries + beta * vectors[closest[:, :k]].mean(axis=1)
            moved /= np.linalg.norm(moved, axis=1, keepdims=True)
            expanded = dict(data, sentence_encoder=dense(moved))
            print(line(f"{name} dense feedback k {k} beta {beta}", ranks(service(expanded), gold), base))
    _, providers = inputs_of(LOADERS[name]().documents)
    names = [p.name.strip() for p in providers]
    for kind in ("passage", "query"):
        similarity = queries @ _vectors.cached(names, kind).astype(np.float64).T
        print(line(f"{name} name as {kind} alone", ranks(similarity, gold), base))
        for weight in (0.05, 0.1, 0.2):
            mixed = (1 - weight) * service(data) + weight * z(similarity)
            print(line(f"  service x {1 - weight:.2f} + {weight}", ranks(mixed, gold), base))


def service_figures(name: str) -> None:
    """acc@1 [95 %] / hit@5 / MRR of the service's ranking, sparse only, dense only and fused."""
    from matcher.ranking import evaluate

    corpus = LOADERS[name]()
    encoder, store = E5Encoder(), _vectors.BenchStore()
    runs = {
        "sparse only (no encoder)": (RankingConfig(), None),
        "dense only (dense weight 0.999)": (RankingConfig(dense_weight=0.999), encoder),
        "fused (the service)": (RankingConfig(), encoder),
    }
    for label, (config, chosen) in runs.items():
        found = evaluate(corpus.documents, corpus.demands, config, chosen, store)
        interval = found.intervals["acc_at_1"]
        print(
            f"{name} {label}: acc@1 {found.acc_at_1:.3f} [{interval.low:.3f}, {interval.high:.3f}] "
            f"hit@5 {found.hit_at_5:.3f} MRR {found.mrr:.3f} (n {found.n})",
            flush=True,
        )


if __name__ == "__main__":
    command, *names = sys.argv[1:]
    for corpus_name in names:
        if command == "blocks":
            blocks(corpus_name)
            if corpus_name == "csl":
                blocks(corpus_name, 480)
        elif command == "multinomial":
            multinomial(corpus_name, ((1.0, 1.0, 1.0, 10.0), (1.0, 1.0, 2.0, 10.0), (0.0, 0.0, 1.0, 10.0)))
        else:
            commands = {
                "knn": knn,
                "norm": norm,
                "chunks": chunks,
                "weights": weights,
                "expansion": expansion,
                "service": service_figures,
            }
            commands[command](corpus_name)
