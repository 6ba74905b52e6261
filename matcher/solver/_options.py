"""Options, progress reports and cancellation of a solve."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from matcher.errors import SolveCancelled, SolverError, SolverOptionsError

__all__ = ["ProgressCallback", "SolveProgress", "SolverOptions"]


@dataclass(frozen=True)
class SolverOptions:
    """Tuning of :func:`matcher.assign`; the defaults suit every problem the service solves.

    Attributes
    ----------
    extra_candidates : int, default 8
        The pruned method starts each demand on its wanted number plus this many best candidates.
    contention : float, default 0.02
        ``method="auto"`` solves on all candidates when the start prices reject more left-out
        candidates than this many per demand (else the rejected ones join the first network).
    max_rounds : int, default 100
        Most pricing rounds of the pruned method (each adds the left-out pairs the prices reject).
    relative_tolerance : float, default 1e-11
        Slack of the certificate's reduced-cost conditions, relative to the largest affinity.
    slice_seconds : float, default 0.1
        Longest stretch of kernel and auction work between two progress reports (and chances to cancel).
    report_every : int, default 262144
        Candidates each vectorised step (validation, start, pricing) handles between two reports.
    start_eps_bits : int, default 26
        The start prices come from an auction whose bid increment is the largest affinity / 2**this.
    start_bids_per_pair : float, default 20.0
        The start auction stops after this many bids per candidate pair in all its phases.
    start_first_eps_bits : int, default 4
        On all candidates (``method="full"``, or ``"auto"`` under contention) the start auction runs
        by epsilon-scaling phases, the first with increment largest affinity / 2**this; on the
        pruned network it runs one phase at ``start_eps_bits``.
    start_eps_step_bits : int, default 4
        Each further phase divides the increment by 2**this, down to ``start_eps_bits``.
    start_backoff : int, default 4
        A further phase starts each provider's price this many old increments below the last one.
    """

    extra_candidates: int = 8
    contention: float = 0.02
    max_rounds: int = 100
    relative_tolerance: float = 1e-11
    slice_seconds: float = 0.1
    report_every: int = 1 << 18
    start_eps_bits: int = 26
    start_bids_per_pair: float = 20.0
    start_first_eps_bits: int = 4
    start_eps_step_bits: int = 4
    start_backoff: int = 4

    def __post_init__(self) -> None:
        if isinstance(self.extra_candidates, bool) or not isinstance(self.extra_candidates, int):
            raise SolverOptionsError("extra_candidates must be an int")
        if self.extra_candidates < 0:
            raise SolverOptionsError(f"extra_candidates is {self.extra_candidates}; it must be >= 0")
        if isinstance(self.max_rounds, bool) or not isinstance(self.max_rounds, int) or self.max_rounds < 1:
            raise SolverOptionsError(f"max_rounds is {self.max_rounds!r}; it must be an int >= 1")
        if not (0 < self.relative_tolerance < 1e-3):
            raise SolverOptionsError(
                f"relative_tolerance is {self.relative_tolerance}; it must be in (0, 1e-3)"
            )
        if isinstance(self.start_eps_bits, bool) or not isinstance(self.start_eps_bits, int):
            raise SolverOptionsError("start_eps_bits must be an int")
        if not 0 <= self.start_eps_bits <= 40:
            raise SolverOptionsError(f"start_eps_bits is {self.start_eps_bits}; it must be in [0, 40]")
        for name in ("start_first_eps_bits", "start_eps_step_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 40:
                raise SolverOptionsError(f"{name} is {value!r}; it must be an int in [0, 40]")
        if isinstance(self.start_backoff, bool) or not isinstance(self.start_backoff, int):
            raise SolverOptionsError("start_backoff must be an int")
        if not 0 <= self.start_backoff <= 1024:
            raise SolverOptionsError(f"start_backoff is {self.start_backoff}; it must be in [0, 1024]")
        if self.start_eps_step_bits == 0:
            raise SolverOptionsError("start_eps_step_bits is 0; it must be >= 1")
        if not self.contention >= 0:
            raise SolverOptionsError(f"contention is {self.contention}; it must be >= 0")
        if not self.start_bids_per_pair >= 0:
            raise SolverOptionsError(f"start_bids_per_pair is {self.start_bids_per_pair}; it must be >= 0")
        if isinstance(self.report_every, bool) or not isinstance(self.report_every, int):
            raise SolverOptionsError("report_every must be an int")
        if self.report_every < 1:
            raise SolverOptionsError(f"report_every is {self.report_every}; it must be >= 1")
        if not (0 < self.slice_seconds <= 0.2):
            raise SolverOptionsError(f"slice_seconds is {self.slice_seconds}; it must be in (0, 0.2]")


@dataclass(frozen=True)
class SolveProgress:
    """A progress report passed to the ``callback`` of :func:`matcher.assign`.

    Attributes
    ----------
    fraction : float
        Share of the current stage's work done, in [0, 1], or NaN when it cannot be told.
    stage : str
        ``"validate"``, ``"coverage"``, ``"start"`` (the start auction), ``"solve"``, ``"price"`` or
        ``"done"``.
    seconds : float
        Time since ``assign`` was called.
    """

    fraction: float
    stage: str
    seconds: float


ProgressCallback = Callable[[SolveProgress], "bool | None"]


class Progress:
    """Calls the user's callback; raises :class:`SolveCancelled` when it asks to stop."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.start = time.perf_counter()

    def report(self, stage: str, fraction: float = math.nan) -> None:
        if self.callback is None:
            return
        seconds = time.perf_counter() - self.start
        if self.callback(SolveProgress(fraction, stage, seconds)) is True:
            raise SolveCancelled(f"the solve was cancelled at stage {stage!r} after {seconds:.2f} s")


class SlicedKernel(Protocol):
    """What both compiled kernels offer: work in slices, the share done, flows and their check."""

    @property
    def fraction(self) -> float: ...
    def run(self, seconds: float) -> int: ...
    def flows(self) -> None: ...
    def min_reduced_cost(self) -> int: ...


def run_in_slices(kernel: SlicedKernel, slice_seconds: float, progress: Progress, name: str) -> int:
    """Run ``kernel`` slice by slice with a progress report (and a chance to cancel) after each, then
    check that its potentials certify its flow; its last status (1 done, or a negative code other
    than -1 that the caller handles)."""
    while True:
        status = kernel.run(slice_seconds)
        if status == -1:
            raise SolverError("the flow network has no feasible flow (a defect: slack arcs keep it feasible)")
        if status < 0:
            return status
        progress.report("solve", kernel.fraction)
        if status == 1:
            break
    kernel.flows()
    if kernel.min_reduced_cost() < 0:
        raise SolverError(f"the {name} potentials do not certify its flow")
    return status
