"""``huiqi serve`` and ``huiqi demo``: run the service, with or without demo data."""

import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from sqlalchemy import select
from sqlalchemy.exc import ArgumentError, DBAPIError

from api.auth.passwords import set_password
from api.auth.service import create_staff
from api.auth.tokens import resolve_secret
from api.cli_errors import database_problem, fail
from api.db import StaffRole, StaffUser, make_engine, make_session_factory
from api.db.migrate import current_revision_of, upgrade
from api.demo import DemoContext, run_demo_steps
from api.settings import Settings, get_settings

DEMO_STAFF_NAME = "演示管理员"
DEMO_ACCOUNT = "demo"

demo_app = typer.Typer(help="演示：建库、载入演示数据并启动服务。", no_args_is_help=True)

Host = Annotated[str, typer.Option(help="监听地址")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="监听端口（1～65535）")]
Workers = Annotated[int, typer.Option(min=1, max=64, help="工作进程数")]
WithWorker = Annotated[
    bool, typer.Option("--with-worker", help="同时启动一个后台匹配进程（huiqi worker），随服务一起退出")
]
WORKER_POLL_SECONDS = "1"


def serve(
    host: Host = "127.0.0.1", port: Port = 8000, workers: Workers = 1, with_worker: WithWorker = False
) -> None:
    """Run the HTTP service on the configured database (run `huiqi db upgrade` first)."""
    check_listening(host, port)
    check_database(get_settings().database_url)
    with matching_worker(with_worker):
        uvicorn.run(
            "api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
        )


def worker_command_line() -> list[str]:
    """How to start ``huiqi worker`` from this interpreter's installation."""
    beside = Path(sys.executable).parent / "huiqi"
    found = str(beside) if beside.exists() else shutil.which("huiqi")
    if found is None:
        fail("错误：找不到 huiqi 命令，无法启动后台匹配进程")
    return [found, "worker", "--poll", WORKER_POLL_SECONDS]


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@contextmanager
def matching_worker(wanted: bool) -> Iterator[subprocess.Popen[bytes] | None]:
    """Run ``huiqi worker`` as a child process while the block runs (nothing when not wanted)."""
    if not wanted:
        yield None
        return
    # A process of its own: a round's numerics must not hold up the server's requests.
    process = subprocess.Popen(worker_command_line())
    typer.echo(f"  后台匹配进程已启动（进程号 {process.pid}）", err=True)
    # uvicorn re-raises the SIGTERM it caught once it has shut down; without a handler of ours that
    # would end this process before the worker below is stopped, leaving it behind.
    previous = signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        yield process
    finally:
        signal.signal(signal.SIGTERM, previous)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def check_listening(host: str, port: int) -> None:
    """Exit with one line when the service could not listen on ``host:port`` (unknown host, port in use)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            # As uvicorn binds: a port left in TIME_WAIT by a previous run is free to take.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        fail(f"错误：无法在 {host}:{port} 上监听（{error.strerror or error}）")


def check_database(database_url: str) -> None:
    """Exit with one line when the database is unreachable or has no tables yet: every request would fail."""
    try:
        revision = current_revision_of(database_url)
    except (ArgumentError, DBAPIError) as error:
        fail(database_problem(error) or f"错误：数据库不可用（{error}）")
    if revision is None:
        fail("错误：数据库还没有建表；先运行 huiqi db upgrade")


def load_demo(settings: Settings) -> dict[str, int]:
    """Migrate the configured database and fill what is empty with demo data."""
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    context = DemoContext(secret=resolve_secret(settings), report=lambda line: typer.echo(line, err=True))
    try:
        with make_session_factory(engine).begin() as session:
            return run_demo_steps(session, context)
    finally:
        engine.dispose()


def _demo_account(settings: Settings) -> str:
    """Give the demo account a fresh random password for the staff pages and return it."""
    password = secrets.token_urlsafe(9)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            staff = session.scalar(select(StaffUser).where(StaffUser.name == DEMO_ACCOUNT))
            if staff is None:
                staff = StaffUser(name=DEMO_ACCOUNT, role=StaffRole.ADMIN)
                session.add(staff)
            set_password(staff, password)
    finally:
        engine.dispose()
    return password


def _demo_token(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            return create_staff(session, name=DEMO_STAFF_NAME, role=StaffRole.ADMIN)[1]
    finally:
        engine.dispose()


@demo_app.command("load")
def demo_load() -> None:
    """Migrate the configured database and load the demo data into its empty parts."""
    for step, added in load_demo(get_settings()).items():
        typer.echo(f"{step}: {added} added")


@demo_app.command("serve")
def demo_serve(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate, load demo data if empty, print the URL and a demo staff token, then serve with a worker."""
    check_listening(host, port)  # before the demo data is loaded, not after
    settings = get_settings()
    for step, added in load_demo(settings).items():
        typer.echo(f"demo data — {step}: {added} added")
    token = _demo_token(settings)
    typer.echo(f"\n  Huiqi:     http://{host}:{port}/\n  API docs:  http://{host}:{port}/docs")
    typer.echo(f"  Staff token ({DEMO_STAFF_NAME}): {token}")
    typer.echo(f"  Staff pages: sign in as {DEMO_ACCOUNT} / {_demo_account(settings)}")
    typer.echo(f'  Try: curl -H "Authorization: Bearer {token}" http://{host}:{port}/api/v1/demands\n')
    serve(host=host, port=port, with_worker=True)
