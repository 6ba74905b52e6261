"""The release benchmark report: figures read from pytest-benchmark JSON and judged against a baseline."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks.report import QUALITY, RATIO, SECONDS, Row

ROOT = Path(__file__).resolve().parents[2]


def bench(name: str, info: dict[str, object], median: float = 1.0, rounds: int = 1) -> dict[str, object]:
    stats = {"median": median, "min": median * 0.9, "max": median * 1.2, "rounds": rounds}
    return {"name": name, "extra_info": info, "stats": stats}


def test_old_solver_keys_and_new_keys_give_the_same_ratio_row() -> None:
    old = bench("test_assign[a]", {"ortools_s": 0.5, "ratio_vs_ortools": 2.0}, median=1.0)
    new = bench("test_assign[a]", {"ours_s": 1.0, "peer_s": 0.5, "peer_name": "OR-Tools", "spread": 0.1})
    (from_old,) = report.rows_from_json("solver", {"benchmarks": [old]})
    (from_new,) = report.rows_from_json("solver", {"benchmarks": [new]})
    assert (from_old.kind, from_old.value, from_old.peer_s, from_old.spread) == (RATIO, 2.0, 0.5, None)
    assert (from_new.kind, from_new.value, from_new.spread) == (RATIO, 2.0, 0.1)


def test_a_case_without_peer_is_seconds_and_its_spread_comes_from_its_rounds() -> None:
    (row,) = report.rows_from_json("pages", {"benchmarks": [bench("t", {}, median=2.0, rounds=5)]})
    assert (row.kind, row.value, row.counts) == (SECONDS, 2.0, False)
    assert row.spread == pytest.approx(0.3)


def test_quality_metrics_nested_with_intervals_in_either_form() -> None:
    info = {
        "fused": {"n": 333, "acc_at_1": 0.7, "intervals": {"acc_at_1": [0.65, 0.75]}},
        "mrr": 0.8,
        "mrr_ci": [0.77, 0.83],
        "objective": 3.0,
    }
    rows = report.rows_from_json("q", {"benchmarks": [bench("t", info)]}, re.compile("t"))
    quality = {r.figure: r for r in rows if r.kind == QUALITY}
    assert set(quality) == {"fused.acc_at_1", "mrr"}
    assert quality["fused.acc_at_1"].interval == (0.65, 0.75)
    assert quality["mrr"].interval == (0.77, 0.83)


def ratio(value: float, spread: float | None = None) -> Row:
    return Row("solver", "c", "ratio", RATIO, value, spread=spread)


@pytest.mark.parametrize(
    ("old", "new", "noise", "verdict"),
    [
        (1.0, 1.2, 0.0, "same"),  # within the 25 % margin
        (1.0, 1.3, 0.0, "worse"),
        (1.0, 1.3, 0.1, "same"),  # the measured noise widens the margin
        (1.0, 3.0, 0.6, "worse"),  # a solver three times as slow, on a noisy machine
        (1.0, 0.7, 0.0, "better"),
        (1.0, 0.85, 0.0, "same"),
    ],
)
def test_a_ratio_is_worse_beyond_margin_plus_noise(
    old: float, new: float, noise: float, verdict: str
) -> None:
    judged = report.judge(ratio(new), ratio(old), margin=0.25, machine_noise=noise)
    assert judged.verdict == verdict
    assert judged.baseline == old


def test_the_spread_of_either_run_widens_the_tolerance() -> None:
    judged = report.judge(ratio(1.5), ratio(1.0, spread=0.4), margin=0.25, machine_noise=0.0)
    assert (judged.verdict, judged.tolerance) == ("same", pytest.approx(0.65))


def test_quality_is_worse_below_the_baseline_interval() -> None:
    old = Row("q", "c", "acc", QUALITY, 0.7, interval=(0.65, 0.75))
    low = report.judge(replace_value(old, 0.64), old, 0.25, 0.0)
    inside = report.judge(replace_value(old, 0.66), old, 0.25, 0.0)
    assert (low.verdict, inside.verdict) == ("worse", "same")


def replace_value(row: Row, value: float) -> Row:
    return Row(row.suite, row.case, row.figure, row.kind, value, interval=row.interval)


def test_suite_verdict_and_summary_name_the_worse_case() -> None:
    worse = report.judge(ratio(3.0, spread=0.1), ratio(1.0, spread=0.1), margin=0.25, machine_noise=0.1)
    result = report.SuiteResult("solver", "Solver", 12.0, 0, [worse])
    assert result.verdict == "worse"
    assert "c ratio 1.000 -> 3.000" in report.suite_summary(result)
    assert report.SuiteResult("round", "Round", 1.0, 1, [worse]).verdict == "failed"


def test_rows_survive_the_baseline_json() -> None:
    row = Row("q", "c", "acc", QUALITY, 0.7, interval=(0.65, 0.75))
    back = report.row_from_dict(json.loads(json.dumps(report.row_to_dict(row))))
    assert back == row


def test_the_command_refuses_an_unknown_suite_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--only", "nosuch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown suite nosuch" in done.stderr


def test_the_slowed_solver_switch_refuses_a_bad_value() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/test_solver.py", "--collect-only", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HUIQI_BENCH_SLOW_SOLVER": "three"},
    )
    assert done.returncode != 0
    assert "HUIQI_BENCH_SLOW_SOLVER must be a whole number" in done.stdout + done.stderr


def test_the_slowed_solver_does_the_work_n_times_and_returns_the_same_answer() -> None:
    from benchmarks.conftest import _slowed

    calls: list[int] = []

    def solve(x: int) -> int:
        calls.append(x)
        return 2 * x

    assert _slowed(solve, 3)(5) == 10
    assert calls == [5, 5, 5]


# Changes of the 12 single-shot solver ratios between two runs of unchanged code on this 2-core machine
# (load average 11.5-12.4): one moved +130 %, the geometric mean +2 %.
UNCHANGED = [-0.274, -0.254, -0.245, -0.195, -0.165, -0.059, -0.044, -0.004, 0.102, 0.225, 0.588, 1.297]


def pooled_suite(changes: list[float]) -> report.SuiteResult:
    rows = [
        report.judge(
            Row("solver", f"c{i}", "ratio", RATIO, 1.0 + c),
            Row("solver", f"c{i}", "ratio", RATIO, 1.0),
            margin=0.25,
            machine_noise=0.9,
        )
        for i, c in enumerate(changes)
    ]
    result = report.SuiteResult("solver", "Solver", 1.0, 0, rows)
    result.pooled = report.pool(rows, margin=0.25, machine_noise=0.9)
    return result


def test_single_shot_ratios_count_together_so_one_noisy_cell_does_not_fail_the_run() -> None:
    result = pooled_suite(UNCHANGED)
    assert all(row.pooled and not row.counts for row in result.rows)
    assert result.pooled is not None
    assert result.pooled.n == 12
    assert result.verdict == "same"


def test_a_solver_three_times_as_slow_is_worse_together() -> None:
    slowed = [3 * (1 + c) - 1 for c in UNCHANGED]
    result = pooled_suite(slowed)
    assert result.verdict == "worse"
    assert "12 single-shot ratios together worse" in report.suite_summary(result)
