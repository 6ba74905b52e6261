"""``huiqi report round`` and ``huiqi report period``: the reports as HTML or XLSX files."""

import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from api.cli_errors import check_writable, writing
from api.db.session import make_engine, make_session_factory
from api.errors import HuiqiError
from api.reports import html, service, workbooks
from api.settings import get_settings
from api.validation import MAX_ROW_ID, read_day


class ReportFormat(StrEnum):
    """Report file formats."""

    HTML = "html"
    XLSX = "xlsx"


FormatOption = Annotated[ReportFormat, typer.Option("--format", help="html 或 xlsx")]
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="输出文件，默认按报告命名")]


def _report(build: Callable[[Session], service.Report]) -> service.Report:
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine).begin() as session:
            return build(session)
    except HuiqiError as error:
        details = "; ".join(f"{item.field}: {item.message}" for item in error.errors)
        typer.echo(f"错误：{error.detail}" + (f"（{details}）" if details else ""), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _write(report: service.Report, file_format: ReportFormat, out: Path | None, started: float) -> None:
    content = (
        html.render(report).encode("utf-8")
        if file_format is ReportFormat.HTML
        else workbooks.report_workbook(report)
    )
    target = out or Path(f"{service.file_stem(report)}.{file_format.value}")
    with writing(target):
        target.write_bytes(content)
    funnel = "，".join(f"{step.label} {step.demands}" for step in report.funnel)
    typer.echo(f"{target}\t{len(content):,} 字节\t{time.perf_counter() - started:.2f} 秒\n{funnel}")


def report_round_command(
    round_id: Annotated[int, typer.Argument(max=MAX_ROW_ID, help="匹配轮次编号")],
    file_format: FormatOption = ReportFormat.HTML,
    out: OutOption = None,
) -> None:
    """Write a matching round's report (funnel, load, gaps, days per stage, charts)."""
    started = time.perf_counter()
    if out is not None:
        check_writable(out)
    _write(_report(lambda s: service.round_report(s, round_id)), file_format, out, started)


def report_period_command(
    first: Annotated[str, typer.Option("--from", help="开始日期（含），如 2026-07-01")],
    last: Annotated[str, typer.Option("--to", help="结束日期（含），如 2026-09-30")],
    file_format: FormatOption = ReportFormat.HTML,
    out: OutOption = None,
) -> None:
    """Write the report of the demands collected in a period."""
    started = time.perf_counter()
    try:
        period = read_day(first, "开始日期"), read_day(last, "结束日期")
    except ValueError as error:
        typer.echo(f"错误：{error}", err=True)
        raise typer.Exit(2) from None
    if out is not None:
        check_writable(out)
    _write(_report(lambda s: service.period_report(s, *period)), file_format, out, started)
