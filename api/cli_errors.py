"""One-line reasons for the ``huiqi`` command line: what an operator can fix, said without a traceback."""

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError

_OS_REASONS = {
    errno.ENOENT: "所在的目录不存在",
    errno.EISDIR: "是一个目录",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.EEXIST: "路径中有一段是已有的文件",
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
    errno.EROFS: "文件系统只读",
    errno.ENOSPC: "磁盘空间不足",
}


def fail(reason: str, code: int = 1) -> NoReturn:
    """Print ``reason`` as one line on standard error and exit with ``code``."""
    typer.echo(reason, err=True)
    raise typer.Exit(code)


def os_reason(error: OSError) -> str:
    """A short Chinese reason for a failed file operation (the system's words when there is none)."""
    return _OS_REASONS.get(error.errno or 0, error.strerror or str(error))


def check_writable(target: Path) -> None:
    """Exit with one line when ``target`` cannot be a new file: checked before any database work."""
    if target.is_dir():
        fail(f"错误：无法写入 {target}：是一个目录")
    if not target.parent.is_dir():
        reason = "路径中有一段不是目录" if target.parent.exists() else "所在的目录不存在"
        fail(f"错误：无法写入 {target}：{reason}")


@contextmanager
def writing(target: Path) -> Iterator[None]:
    """Report a file that cannot be written (permissions, a full disk...) as one line, exit status 1."""
    try:
        yield
    except OSError as error:
        if error.errno == errno.EPIPE:  # a closed pipe (``| head``) is handled by click itself
            raise
        fail(f"错误：无法写入 {target}：{os_reason(error)}")


def database_problem(error: BaseException) -> str | None:
    """The one-line reason for a database that cannot be used, or None when ``error`` is something else.

    A bad HUIQI_DATABASE_URL or an unreachable database comes from the operator's setting, not from a
    bug, so a traceback would only hide the reason.
    """
    if isinstance(error, ArgumentError):
        return f"错误：HUIQI_DATABASE_URL 不是有效的数据库地址（{error}）"
    if not isinstance(error, DBAPIError) or error.orig is None:
        return None
    first = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
    if "no such table" in first or ("relation" in first and "does not exist" in first):
        return f"错误：数据库还没有建表（{first}）；先运行 huiqi db upgrade"
    if "unable to open database file" in first:
        return f"错误：数据库不可用（{first}）；检查 HUIQI_DATABASE_URL 中的目录是否存在、可写"
    return f"错误：数据库不可用（{first}）"


def settings_problem(error: BaseException) -> str | None:
    """The one-line reason for an environment variable the settings refuse, or None for other errors."""
    if not isinstance(error, ValidationError) or error.title != "Settings":
        return None
    reasons = "；".join(
        f"HUIQI_{'_'.join(map(str, item['loc'])).upper()}: {item['msg']}" for item in error.errors()
    )
    return f"错误：环境变量设置有误（{reasons}）"
