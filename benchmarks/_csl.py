"""Discipline routing on csl-dev: providers P and demands D for ``huiqi evaluate``, with fixed splits.

Each of the 67 disciplines is a provider. With a fixed seed, per discipline, half of its abstracts
(rounded down) become that provider's documents and the rest become demands; demands alternate
between a tuning split (every choice of the ranking was made on it) and a report split (measured,
never tuned on). A demand's title is the first sentence of its abstract, its description the rest.

Why half: a provider then holds 13-52 documents (43 on average), about what a society's profile holds
(its branches' scopes and its experts' papers), and each demand split holds about 1,470 demands, enough
for a 95 % interval of about +-2.5 points on acc@1. A larger provider share would raise every figure
(more examples per provider) and widen the intervals; it was fixed before any tuning and not revisited.
"""

from __future__ import annotations

import csv
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from matcher.ranking import LabelledDemand, ProviderDocument

CSL = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "csl-dev" / "fewclue_csldcp_labeled.tsv"
)
SEED = 20_240_601
PROVIDER_SHARE = 0.5
# A sentence ends at a Chinese stop, or at a full stop written after a Chinese character (not 3.5).
_SENTENCE_END = re.compile(r"[。！？；]|(?<=[\u4e00-\u9fff])\.")


@dataclass(frozen=True)
class CslSplit:
    """Provider documents and the two demand splits."""

    documents: list[ProviderDocument]
    tuning: list[LabelledDemand]
    report: list[LabelledDemand]


def title_and_description(abstract: str) -> tuple[str, str]:
    """First sentence as the title, the rest as the description."""
    match = _SENTENCE_END.search(abstract)
    if match is None:
        return abstract, ""
    return abstract[: match.end()], abstract[match.end() :]


def _by_discipline() -> dict[str, list[tuple[str, str]]]:
    if not CSL.exists():
        pytest.skip(f"csl-dev is absent ({CSL})")
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with CSL.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            grouped[row["discipline"]].append((row["id"], row["abstract"]))
    return grouped


def _demands(discipline: str, rows: list[tuple[str, str]]) -> Iterator[LabelledDemand]:
    for demand_id, abstract in rows:
        title, description = title_and_description(abstract)
        yield LabelledDemand(demand_id, title, description, frozenset({discipline}))


def load_split() -> CslSplit:
    """The fixed split (same seed, same result)."""
    rng = random.Random(SEED)
    documents: list[ProviderDocument] = []
    tuning: list[LabelledDemand] = []
    report: list[LabelledDemand] = []
    for discipline, rows in sorted(_by_discipline().items()):
        rows = sorted(rows)
        rng.shuffle(rows)
        cut = int(len(rows) * PROVIDER_SHARE)
        documents += [ProviderDocument(discipline, discipline, text) for _, text in rows[:cut]]
        demands = list(_demands(discipline, rows[cut:]))
        tuning += demands[0::2]
        report += demands[1::2]
    return CslSplit(documents, tuning, report)


def write_csv(split: CslSplit, demands: list[LabelledDemand], directory: Path) -> tuple[Path, Path]:
    """Write P.csv and D.csv for ``huiqi evaluate``."""
    providers, demand_file = directory / "P.csv", directory / "D.csv"
    with providers.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "text"])
        writer.writerows([d.provider_id, d.name, d.text] for d in split.documents)
    with demand_file.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "title", "description", "gold"])
        writer.writerows([d.demand_id, d.title, d.description, "|".join(sorted(d.gold))] for d in demands)
    return providers, demand_file
