"""``huiqi serve`` and ``huiqi demo``: run the service, with or without demo data."""

import secrets
from typing import Annotated

import typer
import uvicorn
from sqlalchemy import select

from api.auth.passwords import set_password
from api.auth.service import create_staff
from api.auth.tokens import resolve_secret
from api.db import StaffRole, StaffUser, make_engine, make_session_factory
from api.db.migrate import upgrade
from api.demo import DemoContext, run_demo_steps
from api.settings import Settings, get_settings

DEMO_STAFF_NAME = "演示管理员"
DEMO_ACCOUNT = "demo"

demo_app = typer.Typer(help="演示：建库、载入演示数据并启动服务。", no_args_is_help=True)

Host = Annotated[str, typer.Option(help="监听地址")]
Port = Annotated[int, typer.Option(help="监听端口")]
Workers = Annotated[int, typer.Option(help="工作进程数")]


def serve(host: Host = "127.0.0.1", port: Port = 8000, workers: Workers = 1) -> None:
    """Run the HTTP service on the configured database (run `huiqi db upgrade` first)."""
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


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
    """Migrate, load demo data if empty, print the URL and a demo staff token, then serve."""
    settings = get_settings()
    for step, added in load_demo(settings).items():
        typer.echo(f"demo data — {step}: {added} added")
    token = _demo_token(settings)
    typer.echo(f"\n  Huiqi:     http://{host}:{port}/\n  API docs:  http://{host}:{port}/docs")
    typer.echo(f"  Staff token ({DEMO_STAFF_NAME}): {token}")
    typer.echo(f"  Staff pages: sign in as {DEMO_ACCOUNT} / {_demo_account(settings)}")
    typer.echo(f'  Try: curl -H "Authorization: Bearer {token}" http://{host}:{port}/api/v1/demands\n')
    serve(host=host, port=port)
