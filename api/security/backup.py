"""Backup and restore of the configured database: ``huiqi db backup PATH`` / ``huiqi db restore PATH``.

* SQLite: a consistent copy through SQLite's online backup API (safe while the service runs);
  restore first checks the backup (``PRAGMA integrity_check`` and the migrations' version table), keeps
  the current database as ``<name>.before-restore-<time>``, then copies the backup in, page by page, in
  one step.
* PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists --single-transaction``
  from Debian's ``postgresql-client`` (same major version as the server or newer). The password goes
  to the tools through ``PGPASSWORD``, never on the command line.

Restore replaces everything in the target database with the backup's content: stop the API and
the worker first.
"""

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Annotated, Final

import typer
from sqlalchemy.engine import URL, make_url

from api.db.base import utcnow
from api.settings import get_settings

SQLITE_MAGIC: Final = b"SQLite format 3\x00"
PG_DUMP_MAGIC: Final = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why."""


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("内存中的 SQLite 数据库无法备份")
    return Path(url.database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for the command line tools, and the environment carrying the password."""
    plain = url.set(drivername="postgresql", password=None)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"找不到 {name}：请安装 Debian 的 postgresql-client（apt-get install postgresql-client）"
        )
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} 失败：{done.stderr.strip()[-2000:]}")


def backup(database_url: str, target: Path) -> Path:
    """Write a backup of the database at ``database_url`` to ``target``; returns ``target``."""
    url = make_url(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(_sqlite_path(url), partial)
    elif url.get_backend_name() == "postgresql":
        uri, env = _libpq(url)
        _run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}", uri],
            env,
        )
    else:
        raise BackupError(f"不支持的数据库：{url.get_backend_name()}")
    # Written under another name and renamed: a crash mid-backup never leaves a truncated PATH.
    partial.replace(target)
    return target


def restore(database_url: str, source: Path) -> Path | None:
    """Replace the content of the database at ``database_url`` with the backup at ``source``.

    Returns where the previous SQLite database was kept (None for PostgreSQL, whose restore is one
    transaction, or when there was no previous file).
    """
    url = make_url(database_url)
    kind = _backup_kind(source)
    if url.get_backend_name() == "sqlite":
        if kind != "sqlite":
            raise BackupError(f"{source} 不是 SQLite 备份，不能恢复到 SQLite 数据库")
        return _sqlite_restore(source, _sqlite_path(url))
    if url.get_backend_name() == "postgresql":
        if kind != "postgresql":
            raise BackupError(f"{source} 不是 pg_dump 备份，不能恢复到 PostgreSQL 数据库")
        uri, env = _libpq(url)
        options = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction"]
        _run([_tool("pg_restore"), *options, f"--dbname={uri}", str(source)], env)
    else:
        raise BackupError(f"不支持的数据库：{url.get_backend_name()}")
    return None


def _sqlite_restore(source: Path, target: Path) -> Path | None:
    check_sqlite_backup(source)
    kept = None
    if target.is_file():
        kept = target.with_name(f"{target.name}.before-restore-{utcnow():%Y%m%dT%H%M%SZ}")
        _sqlite_copy(target, kept)
    _sqlite_copy(source, target)
    return kept


def check_sqlite_backup(source: Path) -> None:
    """Refuse a SQLite file that fails ``PRAGMA integrity_check`` or is not a Huiqi database."""
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as connection:
            problems = [row[0] for row in connection.execute("PRAGMA integrity_check(5)")]
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as error:
        raise BackupError(f"备份 {source} 已损坏，无法读取（{error}）；数据库未被改动") from None
    if problems != ["ok"]:
        detail = "；".join(problems)
        raise BackupError(f"备份 {source} 未通过完整性检查（{detail}）；数据库未被改动")
    if "alembic_version" not in tables:
        raise BackupError(f"{source} 不是会企的数据库备份（缺少迁移版本表）；数据库未被改动")


def _backup_kind(source: Path) -> str:
    if not source.is_file():
        raise BackupError(f"找不到备份文件 {source}")
    with source.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{source} 既不是 SQLite 数据库也不是 pg_dump 自定义格式备份")


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"找不到 SQLite 数据库 {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as reader, sqlite3.connect(target) as writer:
        # The online backup API copies a consistent snapshot even while others write to the source.
        reader.backup(writer)
    reader.close()
    writer.close()


def backup_command(path: Annotated[Path, typer.Argument(help="备份文件路径")]) -> None:
    """Back up the configured database (HUIQI_DATABASE_URL) to PATH."""
    try:
        written = backup(get_settings().database_url, path)
    except BackupError as error:
        raise typer.BadParameter(str(error), param_hint="PATH") from None
    typer.echo(f"backup written to {written} ({written.stat().st_size} bytes)")


def restore_command(
    path: Annotated[Path, typer.Argument(help="由 huiqi db backup 写出的备份文件")],
    yes: Annotated[bool, typer.Option("--yes", help="不再确认，直接覆盖")] = False,
) -> None:
    """Replace the configured database's content with the backup at PATH (stop the service first)."""
    url = get_settings().database_url
    if not yes:
        typer.confirm(f"用 {path} 覆盖 {make_url(url).render_as_string()} 的全部数据？", abort=True)
    try:
        kept = restore(url, path)
    except BackupError as error:
        raise typer.BadParameter(str(error), param_hint="PATH") from None
    if kept is not None:
        typer.echo(f"previous database kept as {kept}")
    typer.echo(f"database restored from {path}")


def register_backup_commands(db_app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the ``huiqi db`` command group."""
    db_app.command("backup")(backup_command)
    db_app.command("restore")(restore_command)
