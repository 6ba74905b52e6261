"""``huiqi staff``: staff accounts and their bearer tokens."""

from typing import Annotated

import typer

from api.auth.service import create_staff
from api.db import StaffRole
from api.db.session import make_engine, make_session_factory
from api.settings import get_settings

app = typer.Typer(help="工作人员账号与访问令牌。", no_args_is_help=True)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="姓名或账号名")],
    role: Annotated[StaffRole, typer.Option(help="admin 管理员 / reviewer 审核员")] = StaffRole.REVIEWER,
) -> None:
    """Create staff member NAME (or give them a new token) and print the token once."""
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine).begin() as session:
            staff, token = create_staff(session, name=name.strip(), role=role)
            typer.echo(f"staff {staff.name} ({staff.role.value}); token, shown only now:", err=True)
    finally:
        engine.dispose()
    typer.echo(token)
