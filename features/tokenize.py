"""Chinese text to terms: NFKC, traditional to simplified, jieba with domain dictionaries, stopwords.

Segmentation reproduces ``jieba.Tokenizer.lcut(text, HMM=False)`` token for token (a test checks it on
real corpora) with a leaner dynamic programme over the same dictionary: about twice as fast, and
``tokenize_many`` spreads large batches over processes. The HMM pass for unknown words is left out on
purpose: character n-grams of the vectorizer cover unknown words, and the HMM costs time.

The dictionary (jieba's default plus ``data/userdict.txt``) is built once per process and cached on
disk in the temporary directory under a content-addressed name, so later processes load it quickly.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import math
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib.util import find_spec
from multiprocessing import get_context
from pathlib import Path

import opencc

DATA_DIR = Path(__file__).resolve().parent / "data"
USERDICT = DATA_DIR / "userdict.txt"
STOPWORDS = DATA_DIR / "stopwords.txt"

# jieba 0.42's own block patterns (jieba/__init__.py: re_han_default, re_skip_default, re_eng).
_RE_HAN = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&._%\\-]+)")
_RE_SKIP = re.compile("(\r\n|\\s)")
_RE_ENG = re.compile("[a-zA-Z0-9]")
# A bare number (3, 3.5, 20%, 1-2) carries no topic; a number glued to letters (5g, 500kv, 3d) does.
_RE_NUMBER = re.compile(r"^[0-9.%+\-_&#]+$")
_RE_WORDLIKE = re.compile("[\u4e00-\u9fd5a-z0-9]")
# Inline pinyin ruby after a Chinese character, as in 協(xié): one syllable of latin letters holding at
# least one tone mark (so 钢(fe) or 型(A) stay). Applied after NFKC, which turns （） into ().
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_RE_PINYIN_RUBY = re.compile(
    f"(?<=[\u3400-\u9fff\uf900-\ufaff])\\((?=[a-zü{_TONED}]*[{_TONED}])[a-zü{_TONED}]{{1,6}}\\)",
    re.IGNORECASE,
)
# Single characters are dropped, except these: materials, elements, crops and media that name a topic.
SIGNAL_CHARS = frozenset(
    "钢铁铜铝锌锡铅镍钛锂钠钾钙镁硅碳氢氧氮磷硫氯金银煤油气水电光热声磁茶稻麦棉麻桑蚕菌酶糖酒盐药猪牛羊鸡鸭鱼虾蟹"
)
# Texts shorter than this in total are tokenized in-process: a pool costs more than it saves.
_POOL_MIN_CHARS = 200_000
_PREFIX_ONLY = 1.0


@dataclass(frozen=True)
class _Dictionary:
    """Prefix dictionary in jieba's sense: word -> frequency (0 for prefixes only), and the total."""

    freq: dict[str, int]
    total: int


def _jieba_dict_path() -> Path:
    spec = find_spec("jieba")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("jieba is not installed")
    return Path(spec.origin).parent / "dict.txt"


def _add_words(freq: dict[str, int], total: int, lines: Iterator[str]) -> int:
    """Add ``word freq`` lines the way jieba does (gen_pfdict / add_word); return the new total."""
    for line in lines:
        parts = line.strip().split(" ")
        if len(parts) < 2:
            continue
        word, count = parts[0], int(parts[1])
        freq[word] = count
        total += count
        for end in range(1, len(word)):
            freq.setdefault(word[:end], 0)
    return total


def _build_dictionary(use_userdict: bool) -> _Dictionary:
    freq: dict[str, int] = {}
    with _jieba_dict_path().open(encoding="utf-8") as f:
        total = _add_words(freq, 0, iter(f))
    if use_userdict:
        with USERDICT.open(encoding="utf-8") as f:
            total = _add_words(freq, total, iter(f))
    return _Dictionary(freq, total)


def _cache_path(use_userdict: bool) -> Path:
    digest = hashlib.sha256(_jieba_dict_path().read_bytes())
    if use_userdict:
        digest.update(USERDICT.read_bytes())
    return Path(tempfile.gettempdir()) / f"huiqi-segmenter-{digest.hexdigest()[:16]}.marshal"


def _load_dictionary(use_userdict: bool) -> _Dictionary:
    """Load from the on-disk cache, or build and write the cache atomically."""
    path = _cache_path(use_userdict)
    try:
        freq, total = marshal.loads(path.read_bytes())
        return _Dictionary(freq, total)
    except (OSError, ValueError, EOFError, TypeError):
        pass
    dictionary = _build_dictionary(use_userdict)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        partial.write_bytes(marshal.dumps((dictionary.freq, dictionary.total)))
        partial.replace(path)
    except OSError:  # a read-only temp dir only costs the next process a rebuild
        partial.unlink(missing_ok=True)
    return dictionary


class Segmenter:
    """jieba's ``cut(text, HMM=False)`` over a prefix dictionary, with the log-probabilities precomputed.

    Parameters
    ----------
    dictionary : _Dictionary
        Word frequencies including zero-frequency prefixes, and their total.
    """

    def __init__(self, dictionary: _Dictionary) -> None:
        log_total = math.log(dictionary.total)
        # One lookup per fragment: a word maps to its log-probability (< 0), a mere prefix to +1.0.
        self._table = {
            w: (math.log(f) - log_total if f else _PREFIX_ONLY) for w, f in dictionary.freq.items()
        }
        self._unknown_log_prob = math.log(1) - log_total

    def cut(self, text: str) -> list[str]:
        """Segment ``text`` exactly as ``jieba.lcut(text, HMM=False)`` with the same dictionary."""
        tokens: list[str] = []
        for block in _RE_HAN.split(text):
            if not block:
                continue
            if _RE_HAN.match(block):
                tokens.extend(self.cut_block(block))
                continue
            for piece in _RE_SKIP.split(block):
                if _RE_SKIP.match(piece):
                    tokens.append(piece)
                else:
                    tokens.extend(piece)
        return tokens

    def _best_route(self, sentence: str) -> list[int]:
        """For each start, the end (inclusive) of the word on the most probable path (jieba's ``calc``)."""
        n = len(sentence)
        score = [0.0] * (n + 1)
        end = [0] * (n + 1)
        get, unknown = self._table.get, self._unknown_log_prob
        padded = sentence + "\x00"  # no word contains NUL: the scan stops at the end without a bounds test
        for start in range(n - 1, -1, -1):
            best, best_end, stop = 0.0, -1, start
            lp = get(sentence[start])
            while lp is not None:
                # Ties go to the longer word, as max() over (score, end) tuples does in jieba.
                if lp < 0.0:
                    candidate = lp + score[stop + 1]
                    if best_end < 0 or candidate >= best:
                        best, best_end = candidate, stop
                stop += 1
                lp = get(padded[start : stop + 1])
            if best_end < 0:
                best, best_end = unknown + score[start + 1], start
            score[start], end[start] = best, best_end
        return end

    def cut_block(self, sentence: str) -> list[str]:
        """Cut one run of word characters: follow the best route, joining runs of single latin letters or
        digits (jieba's buffer)."""
        end = self._best_route(sentence)
        tokens: list[str] = []
        start, n, buffer = 0, len(sentence), ""
        while start < n:
            stop = end[start] + 1
            word = sentence[start:stop]
            if len(word) == 1 and _RE_ENG.match(word):
                buffer += word
            else:
                if buffer:
                    tokens.append(buffer)
                    buffer = ""
                tokens.append(word)
            start = stop
        if buffer:
            tokens.append(buffer)
        return tokens


_LOCK = threading.Lock()
_SEGMENTERS: dict[bool, Segmenter] = {}
_STOPWORDS: dict[bool, frozenset[str]] = {}
_CONVERTER: list[opencc.OpenCC] = []


def _segmenter(use_userdict: bool) -> Segmenter:
    """One segmenter per process and dictionary choice (forked workers inherit it)."""
    with _LOCK:
        if use_userdict not in _SEGMENTERS:
            _SEGMENTERS[use_userdict] = Segmenter(_load_dictionary(use_userdict))
        return _SEGMENTERS[use_userdict]


def _stopwords(use_stopwords: bool) -> frozenset[str]:
    with _LOCK:
        if use_stopwords not in _STOPWORDS:
            text = STOPWORDS.read_text(encoding="utf-8") if use_stopwords else ""
            _STOPWORDS[use_stopwords] = frozenset(w for w in text.splitlines() if w)
        return _STOPWORDS[use_stopwords]


def _converter() -> opencc.OpenCC:
    with _LOCK:
        if not _CONVERTER:
            _CONVERTER.append(opencc.OpenCC("t2s"))
        return _CONVERTER[0]


def strip_pinyin_ruby(text: str) -> str:
    """Drop inline pinyin annotations such as the ``(xié)`` of ``協(xié)`` (the text must be NFKC already)."""
    return _RE_PINYIN_RUBY.sub("", text)


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), inline pinyin ruby removed, traditional to simplified, lower case.

    Parameters
    ----------
    text : str
        Any user text.

    Returns
    -------
    str
        The normalised text, same meaning; ``"ＰＬＣ控制與優化"`` becomes ``"plc控制与优化"`` and
        ``"科協(xié)"`` becomes ``"科协"``.
    """
    plain = strip_pinyin_ruby(unicodedata.normalize("NFKC", text))
    return str(_converter().convert(plain)).lower()


def _keep(token: str, stopwords: frozenset[str]) -> bool:
    if len(token) == 1:
        return token in SIGNAL_CHARS
    return bool(_RE_WORDLIKE.match(token)) and not _RE_NUMBER.match(token) and token not in stopwords


class Tokenizer:
    """Text to a list of terms; picklable (only its parameters travel), deterministic.

    Parameters
    ----------
    use_domain_dictionary : bool
        Segment with the domain dictionary (THUOCL, GB/T 13745, GB/T 4754, NSFC, CAST names).
    use_stopwords : bool
        Drop the curated stopwords of ``data/stopwords.txt``.
    """

    def __init__(self, *, use_domain_dictionary: bool = True, use_stopwords: bool = True) -> None:
        self.use_domain_dictionary = use_domain_dictionary
        self.use_stopwords = use_stopwords

    def __repr__(self) -> str:
        return (
            f"Tokenizer(use_domain_dictionary={self.use_domain_dictionary}, "
            f"use_stopwords={self.use_stopwords})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    def segment(self, text: str) -> list[str]:
        """Normalise and segment, keeping every token (punctuation and spaces included)."""
        return _segmenter(self.use_domain_dictionary).cut(normalize(text))

    def __call__(self, text: str) -> list[str]:
        """Return the terms of ``text``: segmented, without stopwords, bare numbers or punctuation."""
        stopwords = _stopwords(self.use_stopwords)
        segmenter = _segmenter(self.use_domain_dictionary)
        terms: list[str] = []
        # Only word blocks can hold terms: the rest is punctuation and spaces, cut into single characters.
        for block in _RE_HAN.findall(normalize(text)):
            terms.extend(token for token in segmenter.cut_block(block) if _keep(token, stopwords))
        return terms

    def tokenize_many(
        self, texts: Sequence[str], n_jobs: int = 1, *, min_chars_for_pool: int = _POOL_MIN_CHARS
    ) -> list[list[str]]:
        """Tokenize many texts, in ``n_jobs`` processes when the batch is large enough to pay off.

        Parameters
        ----------
        texts : sequence of str
            The texts.
        n_jobs : int
            Number of processes; 1 tokenizes in this process.
        min_chars_for_pool : int
            Smaller batches are tokenized in this process: forking costs more than it saves.

        Returns
        -------
        list of list of str
            The terms of each text, in input order.
        """
        if n_jobs <= 1 or sum(map(len, texts)) < min_chars_for_pool:
            return [self(text) for text in texts]
        _segmenter(self.use_domain_dictionary)  # load before forking so workers inherit it
        _stopwords(self.use_stopwords)
        _converter()
        batches = [list(texts[i::n_jobs]) for i in range(n_jobs)]
        gc.freeze()  # keep the collector from touching (and so copying) the inherited dictionary pages
        try:
            with ProcessPoolExecutor(n_jobs - 1, mp_context=get_context("fork")) as pool:
                futures = [pool.submit(_tokenize_batch, self, batch) for batch in batches[1:]]
                results = [_tokenize_batch(self, batches[0])] + [f.result() for f in futures]
        finally:
            gc.unfreeze()
        out: list[list[str]] = [[] for _ in texts]
        for worker, result in enumerate(results):
            out[worker::n_jobs] = result
        return out


def _tokenize_batch(tokenizer: Tokenizer, texts: list[str]) -> list[list[str]]:
    return [tokenizer(text) for text in texts]
