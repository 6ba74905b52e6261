"""Throughput of tokenization, vectorization and top-k candidates, each against its peer in the same run.

Run with ``.venv/bin/pytest benchmarks/test_features.py -s``. Texts are real (csl-dev abstracts and
zj-tech-market demands and achievements); the large candidate instance (100,000 demands x 20,000
providers) is made of them: a demand is a random half of one text, a provider three texts joined.
"""

import csv
import logging
import random
import time
from collections import Counter
from pathlib import Path

import jieba
import numpy as np
import pytest
import scipy.sparse as sp

from features.tokenize import Tokenizer
from features.vectorize import TfidfVectorizer
from matcher import RankingConfig
from matcher.candidates import rank_one, top_k

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def read(relative: str, *columns: str) -> list[str]:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"reference data {path} is absent")
    with path.open(encoding="utf-8", newline="") as f:
        return [" ".join(row[c] for c in columns) for row in csv.DictReader(f, delimiter="\t")]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return (
        read("csl-dev/fewclue_csldcp_labeled.tsv", "abstract")
        + read("zj-tech-market/demands.tsv", "title", "description")
        + read("zj-tech-market/achievements.tsv", "title", "description")
    )


@pytest.fixture(scope="module")
def tokens(texts: list[str]) -> list[list[str]]:
    return Tokenizer().tokenize_many(texts, n_jobs=2)


def report(name: str, value: float, unit: str) -> None:
    print(f"\n{name}: {value:,.3f} {unit}")


def test_tokenize_two_processes(benchmark: pytest.FixtureRequest, texts: list[str]) -> None:
    tokenizer = Tokenizer()
    tokenizer("预热")  # dictionary load is per process, not per batch
    chars = sum(map(len, texts))
    result = benchmark.pedantic(tokenizer.tokenize_many, args=(texts, 2), rounds=3, iterations=1)
    assert len(result) == len(texts)
    report("tokenize, 2 processes (M chars/s)", chars / benchmark.stats.stats.min / 1e6, "")


def test_tokenize_one_process(benchmark: pytest.FixtureRequest, texts: list[str]) -> None:
    tokenizer = Tokenizer()
    tokenizer("预热")
    chars = sum(map(len, texts))
    benchmark.pedantic(tokenizer.tokenize_many, args=(texts, 1), rounds=2, iterations=1)
    report("tokenize, 1 process (M chars/s)", chars / benchmark.stats.stats.min / 1e6, "")


def test_peer_plain_jieba_one_process(benchmark: pytest.FixtureRequest, texts: list[str]) -> None:
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    chars = sum(map(len, texts))
    benchmark.pedantic(lambda: [jieba.lcut(t) for t in texts], rounds=2, iterations=1)
    report("peer: jieba.lcut alone, 1 process (M chars/s)", chars / benchmark.stats.stats.min / 1e6, "")


def synthetic_bags(
    tokens: list[list[str]], n_demands: int, n_providers: int
) -> tuple[list[Counter], list[Counter]]:
    rng = random.Random(7)

    def demand() -> Counter:
        terms = tokens[rng.randrange(len(tokens))]
        half = max(5, len(terms) // 2)
        start = rng.randrange(max(1, len(terms) - half + 1))
        return Counter(terms[start : start + half])

    def provider() -> Counter:
        bag: Counter = Counter()
        for _ in range(3):
            bag.update(tokens[rng.randrange(len(tokens))])
        return bag

    return [demand() for _ in range(n_demands)], [provider() for _ in range(n_providers)]


def test_round_5000_by_2000_from_stored_tokens(
    benchmark: pytest.FixtureRequest, tokens: list[list[str]]
) -> None:
    demands, providers = synthetic_bags(tokens, 5000, 2000)

    def round_() -> sp.csr_matrix:
        vectorizer = TfidfVectorizer().fit(providers + demands)
        return top_k(vectorizer.transform(demands), vectorizer.transform(providers), 50)

    result = benchmark.pedantic(round_, rounds=2, iterations=1)
    assert result.shape == (5000, 2000)
    report(
        "round 5,000 x 2,000 from stored tokens: fit + transform + top-50 (s)", benchmark.stats.stats.min, ""
    )


def peak_rss_reset() -> None:
    """Reset the kernel's high-water mark of this process's resident memory (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    """The 1-minute load average of the machine (2 cores: above 2 means shared time)."""
    return Path("/proc/loadavg").read_text().split()[0]


def multiply_adds(demands: sp.csr_matrix, providers: sp.csr_matrix) -> float:
    """Cost model of the sparse product: summed over features, demand postings x provider postings."""
    n_features = demands.shape[1]
    per_demand = np.bincount(demands.indices, minlength=n_features).astype(np.float64)
    return float(per_demand @ np.bincount(providers.indices, minlength=n_features))


@pytest.fixture(scope="module")
def large_instance(tokens: list[list[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Vectors with the features the product ranks 20,000 providers with (``RankingConfig.for_scale``)."""
    config = RankingConfig().for_scale(20_000)
    demand_bags, provider_bags = synthetic_bags(tokens, 100_000, 20_000)
    vectorizer = TfidfVectorizer(
        char_weight=config.char_weight, char_ngram_range=config.char_ngram_range
    ).fit(provider_bags)
    return vectorizer.transform(demand_bags), vectorizer.transform(provider_bags)


def test_top50_100000_by_20000(
    benchmark: pytest.FixtureRequest, large_instance: tuple[sp.csr_matrix, sp.csr_matrix]
) -> None:
    demands, providers = large_instance
    peak_rss_reset()
    before, load_before, cpu_before = status_mib("VmRSS"), load_average(), time.process_time()
    result = benchmark.pedantic(top_k, args=(demands, providers, 50), rounds=1, iterations=1)
    cpu, peak = time.process_time() - cpu_before, status_mib("VmHWM")
    assert result.shape == (100_000, 20_000)
    assert (np.diff(result.indptr) <= 50).all()
    report("stored entries per demand vector", demands.nnz / demands.shape[0], "")
    report("stored entries per provider vector", providers.nnz / providers.shape[0], "")
    report("multiply-adds of the product (1e9)", multiply_adds(demands, providers) / 1e9, "")
    report("top-50, 100,000 x 20,000, 2 threads, wall (s)", benchmark.stats.stats.min, "")
    report("top-50, 100,000 x 20,000, CPU time of both threads (s)", cpu, "")
    print(f"load average before / after: {load_before} / {load_average()}")
    report("resident memory before the step (MiB)", before, "")
    report("peak resident memory during the step (MiB)", peak, "")


def test_peer_scipy_chunked_products(large_instance: tuple[sp.csr_matrix, sp.csr_matrix]) -> None:
    """The plain way on 5,000 demands (x20 for the full instance): product, dense chunk, argpartition."""
    demands, providers = large_instance
    started = time.perf_counter()
    transposed = providers.T.tocsr()
    for start in range(0, 5000, 1000):
        block = (demands[start : start + 1000] @ transposed).toarray()
        np.argpartition(-block, 49, axis=1)[:, :50]
    report("peer: scipy chunked product + argpartition, 5,000 demands (s)", time.perf_counter() - started, "")


def test_rank_one_demand_against_20000(
    benchmark: pytest.FixtureRequest, large_instance: tuple[sp.csr_matrix, sp.csr_matrix]
) -> None:
    """With the providers indexed by feature (CSC, built once), as the service keeps them."""
    demands, providers = large_instance
    index = providers.tocsc()
    rows = iter(range(10**9))
    result = benchmark.pedantic(lambda: rank_one(demands[next(rows)], index, 50), rounds=200, iterations=1)
    assert len(result[0]) == 50
    report("rank one demand against 20,000 providers, median (ms)", benchmark.stats.stats.median * 1000, "")
    print(f"load average: {load_average()}")


def test_peer_rank_one_by_provider_rows(large_instance: tuple[sp.csr_matrix, sp.csr_matrix]) -> None:
    """The same ranking reading every provider row (CSR): the cost the feature index avoids."""
    demands, providers = large_instance
    started = time.perf_counter()
    for row in range(50):
        rank_one(demands[row], providers, 50)
    report("peer: rank one demand by provider rows, mean (ms)", (time.perf_counter() - started) * 20, "")
