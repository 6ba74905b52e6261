"""Terms of imported demands, computed in worker processes while the import reads and writes.

Each chunk of demands is tokenized as one batch by the features tokenizer (``tokenize_many``), each
distinct text of the chunk once (a 汇总表 repeats the company's 主营业务 and 企业概况 on every row).
``n_jobs`` counts processes, as ``tokenize_many`` does: with ``n_jobs`` > 1 the calling process reads,
checks and inserts while ``n_jobs - 1`` forked workers, kept for the whole import, tokenize the chunks,
so tokenizing chunk k overlaps with reading, validating and inserting the chunks around it; the
dictionary is loaded before the fork and frozen out of the garbage collector, so workers share its
pages instead of copying them.
"""

import gc
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from types import TracebackType
from typing import Self

from matcher.texts import DEMAND_FIELDS, DemandTokens, tokenizer

TextRecord = Mapping[str, str | None]


def tokenize_chunk(records: Sequence[TextRecord]) -> list[DemandTokens]:
    """Terms per field of each demand; every distinct text is tokenized once."""
    slots = [
        (i, name, text)
        for i, record in enumerate(records)
        for name in DEMAND_FIELDS
        if (text := record.get(name))
    ]
    distinct = list(dict.fromkeys(text for _, _, text in slots))
    terms = dict(zip(distinct, tokenizer().tokenize_many(distinct), strict=True))
    out: list[DemandTokens] = [{} for _ in records]
    for i, name, text in slots:
        out[i][name] = terms[text]
    return out


class ChunkTokenizer:
    """Tokenizes chunks in ``n_jobs - 1`` worker processes, or in this process when ``n_jobs`` is 1."""

    def __init__(self, n_jobs: int = 1) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if n_jobs > 1:
            self._pool = _start_pool(n_jobs - 1)

    def submit(self, records: Sequence[TextRecord]) -> "Future[list[DemandTokens]]":
        """The terms of ``records``, computed now (no pool) or by a worker."""
        if self._pool is not None:
            return self._pool.submit(tokenize_chunk, records)
        done: Future[list[DemandTokens]] = Future()
        done.set_result(tokenize_chunk(records))
        return done

    def close(self) -> None:
        """Stop the workers; chunks not started are dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _error: BaseException | None, _trace: TracebackType | None
    ) -> None:
        self.close()


def _start_pool(workers: int) -> ProcessPoolExecutor:
    tokenizer()("科协")  # load the dictionary, stopwords and converter before forking
    gc.freeze()  # keep the collector from touching (and so copying) the inherited dictionary pages
    try:
        pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"))
        pool.submit(len, "").result()  # fork now, while the heap is frozen
    finally:
        gc.unfreeze()
    return pool
