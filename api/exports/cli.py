"""``huiqi export demands``: demands as XLSX or CSV under the 附件1 labels; the file imports back."""

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from api.cli_errors import check_writable, writing
from api.db.models import DemandStatus
from api.db.session import make_engine, make_session_factory
from api.exports.service import demand_filter, export_demands
from api.exports.tables import TableFormat
from api.settings import get_settings


def export_demands_command(
    table_format: Annotated[TableFormat, typer.Option("--format", help="输出格式")] = TableFormat.XLSX,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="输出文件；默认 需求导出-日期.格式")] = None,
    status: Annotated[list[DemandStatus] | None, typer.Option(help="状态，可重复")] = None,
    q: Annotated[str | None, typer.Option(help="在名称、说明、单位、主营业务中查找")] = None,
    region: Annotated[str | None, typer.Option(help="行政区划代码或其前缀")] = None,
    industry: Annotated[str | None, typer.Option(help="行业代码或其前缀，如 C35")] = None,
) -> None:
    """Export demands with the list route's filters; "-" as --out writes to standard output."""
    where = demand_filter(status or (), q, region, industry)
    target = out or Path(f"需求导出-{date.today():%Y%m%d}.{table_format.value}")
    if str(target) != "-":
        check_writable(target)
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine)() as session:
            # Connected before the file is created: an unreachable database leaves no empty file behind.
            session.connection()
            if str(target) == "-":
                count = export_demands(session, where, table_format, sys.stdout.buffer)
            else:
                with writing(target), target.open("wb") as stream:
                    count = export_demands(session, where, table_format, stream)
    finally:
        engine.dispose()
    typer.echo(f"导出 {count} 条需求：{target}", err=True)
