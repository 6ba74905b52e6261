"""The release benchmarks in one command: run the suites, compare with this machine's baseline, report.

    bash .ci/bench            # the release suite (solver grid, round, match-list latency, intake,
                              # import, ranking quality on csl-dev and the demo labels)
    bash .ci/bench --quick    # the same kinds of figures on small cases, under 5 minutes

Each suite runs in its own pytest process (pytest-benchmark JSON under ``raw/``, its output under
``logs/``); ``benchmarks.report`` reads the figures, judges them against the last saved baseline of this
machine and writes ``report.md``, ``report.json`` and ``solver_ratios.png`` into
``var/bench/<date>-<commit>/``. Exit status: 0 when no suite is worse beyond noise, 1 when one is
(named on standard error), 2 when a suite's own tests failed (also named).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import scipy.sparse as sp

from benchmarks import report
from benchmarks.report import Row, SuiteResult

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "bench"
# Set from the noise measured on this machine (see the Release benchmarks section of the README).
DEFAULT_MARGIN = 0.25
NOISE_PAIRS = 20
NOISY_SPREAD = 0.25  # a probe spread above this, or a load average above the cores, makes a run noisy
VERSIONS = ("numpy", "scipy", "scikit-learn", "ortools", "jieba", "pytest-benchmark")


@dataclass(frozen=True)
class Part:
    """A report suite: the cases of one pytest run whose names match ``cases``."""

    name: str
    title: str
    cases: str = ""


@dataclass(frozen=True)
class Invocation:
    """One pytest run: its files, its ``-k`` selection in the full and quick runs (None: left out)."""

    paths: tuple[str, ...]
    full: str | None
    quick: str | None
    parts: tuple[Part, ...]
    big: str | None = None  # added to the full selection by --big


INVOCATIONS = (
    Invocation(
        ("benchmarks/test_solver.py",),
        full="not n100000",  # the N = 100,000 cells are named big-n100000-... or n100000-...
        quick="n1000-k",
        parts=(Part("solver", "Assignment solver grid against OR-Tools"),),
        big="n100000 and k50",
    ),
    Invocation(
        ("benchmarks/test_round.py",),
        full="",
        quick="",  # the second round needs the first one's tokens
        parts=(
            Part("round", "Matching round end to end", r"round"),
            Part("latency", "Match-list latency", r"match_list|latency"),
        ),
    ),
    Invocation(
        ("benchmarks/test_intake_load.py",),
        full="",
        quick="sqlite",
        parts=(Part("intake", "Intake under load"),),
    ),
    Invocation(
        ("benchmarks/test_import.py",),
        full="",
        quick=None,
        parts=(Part("import", "Bulk import"),),
    ),
    Invocation(
        ("benchmarks/test_quality.py",),
        full="report_split",
        quick=None,
        parts=(Part("quality-csl", "Ranking quality on csl-dev"),),
    ),
    Invocation(
        ("benchmarks/test_match_quality.py", "benchmarks/test_demo_quality.py"),
        full="",
        quick="fused_ranking",
        parts=(Part("quality-demo", "Ranking quality on the demo labels"),),
    ),
)


# ------------------------------------------------------------------------------------------------
# The machine
# ------------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def machine() -> dict[str, Any]:
    """Host, CPU, cores, library versions and an id that names this machine in baselines."""
    hostname, cpu, cores = socket.gethostname(), _cpu_model(), os.cpu_count() or 1
    digest = hashlib.sha1(f"{hostname}|{cpu}|{cores}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", hostname).strip("-")[:32] or "host"
    return {
        "id": f"{slug}-{cores}c-{digest}",
        "hostname": hostname,
        "cpu_model": cpu,
        "cores": cores,
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in VERSIONS},
    }


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def load_average() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


# ------------------------------------------------------------------------------------------------
# Noise: how far a ratio of two identical workloads moves on this machine right now
# ------------------------------------------------------------------------------------------------


def _workload() -> Callable[[], object]:
    rng = np.random.default_rng(0)
    a = sp.random(6000, 8000, density=0.004, random_state=rng, format="csr")
    values = rng.random(400_000)

    def work() -> object:
        product = a @ a.T
        return np.sort(values), product.nnz

    return work


def noise_probe(pairs: int = NOISE_PAIRS) -> dict[str, Any]:
    """How far the ratio of one workload to itself moves, timed in interleaved pairs.

    ``spread`` is the inter-decile range of the pair ratios over their median (robust to the one pair
    a burst of other work lands on); ``range`` is (max - min) / median, for the record.
    """
    work = _workload()
    work()
    ratios = []
    for _ in range(pairs):
        times = []
        for _side in range(2):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        ratios.append(times[0] / times[1])
    median = statistics.median(ratios)
    deciles = statistics.quantiles(ratios, n=10)
    return {
        "pairs": pairs,
        "spread": (deciles[-1] - deciles[0]) / median,
        "range": (max(ratios) - min(ratios)) / median,
        "ratios": ratios,
    }


# ------------------------------------------------------------------------------------------------
# Running the suites
# ------------------------------------------------------------------------------------------------


def run_invocation(
    inv: Invocation, selection: str, run_dir: Path, timeout_s: int
) -> tuple[list[SuiteResult], dict[str, Any]]:
    """Run one pytest process and split its figures into the invocation's report suites."""
    stem = Path(inv.paths[0]).stem
    raw, log = run_dir / "raw" / f"{stem}.json", run_dir / "logs" / f"{stem}.log"
    junit = run_dir / "raw" / f"{stem}.xml"
    command = [sys.executable, "-m", "pytest", *inv.paths, "-q", f"--benchmark-json={raw}"]
    command += [f"--junitxml={junit}"]
    command += [f"--timeout={timeout_s}", "-W", "ignore::pytest_benchmark.logger.PytestBenchmarkWarning"]
    if selection:
        command += ["-k", selection]
    print(
        f"==> {' '.join(inv.parts[i].name for i in range(len(inv.parts)))}: pytest {' '.join(inv.paths)}"
        + (f' -k "{selection}"' if selection else ""),
        flush=True,
    )
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        returncode = subprocess.run(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode
    wall = time.perf_counter() - started
    document: dict[str, Any] = json.loads(raw.read_text(encoding="utf-8")) if raw.exists() else {}
    tail = log.read_text(encoding="utf-8").strip().splitlines()[-1:] if log.exists() else []
    failures = test_outcomes(junit, ("failure", "error")) if returncode == 1 else {}
    skipped = test_outcomes(junit, ("skipped",))
    results = []
    for part in inv.parts:
        pattern = re.compile(part.cases) if part.cases else None
        rows = report.rows_from_json(part.name, document, pattern)
        mine = {name: why for name, why in failures.items() if pattern is None or pattern.search(name)}
        code = (1 if mine else 0) if returncode == 1 else returncode
        left_out = {name: why for name, why in skipped.items() if pattern is None or pattern.search(name)}
        shown = [f"{name}: {why}" for name, why in list(mine.items())[:2]]
        more = f" and {len(mine) - 2} more" if len(mine) > 2 else ""
        note = "; ".join(shown) + more if shown else (tail[0] if tail else "")
        if left_out and not rows:
            note = f"skipped: {next(iter(left_out.values()))}"
        relative = str(log.relative_to(ROOT)) if log.is_relative_to(ROOT) else str(log)
        results.append(SuiteResult(part.name, part.title, wall, code, rows, relative, note))
    print(f"    {wall:.0f} s, pytest exit {returncode}: {tail[0] if tail else ''}", flush=True)
    return results, document.get("machine_info", {})


def test_outcomes(junit: Path, kinds: tuple[str, ...]) -> dict[str, str]:
    """Name -> first line of the message, of every test with an outcome of ``kinds`` in JUnit XML."""
    if not junit.exists():
        return {}
    found = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        for problem in (element for kind in kinds for element in case.findall(kind)):
            message = (problem.get("message") or problem.tag).strip().splitlines()
            found[case.get("name", "?")] = message[0][:200] if message else problem.tag
    return found


def _run_dir(commit: str) -> Path:
    base = OUT / f"{dt.date.today().isoformat()}-{commit or 'nocommit'}"
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    (candidate / "raw").mkdir(parents=True)
    (candidate / "logs").mkdir()
    return candidate


# ------------------------------------------------------------------------------------------------
# Baselines
# ------------------------------------------------------------------------------------------------


def baseline_path(machine_id: str, selection: str) -> Path:
    """Where this machine's baseline of the quick or full selection lives."""
    return OUT / "baselines" / f"{machine_id}-{selection}.json"


def read_baseline(path: Path) -> dict[str, dict[str, Any]]:
    """Per suite: the run its baseline comes from and its rows (empty when there is none)."""
    if not path.exists():
        return {}
    suites: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8")).get("suites", {})
    for entry in suites.values():
        entry["rows"] = [report.row_from_dict(row) for row in entry.get("rows", [])]
    return suites


def baseline_rows(suites: dict[str, dict[str, Any]]) -> dict[str, Row]:
    """Every baseline row by key."""
    return report.row_index(row for entry in suites.values() for row in entry["rows"])


def _plain(row: Row) -> dict[str, Any]:
    """A row as a baseline keeps it: the figures, not their comparison."""
    kept = Row(row.suite, row.case, row.figure, row.kind, row.value, row.ours_s, row.peer_s, row.peer_name)
    return report.row_to_dict(
        replace(kept, spread=row.spread, interval=row.interval, load_average=row.load_average)
    )


def save_baseline(path: Path, suites: dict[str, dict[str, Any]], machine_info: dict[str, Any]) -> None:
    """Write the baseline of every suite (rows as plain figures) with the machine it was measured on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = {
        name: {**{k: v for k, v in entry.items() if k != "rows"}, "rows": [_plain(r) for r in entry["rows"]]}
        for name, entry in suites.items()
    }
    report.write_json(path, {"machine": machine_info, "suites": plain})


def update_baseline(
    path: Path, old: dict[str, dict[str, Any]], run: dict[str, Any], results: list[SuiteResult], asked: bool
) -> list[str]:
    """Save the suites that may become baseline; one line per suite saying what was done and why.

    A suite becomes baseline when the machine has none for it, or when asked (``--save-baseline``);
    never when its tests failed, and not when it is worse unless asked. A noisy run is saved with its
    reason, which every later report compared with it repeats.
    """
    suites, lines = dict(old), []
    noisy = run["noisy_reason"]
    for result in results:
        if result.verdict == "failed" or not result.rows:
            lines.append(f"{result.name}: baseline left as it was (its tests failed or it recorded nothing)")
            continue
        if result.name in old and not asked:
            lines.append(f"{result.name}: baseline kept (from {old[result.name].get('run')})")
            continue
        if result.verdict == report.WORSE and not asked:
            lines.append(f"{result.name}: baseline left as it was (worse; --save-baseline accepts it)")
            continue
        suites[result.name] = {
            "run": run["run"],
            "commit": run["commit"],
            "started": run["started"],
            "noisy_reason": noisy,
            "noise": run["noise"]["spread"],
            "rows": result.rows,
        }
        why = "as asked" if asked else "first run of this suite on this machine"
        lines.append(
            f"{result.name}: baseline saved ({why})" + (f", FROM A NOISY RUN: {noisy}" if noisy else "")
        )
    if suites != old:
        save_baseline(path, suites, run["machine"])
    return lines


# ------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="bash .ci/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small cases, under 5 minutes")
    parser.add_argument(
        "--big", action="store_true", help="full run: add the N = 100,000 cells of the solver grid (slow)"
    )
    parser.add_argument("--only", nargs="+", metavar="SUITE", help="run only these report suites")
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_MARGIN,
        help=f"allowed growth of a ratio beyond the measured noise (default {DEFAULT_MARGIN})",
    )
    parser.add_argument(
        "--save-baseline",
        action="store_true",
        help="make this run the machine's baseline (refused when a suite's tests failed)",
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one benchmark case may take")
    options = parser.parse_args(argv)
    if not 0 <= options.margin < 10:
        parser.error("--margin must be between 0 and 10 (0.25 means 25 %)")
    known = {part.name for inv in INVOCATIONS for part in inv.parts}
    unknown = set(options.only or ()) - known
    if unknown:
        parser.error(f"unknown suite {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return options


def _noisy_reason(info: dict[str, Any], noise: dict[str, Any]) -> str:
    cores, worst = info["cores"], max(info["load_before"], info["load_after"])
    reasons = []
    if worst > cores:
        reasons.append(f"load average {worst} on {cores} cores")
    if noise["spread"] > NOISY_SPREAD:
        reasons.append(f"noise probe spread {100 * noise['spread']:.0f} % (> {100 * NOISY_SPREAD:.0f} %)")
    return "; ".join(reasons)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selection, write the report, decide the exit status."""
    options = parse(sys.argv[1:] if argv is None else argv)
    selection = "quick" if options.quick else "full"
    started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
    commit = _git("rev-parse", "--short", "HEAD")
    info = machine()
    info["load_before"] = load_average()
    run_dir = _run_dir(commit)
    print(
        f"==> release benchmarks ({selection}) into {run_dir.relative_to(ROOT)}; "
        f"load average {info['load_before']} on {info['cores']} cores",
        flush=True,
    )
    before = noise_probe()
    results: list[SuiteResult] = []
    for inv in INVOCATIONS:
        chosen = inv.quick if options.quick else inv.full
        if chosen is not None and inv.big and options.big and not options.quick:
            chosen = f"({chosen}) or ({inv.big})" if chosen else ""
        wanted = [p for p in inv.parts if not options.only or p.name in options.only]
        if chosen is None or not wanted:
            continue
        found, bench_machine = run_invocation(inv, chosen, run_dir, options.timeout)
        factor = int(bench_machine.get("slow_solver_factor", 1))
        info["slow_solver_factor"] = max(factor, info.get("slow_solver_factor", 1))
        results += [r for r in found if r.name in {p.name for p in wanted}]
    after = noise_probe()
    info["load_after"] = load_average()
    noise = {
        "pairs": 2 * NOISE_PAIRS,
        "before": before["spread"],
        "after": after["spread"],
        "spread": max(before["spread"], after["spread"]),
        "range": max(before["range"], after["range"]),
    }
    baseline_file = baseline_path(info["id"], selection)
    old = read_baseline(baseline_file)
    old_rows = baseline_rows(old)
    for result in results:
        result.rows = report.compare(result.rows, old_rows, options.margin, noise["spread"])
        result.pooled = report.pool(result.rows, options.margin, noise["spread"])
    failed = [r.name for r in results if r.verdict == "failed"]
    worse = [r.name for r in results if r.verdict == report.WORSE]
    verdict = "FAILED" if failed else "WORSE" if worse else "PASS"
    run: dict[str, Any] = {
        "run": run_dir.name,
        "command": "bash .ci/bench"
        + (" --quick" if options.quick else "")
        + (f" --only {' '.join(options.only)}" if options.only else ""),
        "selection": selection,
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "machine": info,
        "noise": noise,
        "margin": options.margin,
        "noisy_reason": _noisy_reason(info, noise),
        "baseline": {
            "file": str(baseline_file.relative_to(ROOT)),
            "suites": {name: {k: v for k, v in entry.items() if k != "rows"} for name, entry in old.items()},
        },
        "wall_s": time.perf_counter() - clock,
        "verdict": verdict,
    }
    all_rows = [row for r in results for row in r.rows]
    chart = (
        "solver_ratios.png"
        if report.solver_chart([r for r in all_rows if r.suite == "solver"], run_dir / "solver_ratios.png")
        else None
    )
    if options.only and not options.save_baseline:
        notes = ["baseline left as it was (a partial run, --only; --save-baseline saves its suites)"]
    else:
        notes = update_baseline(baseline_file, old, run, results, options.save_baseline)
    message = "\n".join(notes)
    run["baseline_note"] = notes
    text = report.markdown(run, results, chart) + f"\n{message}\n"
    (run_dir / "report.md").write_text(text, encoding="utf-8")
    report.write_json(
        run_dir / "report.json",
        {
            **run,
            "suites": [
                {
                    "name": r.name,
                    "title": r.title,
                    "verdict": r.verdict,
                    "wall_s": r.wall_s,
                    "pytest_exit": r.returncode,
                    "log": r.log,
                    "summary": report.suite_summary(r),
                    "rows": [report.row_to_dict(row) for row in r.rows],
                }
                for r in results
            ],
        },
    )
    print("\n" + "\n".join(report.suite_summary(r) for r in results))
    print(
        f"\n{message}\nreport: {(run_dir / 'report.md').relative_to(ROOT)} "
        f"(wall {run['wall_s']:.0f} s, load {info['load_before']} -> {info['load_after']}, "
        f"noise probe {100 * noise['spread']:.0f} %, margin {100 * options.margin:.0f} %)"
    )
    if worse:
        print(f"benchmarks worse than the baseline beyond noise: {', '.join(worse)}", file=sys.stderr)
    if failed:
        print(f"benchmarks failed: the tests of {', '.join(failed)} failed (see their logs)", file=sys.stderr)
    return 2 if failed else 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
