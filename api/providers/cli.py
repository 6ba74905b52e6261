"""``huiqi export providers`` and ``huiqi providers import``: provider profiles and bulk import."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from api.cli_errors import check_writable, writing
from api.db.session import make_engine, make_session_factory
from api.providers.export import export_rows, provider_codes, write_csv
from api.providers.profiles import load_provider_profiles
from api.settings import get_settings

export_app = typer.Typer(help="导出数据。", no_args_is_help=True)


class LevelOption(StrEnum):
    """Provider levels the command line accepts."""

    SOCIETY = "society"
    BRANCH = "branch"
    EXPERT = "expert"


class FormatOption(StrEnum):
    """Export formats."""

    CSV = "csv"


class KeyOption(StrEnum):
    """Which identifier goes into the ``id`` column."""

    ID = "id"
    CODE = "code"


@export_app.command("providers")
def export_providers(
    level: Annotated[
        LevelOption, typer.Option(help="society 学会 / branch 分会 / expert 专家")
    ] = LevelOption.SOCIETY,
    format_: Annotated[FormatOption, typer.Option("--format", help="输出格式")] = FormatOption.CSV,
    key: Annotated[
        KeyOption, typer.Option(help="id 数据库编号 / code 学会代码等（无代码时用编号）")
    ] = KeyOption.ID,
    include_inactive: Annotated[bool, typer.Option(help="包括停用的学会、分会和专家")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="输出文件，默认标准输出")] = None,
) -> None:
    """Write provider profiles as CSV id,name,text, one row per profile document."""
    if output is not None:
        check_writable(output)  # before the profiles are read: the database work would be wasted
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine)() as session:
            profiles = load_provider_profiles(session, level.value, active_only=not include_inactive)
            codes = provider_codes(session, level.value) if key is KeyOption.CODE else None
            rows = export_rows(profiles, codes)
    finally:
        engine.dispose()
    if output is None:
        written = write_csv(rows, sys.stdout)
    else:
        with writing(output), output.open("w", encoding="utf-8", newline="") as handle:
            written = write_csv(rows, handle)
    typer.echo(f"{len(profiles)} {level.value} profiles, {written} documents", err=True)
