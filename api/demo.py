"""Demo data: a list of loader steps, each filling one part of an empty database.

Other domains append their own step to :data:`DEMO_STEPS` (e.g. providers) with
:func:`register_demo_step`; ``huiqi demo load`` and ``huiqi demo serve`` run them in order.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Demand
from api.demands.schemas import DemandCreate
from api.demands.service import submit
from api.demo_context import DemoContext as DemoContext
from api.programmes.demo import load_demo_programmes
from api.providers.demo import load_demo_providers


@dataclass(frozen=True, slots=True)
class DemoStep:
    """One loader: ``load`` returns how many records it added."""

    name: str
    load: Callable[[Session, DemoContext], int]


DEMO_STEPS: list[DemoStep] = []
DEMO_DEMANDS = "demands/demo_demands.jsonl"


def register_demo_step(step: DemoStep) -> DemoStep:
    """Append a loader step (once) to the demo data."""
    if all(existing.name != step.name for existing in DEMO_STEPS):
        DEMO_STEPS.append(step)
    return step


def run_demo_steps(session: Session, context: DemoContext) -> dict[str, int]:
    """Run every step in order; returns records added per step."""
    return {step.name: step.load(session, context) for step in DEMO_STEPS}


def _fixture(relative_path: str) -> Traversable:
    node = files("fixtures")
    for part in relative_path.split("/"):
        node = node.joinpath(part)
    return node


def _demo_records() -> Iterator[tuple[int, dict[str, object]]]:
    resource = _fixture(DEMO_DEMANDS)
    if not resource.is_file():
        return
    for line_number, line in enumerate(resource.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            record = json.loads(line)
            # gold_* fields are evaluation labels, not part of a submission.
            yield line_number, {key: value for key, value in record.items() if not key.startswith("gold_")}


def load_demo_demands(session: Session, context: DemoContext) -> int:
    """Submit the demo demands through the intake service, unless demands exist already."""
    if session.scalar(select(func.count()).select_from(Demand)):
        return 0
    added = 0
    for line_number, record in _demo_records():
        try:
            payload = DemandCreate.model_validate(record)
        except ValidationError as error:
            context.report(f"{DEMO_DEMANDS}:{line_number} skipped: {error.error_count()} invalid field(s)")
            continue
        submit(session, payload=payload, secret=context.secret, idempotency_key=f"demo:{line_number}")
        added += 1
    return added


register_demo_step(DemoStep("providers", load_demo_providers))
register_demo_step(DemoStep("demands", load_demo_demands))
register_demo_step(DemoStep("programmes", load_demo_programmes))
