"""Build ``userdict.txt`` and ``stopwords.txt`` in this folder from the reference data.

Run once at development time (the product reads only the files written here)::

    .venv/bin/python features/data/build_dictionaries.py [--shared PATH_TO_SHARED_DATA]

The output is deterministic: same inputs, same bytes. See PROVENANCE.md for sources and licences.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import jieba
import opencc

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2] / "shared" / "data"
THUOCL_DOMAINS = ("IT", "medical", "food", "car", "animal", "caijing", "law")
# A term must be a run of CJK / latin letters / digits with a few joiners (C++, 3D打印, 5G-A).
TERM = re.compile(r"^[\u4e00-\u9fd5a-z0-9][\u4e00-\u9fd5a-z0-9+#&._%\-]*$")
# The least frequency a new term gets: high enough to survive against a split into common words.
FLOOR_FREQ = 100


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


# Words the public lists drop but that carry signal in a technology demand or a profile.
KEEP = words(
    """
应用 问题 实现 技术 使用 需要 进行 研究 方法 系统 数据 主要 部分 方面 要求 具有
目前 提高 发展 设计 分析 生产 工艺 材料 控制 结构 检测 处理 管理 工程 能力 质量
安全 环境 成本 效率 服务 开发 模型 过程 产品 设备 装置 信息 网络 智能 自动 高效
新型 关键 核心 优化 改进 降低 提升 测试 试验
"""
)
# Boilerplate of demand forms and abstracts: frequent everywhere, never topical.
BOILERPLATE = words(
    """
本文 本研究 我们 笔者 文章 论文 结果表明 研究表明 表明 提出 采用 利用 通过 基于
以及 并且 同时 其中 企业 公司 有限公司 需求 合作 单位 联系人 联系电话 希望 寻求
寻找 征集
"""
)


def normalise(word: str, converter: opencc.OpenCC) -> str:
    """Normalise a dictionary entry exactly as the tokenizer normalises text."""
    return str(converter.convert(unicodedata.normalize("NFKC", word))).lower().strip()


def split_names(name: str) -> Iterator[str]:
    """Split enumerations such as ``农、林、牧、渔业`` or ``豆类、油料和薯类种植`` into usable names."""
    name = re.sub(r"[（(].*?[)）]", "", name)
    yield from (part for part in re.split(r"[、，,;；/\s]+", name) if part)


def thuocl_terms(shared: Path) -> Iterator[tuple[str, int]]:
    """THUOCL lexicons: ``word<TAB>DF`` with stray spaces."""
    for domain in THUOCL_DOMAINS:
        for line in (shared / "lexicons" / f"THUOCL_{domain}.txt").read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) == 2 and parts[1].strip().isdigit():
                yield parts[0].strip(), int(parts[1])


def standard_names(shared: Path) -> Iterator[str]:
    """Discipline, industry, NSFC code and CAST society names."""
    with (shared / "gbt13745-2009" / "gbt13745_2009_disciplines.csv").open(encoding="utf-8") as f:
        yield from (part for row in csv.DictReader(f) for part in split_names(row["name"]))
    with (shared / "gbt4754-2017" / "gbt4754_2017.csv").open(encoding="utf-8") as f:
        yield from (part for row in csv.DictReader(f) for part in split_names(row["name"]))
    with (shared / "nsfc-codes" / "nsfc.jl").open(encoding="utf-8") as f:
        yield from (part for line in f if line.strip() for part in split_names(json.loads(line)["name"]))
    with (shared / "cast-societies" / "cast_national_societies_2018.csv").open(encoding="utf-8") as f:
        yield from (row["name"].strip() for row in csv.DictReader(f))


def jieba_mixed_latin_terms() -> Iterator[str]:
    """Default-dictionary entries with latin letters (T恤, B超): text is lower-cased before segmentation."""
    with open(Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME, encoding="utf-8") as f:
        for line in f:
            word = line.split(" ")[0]
            if re.search(r"[A-Z]", word) and re.search(r"[\u4e00-\u9fd5]", word):
                yield word


def build_userdict(shared: Path) -> list[tuple[str, int]]:
    """Return sorted ``(word, freq)`` for terms that the default jieba dictionary lacks."""
    converter = opencc.OpenCC("t2s")
    segmenter = jieba.Tokenizer()
    segmenter.initialize()
    raw: list[str] = [word for word, _ in thuocl_terms(shared)]
    raw += list(standard_names(shared)) + list(jieba_mixed_latin_terms())
    entries: dict[str, int] = {}
    for word in (normalise(w, converter) for w in raw):
        if len(word) < 2 or not TERM.match(word) or word.isdigit() or segmenter.FREQ.get(word):
            continue
        entries[word] = max(FLOOR_FREQ, int(segmenter.suggest_freq(word, tune=False)))
    return sorted(entries.items())


def build_stopwords(shared: Path, userdict_words: Iterable[str]) -> list[str]:
    """The cn and hit lists (the safer ones) minus signal words and dictionary terms, plus boilerplate."""
    converter = opencc.OpenCC("t2s")
    words: set[str] = set(BOILERPLATE)
    for name in ("cn_stopwords.txt", "hit_stopwords.txt"):
        text = (shared / "stopwords" / name).read_text(encoding="utf-8")
        words.update(normalise(w, converter) for w in text.splitlines())
    words.discard("")
    return sorted(words - KEEP - set(userdict_words))


def main() -> None:
    """Write both files next to this script."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    shared = parser.parse_args().shared
    userdict = build_userdict(shared)
    (HERE / "userdict.txt").write_text("".join(f"{w} {f}\n" for w, f in userdict), encoding="utf-8")
    stopwords = build_stopwords(shared, (w for w, _ in userdict))
    (HERE / "stopwords.txt").write_text("".join(f"{w}\n" for w in stopwords), encoding="utf-8")
    print(f"userdict.txt: {len(userdict)} terms; stopwords.txt: {len(stopwords)} words")


if __name__ == "__main__":
    main()
