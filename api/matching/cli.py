"""``huiqi round run``: a matching round in this process, with a progress bar."""

import json
from enum import StrEnum
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session, sessionmaker

from api.cli_errors import fail
from api.db import make_engine, make_session_factory
from api.db.models import DemandStatus
from api.errors import one_line
from api.matching import jobs, service
from api.matching.models import MatchRound, RoundStage, RoundStatus
from api.matching.pipeline import run_round
from api.matching.schemas import RoundScope
from api.settings import get_settings
from api.worker import worker_name

app = typer.Typer(help="匹配轮次：在本进程中运行一轮匹配。", no_args_is_help=True)

STAGE_LABELS = {
    RoundStage.TOKENIZE: "分词",
    RoundStage.VECTORIZE: "向量化",
    RoundStage.CANDIDATES: "候选",
    RoundStage.SOLVE: "求解",
    RoundStage.SAVE: "保存",
}


class LevelOption(StrEnum):
    """What a round matches demands to."""

    SOCIETY = "society"
    BRANCH = "branch"
    EXPERT = "expert"


def _capacities(values: list[str]) -> dict[int, int]:
    pairs = {}
    for value in values:
        provider, _, capacity = value.partition("=")
        if not (provider.isdigit() and capacity.isdigit()):
            raise typer.BadParameter(f"expected PROVIDER_ID=CAPACITY, got {value!r}", param_hint="--capacity")
        pairs[int(provider)] = int(capacity)
    return pairs


@app.command("run")
def run_command(
    level: Annotated[LevelOption, typer.Option(help="society, branch or expert")] = LevelOption.SOCIETY,
    status: Annotated[list[DemandStatus] | None, typer.Option(help="Demand status (repeatable).")] = None,
    demand_id: Annotated[list[int] | None, typer.Option(help="Only these demands (repeatable).")] = None,
    region: Annotated[str | None, typer.Option(help="Region code prefix.")] = None,
    industry: Annotated[str | None, typer.Option(help="Industry code prefix.")] = None,
    wanted: Annotated[int, typer.Option(min=1, max=10, help="Providers wanted per demand.")] = 1,
    candidates: Annotated[int, typer.Option(min=1, max=500, help="Candidates per demand.")] = 20,
    min_score: Annotated[float, typer.Option(min=0.0, max=1.0, help="Lowest score of a candidate.")] = 0.02,
    capacity: Annotated[list[str] | None, typer.Option(help="PROVIDER_ID=CAPACITY (repeatable).")] = None,
) -> None:
    """Run one matching round now, in this process, and print its outcome."""
    fields = {
        "level": level.value,
        "statuses": status or [DemandStatus.PUBLISHED],
        "demand_ids": demand_id or None,
        "region": region,
        "industry": industry,
        "wanted": wanted,
        "candidates": candidates,
        "min_score": min_score,
        "capacities": _capacities(capacity or []),
    }
    try:
        scope = RoundScope.model_validate(fields)
    except ValidationError as error:
        fail(one_line(error), code=2)  # e.g. an id or a capacity no row can have
    engine = make_engine(get_settings().database_url)
    factory = make_session_factory(engine)
    try:
        with factory.begin() as session:
            round_id = service.create_round(session, scope=scope, staff=None).id
            jobs.claim_round(session, round_id, worker_name())
        outcome = _run_with_bar(factory, round_id)
        with factory() as session:
            finished = session.get(MatchRound, round_id)
            assert finished is not None
            typer.echo(
                json.dumps(
                    {
                        "round": round_id,
                        "status": outcome.value,
                        "counts": finished.counts,
                        "timings": finished.timings,
                        "error": finished.error,
                    },
                    ensure_ascii=False,
                )
            )
    finally:
        engine.dispose()
    if outcome != RoundStatus.SUCCEEDED:
        raise typer.Exit(1)


def _run_with_bar(factory: sessionmaker[Session], round_id: int) -> RoundStatus:
    columns = (
        TextColumn("第 {task.fields[round]} 轮 {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("排队", total=100, round=round_id)

        def listen(stage: RoundStage, percent: int) -> None:
            bar.update(task, description=STAGE_LABELS[stage], completed=percent)

        return run_round(factory, round_id, listener=listen)
