"""``huiqi db``: schema migrations."""

from typing import Annotated

import typer

from api.db import migrate
from api.settings import get_settings

app = typer.Typer(help="数据库结构迁移（Alembic）。", no_args_is_help=True)


@app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="目标版本，默认最新")] = "head") -> None:
    """Upgrade the configured database (HUIQI_DATABASE_URL) to REVISION."""
    url = get_settings().database_url
    migrate.upgrade(url, revision)
    typer.echo(f"database at revision {migrate.current_revision_of(url)}")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="目标版本，默认退一步；base 清空")] = "-1",
) -> None:
    """Downgrade the configured database to REVISION."""
    url = get_settings().database_url
    migrate.downgrade(url, revision)
    typer.echo(f"database at revision {migrate.current_revision_of(url) or 'base'}")


@app.command()
def current() -> None:
    """Print the revision of the configured database."""
    typer.echo(migrate.current_revision_of(get_settings().database_url) or "base")
