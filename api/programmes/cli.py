"""``huiqi campaign …`` and ``huiqi report …``: campaigns and the 附件2/3 reports from the command line."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.cli_errors import check_writable, fail, writing
from api.db.session import make_engine, make_session_factory
from api.errors import HuiqiError, one_line
from api.programmes import campaigns, documents, reports
from api.programmes.periods import china_today
from api.programmes.schemas import CampaignCreate, CampaignOut, Dashboard, ReportKey
from api.settings import get_settings
from api.validation import read_day

campaign_app = typer.Typer(help="技术需求征集活动：发起、查看进度、截止。", no_args_is_help=True)
report_app = typer.Typer(help="附件2/附件3 季度与年度报告。", no_args_is_help=True)
T = TypeVar("T")


@contextmanager
def _session() -> Iterator[Session]:
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def _run(action: Callable[[Session], T]) -> T:
    # Service and validation errors carry a Chinese sentence: print it and exit non-zero instead of a
    # traceback. The action validates its input itself, so a bad option is reported the same way.
    try:
        with _session() as session:
            return action(session)
    except (HuiqiError, ValidationError) as error:
        fail(one_line(error))


def _write(target: Path, content: bytes) -> None:
    with writing(target):
        target.write_bytes(content)


def _day(text: str) -> date:
    # Full-width digits (２０２６-０１-０１) are read as ASCII; an impossible date is named as such.
    try:
        return read_day(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--on") from None


@campaign_app.command("list")
def list_campaigns() -> None:
    """List campaigns: code, programme, dates, status."""
    rows = _run(lambda s: [CampaignOut.model_validate(c) for c in campaigns.list_campaigns(s)])
    for item in rows:
        typer.echo(
            f"{item.id}\t{item.code}\t{item.programme.name}\t{item.opens_on}～{item.closes_on}\t"
            f"{item.status.value}\t{item.name}"
        )


@campaign_app.command("launch")
def launch(
    code: Annotated[str, typer.Option(help="代码，如 2026-cxzx-ly")],
    name: Annotated[str, typer.Option(help="名称")],
    organiser: Annotated[str, typer.Option(help="组织单位，如 龙岩市科学技术协会")],
    closes: Annotated[str, typer.Option(help="截止日期，如 2026-06-15")],
    programme: Annotated[str, typer.Option(help="行动（项目）代码")] = "cxzx",
    opens: Annotated[str | None, typer.Option(help="开始日期，默认今天")] = None,
    region: Annotated[list[str] | None, typer.Option(help="征集地区代码，可重复")] = None,
) -> None:
    """Launch a campaign under a programme."""
    fields = {
        "code": code,
        "name": name,
        "programme": programme,
        "organiser": organiser,
        "regions": region or [],
        "opens_on": opens or china_today().isoformat(),
        "closes_on": closes,
    }

    def launch_in(session: Session) -> CampaignOut:
        payload = CampaignCreate.model_validate(fields)
        return CampaignOut.model_validate(campaigns.launch(session, payload=payload, staff=None))

    created = _run(launch_in)
    typer.echo(f"已发起征集活动 {created.id}（{created.code}），截止 {created.closes_on}")


@campaign_app.command("close")
def close(key: Annotated[str, typer.Argument(help="征集活动编号或代码")]) -> None:
    """Close a campaign now."""
    closed = _run(lambda s: CampaignOut.model_validate(campaigns.close(s, key=key, staff=None)))
    typer.echo(f"已截止：{closed.name}")


@campaign_app.command("dashboard")
def dashboard(
    key: Annotated[str, typer.Argument(help="征集活动编号或代码")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """Print a campaign's progress: received by county, by society, by day, and the late ones."""
    board = _run(lambda s: campaigns.dashboard(s, key=key))
    if as_json:
        typer.echo(board.model_dump_json(indent=2))
        return
    typer.echo("\n".join(_dashboard_lines(board)))


def _dashboard_lines(board: Dashboard) -> list[str]:
    state = "征集中" if board.accepting else "已截止"
    campaign = board.campaign
    lines = [
        f"{campaign.name}（{campaign.programme.name}）{state}，剩余{board.days_left}天，共收到{board.total}项"
    ]
    lines += ["按县（市、区）："] + [f"  {row.key}\t{row.name}\t{row.count}" for row in board.by_county]
    lines += ["按学会（汇总填报）："] + [f"  {row.name}\t{row.count}" for row in board.by_society]
    lines += ["按日："] + [f"  {row.day}\t{row.count}" for row in board.by_day]
    lines += ["补报："] + [
        f"  需求{row.demand_id}\t{row.org_name}\t{row.granted_by}：{row.reason}" for row in board.late
    ]
    return lines


class FormatOption(StrEnum):
    """Report formats."""

    JSON = "json"
    XLSX = "xlsx"
    DOCX = "docx"


@report_app.command("quarterly")
def quarterly(
    unit: Annotated[int, typer.Option(help="填报单位编号")],
    period: Annotated[str, typer.Option(help="报告期，如 2026Q3；年度 2026")],
    table: Annotated[int, typer.Option(min=2, max=3, help="2：附件2；3：附件3")],
    format_: Annotated[FormatOption, typer.Option("--format", help="json / xlsx / docx")] = FormatOption.XLSX,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="输出文件，默认按单位和报告期命名")
    ] = None,
) -> None:
    """Write a unit's 附件2 or 附件3 for a quarter or a year."""
    fields = {"unit": unit, "period": period, "table": table}
    if output is not None:
        check_writable(output)
    report = _run(lambda s: reports.build(s, key=ReportKey.model_validate(fields)))
    if format_ is FormatOption.JSON:
        content = report.model_dump_json(indent=2).encode()
    else:
        content = (documents.to_xlsx if format_ is FormatOption.XLSX else documents.to_docx)(report)
    target = output or Path(documents.file_name(report, format_.value))
    _write(target, content)
    typer.echo(f"{target}\t{len(report.rows)} 行")


@report_app.command("due")
def due(
    on: Annotated[str | None, typer.Option(help="按哪一天计算，默认今天")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """Print what falls due when and which units have not filed."""
    day = _day(on) if on else china_today()
    items = _run(lambda s: reports.due(s, on=day))
    if as_json:
        typer.echo(json.dumps([item.model_dump(mode="json") for item in items], ensure_ascii=False, indent=2))
        return
    for item in items:
        typer.echo(
            f"{item.label}\t{item.due_on}前\t{'剩' if item.days_left >= 0 else '逾期'}{abs(item.days_left)}天"
        )
        for missing in item.missing:
            typer.echo(f"  未报：{missing.name}\t附件{'、'.join(map(str, missing.tables))}")
