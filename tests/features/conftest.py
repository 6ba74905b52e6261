"""Real texts from the shared reference data (skipped cleanly when it is absent)."""

import csv
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def read_tsv(relative: str) -> list[dict[str, str]]:
    """Rows of a tab-separated reference file, or skip the test when the data is not there."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"reference data {path} is absent")
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.fixture(scope="session")
def real_texts() -> list[str]:
    """Enterprise demands and scientific abstracts: 400 real texts of both registers."""
    demands = read_tsv("zj-tech-market/demands.tsv")[:200]
    abstracts = read_tsv("csl-dev/fewclue_csldcp_labeled.tsv")[:200]
    return [f"{r['title']} {r['description']}" for r in demands] + [r["abstract"] for r in abstracts]
