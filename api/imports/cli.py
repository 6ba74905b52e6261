"""``huiqi import demands FILE...``: 汇总表 spreadsheets and 附件1 Word forms, with a report beside them."""

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cli_errors import fail, os_reason
from api.db.session import make_engine, make_session_factory
from api.exports.tables import TableFormat
from api.imports.limits import ImportLimits
from api.imports.readers import ParsedFile, expand_paths, read_path
from api.imports.report import ImportMode, ImportReport
from api.imports.report_file import report_path, write_report
from api.imports.service import import_files
from api.programmes.models import Campaign
from api.security.audit import CLI_ACTOR, attach_actor
from api.settings import get_settings
from api.validation import row_id

app = typer.Typer(help="导入数据。", no_args_is_help=True)
_stderr = Console(stderr=True)
MAX_JOBS = 64


class ModeOption(StrEnum):
    """strict: one bad row refuses everything; keep-valid: valid rows are written."""

    STRICT = "strict"
    KEEP_VALID = "keep-valid"


@app.command("demands")
def import_demands(
    files: Annotated[list[Path], typer.Argument(exists=True, help=".xlsx/.csv/.docx 文件、文件夹或 .zip")],
    mode: Annotated[
        ModeOption, typer.Option(help="strict：有一行错则全部不写入；keep-valid：只写入正确的行")
    ] = (ModeOption.STRICT),
    report_format: Annotated[
        TableFormat, typer.Option("--report-format", help="报告格式")
    ] = TableFormat.XLSX,
    jobs: Annotated[
        int,
        typer.Option(
            min=1, max=MAX_JOBS, help="进程数：1 为单进程；N 时另起 N-1 个分词进程，与读取、写入同时进行"
        ),
    ] = 2,
    campaign: Annotated[
        str | None,
        typer.Option(help="征集活动编号或代码：未填征集活动编号的行都记入该活动，并按其截止规则接收"),
    ] = None,
) -> None:
    """Import demands; the report is written beside the first input; exit 1 when anything was refused."""
    paths = expand_paths(files)
    with _progress() as progress:
        parsed = _read_all(paths, progress)
        report = _import(parsed, ImportMode(mode.value.replace("-", "_")), jobs, progress, campaign)
    target = report_path(files[0], report_format)
    try:
        write_report(report, target, report_format)
    except OSError as error:  # the import itself is done: say so beside why the report is missing
        fail(f"{report.headline()}；但无法写入报告 {target}：{os_reason(error)}")
    typer.echo(f"{report.headline()}。报告：{target}")
    if report.refused:
        first = report.errors[0]
        where = f"{first.source}" + (f" 第{first.row}行" if first.row else "")
        typer.echo(
            f"导入未全部完成：{report.invalid_rows} 条被拒绝，首个问题：{where} {first.message}", err=True
        )
        raise typer.Exit(1)


def _progress() -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Redrawn on each update, not by a background thread: the tokenizer workers are forked meanwhile.
    return Progress(*columns, console=_stderr, transient=False, auto_refresh=False)


def _read_all(paths: list[Path], progress: Progress) -> Iterator[ParsedFile]:
    """Open the files one by one as the import reaches them (their rows are read lazily)."""
    task = progress.add_task("读取文件", total=len(paths))
    for path in paths:
        progress.update(task, description=f"读取 {path.name}", refresh=True)
        yield from read_path(path, ImportLimits())
        progress.advance(task)
    progress.update(task, description="读取文件", refresh=True)


def _import(
    parsed: Iterator[ParsedFile], mode: ImportMode, jobs: int, progress: Progress, campaign: str | None
) -> ImportReport:
    tasks: dict[str, TaskID] = {}

    def advance(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total, refresh=True)

    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine).begin() as session:
            attach_actor(session, CLI_ACTOR)
            campaign_id = _campaign_id(session, campaign) if campaign else None
            return import_files(
                session,
                parsed,
                mode=mode,
                limits=ImportLimits(),
                n_jobs=jobs,
                progress=advance,
                campaign_id=campaign_id,
            )
    finally:
        engine.dispose()


def _campaign_id(session: Session, campaign: str) -> int:
    """The id of the campaign named by its number or its code; exit 2 when there is none."""
    query = select(Campaign.id).where(Campaign.code == campaign.strip())
    if campaign.strip().isdigit():
        # A number beyond the key range names no campaign (and would overflow the database's integer).
        query = select(Campaign.id).where(Campaign.id == (row_id(campaign.strip()) or 0))
    found = session.scalar(query)
    if found is None:
        fail(f"找不到征集活动“{campaign}”：请填写征集活动编号或代码（huiqi campaign list 可查）", code=2)
    return found
