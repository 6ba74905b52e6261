"""The ``huiqi`` command line (typer). Each domain contributes its own sub-command group.

The groups are imported only when their command runs: importing all of them (the ranking pulls in
scikit-learn, the service FastAPI) made even ``huiqi --help`` take seconds.
"""

import errno
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

import typer
import typer._click as click  # typer vendors click: its groups take these classes, not click's
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import Abort, Exit, TyperException

# What typer itself turns into an exit status and a message: usage errors (2), Exit, Abort, end of input.
_TYPER_HANDLED = (Exit, Abort, TyperException, EOFError)
_DEBUG_HINT = "加 --debug（huiqi --debug 命令 …）或设置 HUIQI_DEBUG=1 重新运行可看到完整的出错位置"
_LONGEST_MESSAGE = 300


@dataclass(frozen=True)
class _Entry:
    """Where a command lives and its one-line help for the listing."""

    load: Callable[[], click.Command]
    help: str


def _group(module: str, attr: str) -> Callable[[], click.Command]:
    # get_group, not get_command: a group holding one command stays a group (`huiqi import demands`).
    return lambda: typer.main.get_group(getattr(importlib.import_module(module), attr))


def _single(module: str, attr: str, name: str) -> Callable[[], click.Command]:
    def load() -> click.Command:
        single = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
        single.command(name)(getattr(importlib.import_module(module), attr))
        return typer.main.get_command(single)

    return load


def _db_group() -> click.Command:
    from api.db.cli import app as db_app
    from api.security.backup import register_backup_commands

    register_backup_commands(db_app)
    return typer.main.get_group(db_app)


def _export_group() -> click.Command:
    from api.exports.cli import export_demands_command
    from api.providers.cli import export_app

    export_app.command("demands")(export_demands_command)
    return typer.main.get_group(export_app)


def _report_group() -> click.Command:
    from api.programmes.cli import report_app
    from api.reports.cli import report_period_command, report_round_command

    report_app.command("round")(report_round_command)
    report_app.command("period")(report_period_command)
    return typer.main.get_group(report_app)


_COMMANDS: dict[str, _Entry] = {
    "serve": _Entry(
        _single("api.serve", "serve", "serve"),
        "Run the HTTP service on the configured database (run `huiqi db upgrade` first).",
    ),
    "evaluate": _Entry(
        _single("api.evaluate_cli", "evaluate_command", "evaluate"),
        "Measure ranking quality on labelled demands (acc@1, hit@5, MRR, macro acc@1, 95% intervals).",
    ),
    "worker": _Entry(
        _single("api.worker", "worker_command", "worker"),
        "Run matching rounds queued through the API (a process separate from the API server).",
    ),
    "encode": _Entry(
        _single("api.encoding.cli", "encode_command", "encode"),
        "编码尚无句向量的需求与匹配对象文本（通常由 worker 在轮次之间完成）。",
    ),
    "db": _Entry(_db_group, "数据库结构迁移（Alembic）、备份与恢复。"),
    "staff": _Entry(_group("api.auth.cli", "app"), "工作人员账号与访问令牌。"),
    "demo": _Entry(_group("api.serve", "demo_app"), "演示：建库、载入演示数据并启动服务。"),
    "export": _Entry(_export_group, "导出数据。"),
    "import": _Entry(_group("api.imports.cli", "app"), "导入数据。"),
    "round": _Entry(_group("api.matching.cli", "app"), "匹配轮次：在本进程中运行一轮匹配。"),
    "campaign": _Entry(
        _group("api.programmes.cli", "campaign_app"), "技术需求征集活动：发起、查看进度、截止。"
    ),
    "report": _Entry(_report_group, "附件2/附件3 季度与年度报告，轮次与期间报告。"),
}


@cache
def _load(name: str) -> click.Command:
    # Every mapper must be known before the first query: a worker that imported only the matching
    # models could not resolve demands.campaign_id -> campaigns.
    importlib.import_module("api.models")
    command = _COMMANDS[name].load()
    command.name = name
    return command


class _LazyGroup(TyperGroup):
    """Lists the commands from the table above and imports one only when it is asked for."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        if self._listing:  # the help page needs names and one-line help only
            return TyperCommand(cmd_name, help=_COMMANDS[cmd_name].help)
        return _load(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        # The last resort: whatever a command did not handle becomes one line and exit status 1.
        try:
            return super().invoke(ctx)
        except _TYPER_HANDLED:
            raise
        except Exception as error:
            if _passes_through(error) or _debugging(ctx):
                raise
            typer.echo(_last_resort_line(error), err=True)
            raise typer.Exit(1) from None

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="huiqi",
    cls=_LazyGroup,
    help="会企 Huiqi: 技术需求征集、学会/专家匹配与会企协作管理。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="出错时显示完整的 Python 出错信息")] = False,
) -> None:
    """Huiqi command line."""
    ctx.meta["huiqi.debug"] = debug


def _passes_through(error: Exception) -> bool:
    # A closed pipe (`huiqi export ... | head`) is click's to handle quietly.
    return isinstance(error, OSError) and error.errno == errno.EPIPE


def _debugging(ctx: click.Context) -> bool:
    if ctx.meta.get("huiqi.debug"):
        return True
    # Read directly, not through the settings: a malformed HUIQI_* variable is one of the errors caught.
    return os.environ.get("HUIQI_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


def _last_resort_line(error: Exception) -> str:
    """One line for an error no command handled: a bad setting if it is one, else type and message."""
    from api.cli_errors import database_problem, settings_problem  # sqlalchemy: not for `huiqi --help`

    known = database_problem(error) or settings_problem(error)
    if known is not None:
        return known
    message = " ".join(str(error).split())
    if len(message) > _LONGEST_MESSAGE:
        message = message[: _LONGEST_MESSAGE - 1] + "…"
    return f"错误：{type(error).__name__}: {message}（{_DEBUG_HINT}）"
