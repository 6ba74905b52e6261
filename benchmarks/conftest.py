"""Shared set-up of the benchmark suites: the load average of every case, and a test-only slowed solver.

Every benchmark case gets ``load_average`` (1 minute, after the case) in its ``extra_info`` when the
suite did not record one, so that the release report can show the load beside every figure.

``HUIQI_BENCH_SLOW_SOLVER=N`` (a whole number, at least 1) makes every call of ``matcher.assign`` solve
its problem N times and return the last result: the solver does N times its work, its answer unchanged.
It exists only to show that the release benchmarks catch a slower solver (``bash .ci/bench`` must fail
naming the solver suite); it is read here and nowhere else, and the run's machine record says it was on.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

SLOW_SOLVER_ENV = "HUIQI_BENCH_SLOW_SOLVER"


def _slow_factor() -> int:
    raw = os.environ.get(SLOW_SOLVER_ENV, "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise pytest.UsageError(f"{SLOW_SOLVER_ENV} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def _slowed(assign: Callable[..., Any], factor: int) -> Callable[..., Any]:
    @functools.wraps(assign)
    def slowed(*args: Any, **kwargs: Any) -> Any:
        for _ in range(factor - 1):
            assign(*args, **kwargs)  # the same work again: a solver `factor` times as slow
        return assign(*args, **kwargs)

    slowed.__huiqi_slowed__ = factor  # type: ignore[attr-defined]
    return slowed


def _install_slow_solver(factor: int) -> None:
    """Replace ``assign`` in ``matcher``, ``matcher.solver`` and every module that already holds it."""
    import matcher
    import matcher.solver

    original = matcher.solver.assign
    slowed = _slowed(original, factor)
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("matcher", "api", "benchmarks")):
            continue
        if getattr(module, "assign", None) is original:
            module.assign = slowed  # type: ignore[attr-defined]
    matcher.assign = slowed  # type: ignore[attr-defined]
    matcher.solver.assign = slowed  # type: ignore[attr-defined]


SLOW_FACTOR = _slow_factor()
if SLOW_FACTOR > 1:
    # At import of this conftest, before any suite imports ``assign`` by name.
    _install_slow_solver(SLOW_FACTOR)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """Record in the JSON whether the solver was slowed on purpose."""
    machine_info["slow_solver_factor"] = SLOW_FACTOR


@pytest.fixture(autouse=True)
def _record_load_average(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a benchmark case, its load average when the suite recorded none."""
    yield
    benchmark = getattr(request.node, "funcargs", {}).get("benchmark")
    if benchmark is not None:
        benchmark.extra_info.setdefault("load_average", round(os.getloadavg()[0], 2))
