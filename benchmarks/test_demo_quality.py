"""Ranking quality on the demo data: the labelled demo demands against the exported society profiles.

The society profiles are those ``huiqi export providers --level society --key code`` writes after
``huiqi demo load``; the demands are ``fixtures/demands/demo_demands.jsonl`` in the D format of
``huiqi evaluate`` (id,title,description,gold with gold = CAST society codes joined by ``|``). The same
demands are ranked against name-only profiles (one document per society: its name) for comparison.

    .venv/bin/pytest benchmarks/test_demo_quality.py -s         # prints the figures
    .venv/bin/python -m benchmarks.test_demo_quality var/quality # writes the CSV files, then:
    .venv/bin/huiqi evaluate --providers var/quality/providers.csv --demands var/quality/demands.csv
    .venv/bin/huiqi evaluate --providers var/quality/providers_name_only.csv --demands var/quality/demands.csv
"""

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from api.db import make_engine, make_session_factory
from api.db.migrate import upgrade
from api.evaluate_cli import evaluate, read_demands, read_providers
from api.providers.demo import load_demo_providers
from api.providers.export import export_rows, provider_codes
from api.providers.profiles import load_provider_profiles
from matcher.evaluate import Metrics

DEMANDS = Path(__file__).resolve().parents[1] / "fixtures" / "demands" / "demo_demands.jsonl"
FIGURES = ("acc_at_1", "hit_at_5", "mrr", "macro_acc_at_1")


def demand_rows() -> list[list[str]]:
    """The demo demands as D rows: id (line number), title, description, gold CAST codes."""
    rows = []
    for number, line in enumerate(DEMANDS.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            record = json.loads(line)
            rows.append(
                [str(number), record["title"], record["description"], "|".join(record["gold_societies"])]
            )
    return rows


def profile_rows(session: Session) -> list[list[str]]:
    """The exported society profiles keyed by CAST code, exactly as the CLI writes them."""
    return export_rows(load_provider_profiles(session, "society"), provider_codes(session, "society"))


def name_only_rows(rows: list[list[str]]) -> list[list[str]]:
    """One document per society: its name, nothing else."""
    names = {key: name for key, name, _text in rows}
    return [[key, name, name] for key, name in names.items()]


def write_files(directory: Path, session: Session) -> dict[str, Path]:
    """Write providers.csv, providers_name_only.csv and demands.csv into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    profiles = profile_rows(session)
    files = {
        "providers": (profiles, ("id", "name", "text")),
        "providers_name_only": (name_only_rows(profiles), ("id", "name", "text")),
        "demands": (demand_rows(), ("id", "title", "description", "gold")),
    }
    paths = {}
    for name, (rows, header) in files.items():
        paths[name] = directory / f"{name}.csv"
        with paths[name].open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return paths


def _demo_session(workdir: Path) -> Iterator[Session]:
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            load_demo_providers(session)
            yield session
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def quality_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three CSV files built from a freshly loaded demo database."""
    workdir = tmp_path_factory.mktemp("quality")
    for session in _demo_session(workdir):
        return write_files(workdir, session)
    raise AssertionError("no session")


def _measure(providers: Path, demands: Path) -> Metrics:
    documents = read_providers(providers)
    labelled = read_demands(demands, {d.provider_id for d in documents})
    return evaluate(documents, labelled)


def _line(label: str, metrics: Metrics) -> str:
    return f"{label:<12} n={metrics.n} " + " ".join(f"{f}={getattr(metrics, f):.3f}" for f in FIGURES)


def test_full_profiles_rank_far_better_than_names(quality_files: dict[str, Path]) -> None:
    full = _measure(quality_files["providers"], quality_files["demands"])
    names = _measure(quality_files["providers_name_only"], quality_files["demands"])
    print("\n" + _line("profiles", full) + "\n" + _line("name-only", names))
    assert full.n == names.n >= 300
    assert full.hit_at_5 >= 0.6
    assert full.hit_at_5 >= names.hit_at_5 + 0.2
    assert full.mrr > names.mrr


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "var/quality")
    for demo_session in _demo_session(target):
        for kind, path in write_files(target, demo_session).items():
            print(f"{kind}: {path}")
