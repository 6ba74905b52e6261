"""Schema migrations, configured in code: no alembic.ini to keep in step with the settings."""

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from api.db.session import make_engine


def migrations_dir() -> Path:
    """Where the revisions live (the ``migrations`` package)."""
    return Path(str(files("migrations")))


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser interpolation would read a "%" of a URL-encoded password as a reference.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    """Take the schema down to ``revision`` (one step by default)."""
    command.downgrade(alembic_config(database_url), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, None when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def current_revision_of(database_url: str) -> str | None:
    """:func:`current_revision` for a URL."""
    engine = make_engine(database_url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()
