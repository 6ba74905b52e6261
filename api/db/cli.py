"""``huiqi db``: schema migrations."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from alembic.util.exc import CommandError

from api.cli_errors import fail
from api.db import migrate
from api.settings import get_settings

app = typer.Typer(help="数据库结构迁移（Alembic）。", no_args_is_help=True)


@contextmanager
def _reported(revision: str | None = None) -> Iterator[None]:
    # A bad or unreachable database is reported by the command line's last resort (api/cli.py).
    try:
        yield
    except CommandError as error:
        fail(f"错误：无法迁移到版本“{revision}”（{error}）；huiqi db current 显示当前版本")


@app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="目标版本，默认最新")] = "head") -> None:
    """Upgrade the configured database (HUIQI_DATABASE_URL) to REVISION."""
    url = get_settings().database_url
    with _reported(revision):
        migrate.upgrade(url, revision)
        typer.echo(f"database at revision {migrate.current_revision_of(url)}")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="目标版本，默认退一步；base 清空")] = "-1",
) -> None:
    """Downgrade the configured database to REVISION."""
    url = get_settings().database_url
    with _reported(revision):
        migrate.downgrade(url, revision)
        typer.echo(f"database at revision {migrate.current_revision_of(url) or 'base'}")


@app.command()
def current() -> None:
    """Print the revision of the configured database."""
    with _reported():
        typer.echo(migrate.current_revision_of(get_settings().database_url) or "base")
