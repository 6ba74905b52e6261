"""The ``huiqi`` command line (typer). Each domain contributes its own sub-command group."""

import typer

from api.auth.cli import app as staff_app
from api.db.cli import app as db_app
from api.evaluate_cli import evaluate_command
from api.exports.cli import export_demands_command
from api.imports.cli import app as import_app
from api.matching.cli import app as round_app
from api.programmes.cli import campaign_app, report_app
from api.providers.cli import export_app
from api.reports.cli import report_period_command, report_round_command
from api.security.backup import register_backup_commands
from api.serve import demo_app, serve
from api.worker import worker_command

app = typer.Typer(
    name="huiqi",
    help="会企 Huiqi: 技术需求征集、学会/专家匹配与会企协作管理。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Huiqi command line."""


app.add_typer(db_app, name="db")
register_backup_commands(db_app)
app.add_typer(staff_app, name="staff")
app.add_typer(demo_app, name="demo")
app.command("serve")(serve)
app.command("evaluate")(evaluate_command)
app.add_typer(export_app, name="export")
export_app.command("demands")(export_demands_command)
app.add_typer(import_app, name="import")
app.add_typer(round_app, name="round")
app.command("worker")(worker_command)
app.add_typer(campaign_app, name="campaign")
app.add_typer(report_app, name="report")
report_app.command("round")(report_round_command)
report_app.command("period")(report_period_command)
