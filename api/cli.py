"""The ``huiqi`` command line (typer). Each domain contributes its own sub-command group."""

import typer

app = typer.Typer(
    name="huiqi",
    help="会企 Huiqi: 技术需求征集、学会/专家匹配与会企协作管理。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Huiqi command line."""
