"""``huiqi staff``: staff accounts and their bearer tokens."""

from typing import Annotated

import typer
from pydantic import Field, ValidationError
from sqlalchemy import select

from api.auth.passwords import PasswordTooShortError, set_password
from api.auth.service import create_staff
from api.db import StaffRole, StaffUser
from api.db.session import make_engine, make_session_factory
from api.errors import translate
from api.security.audit import CLI_ACTOR, attach_actor
from api.settings import get_settings
from api.validation import InputModel

NAME_LABELS = {"name": "姓名或账号名"}

app = typer.Typer(help="工作人员账号与访问令牌。", no_args_is_help=True)


class _NewStaff(InputModel):
    """The rules a staff member's name keeps, as in the API (trimmed, 1 to 100 visible characters)."""

    name: Annotated[str, Field(min_length=1, max_length=100)]


def _checked_name(name: str) -> str:
    try:
        return _NewStaff(name=name).name
    except ValidationError as error:
        reasons = "；".join(translate(item, NAME_LABELS).message for item in error.errors())
        raise typer.BadParameter(reasons, param_hint="NAME") from None


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="姓名或账号名")],
    role: Annotated[StaffRole, typer.Option(help="admin 管理员 / reviewer 审核员")] = StaffRole.REVIEWER,
) -> None:
    """Create staff member NAME (or give them a new token) and print the token once."""
    name = _checked_name(name)
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine).begin() as session:
            attach_actor(session, CLI_ACTOR)
            staff, token = create_staff(session, name=name, role=role)
            typer.echo(f"staff {staff.name} ({staff.role.value}); token, shown only now:", err=True)
    finally:
        engine.dispose()
    typer.echo(token)


@app.command("set-password")
def set_password_command(
    name: Annotated[str, typer.Argument(help="已有工作人员的姓名或账号名")],
    password: Annotated[
        str, typer.Option(prompt="新密码", hide_input=True, confirmation_prompt=True, help="至少8个字符")
    ],
) -> None:
    """Set the password NAME signs in to the staff pages with (asked for when not given)."""
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine).begin() as session:
            attach_actor(session, CLI_ACTOR)
            staff = session.scalar(select(StaffUser).where(StaffUser.name == name.strip()))
            if staff is None:
                raise typer.BadParameter(
                    f"没有名为“{name}”的工作人员；先用 huiqi staff create 创建", param_hint="NAME"
                )
            try:
                set_password(staff, password)
            except PasswordTooShortError as error:
                raise typer.BadParameter(str(error), param_hint="--password") from None
    finally:
        engine.dispose()
    typer.echo(f"staff {name}: password set")
