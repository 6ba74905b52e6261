"""``huiqi encode``: encode every pending demand and provider text now, with a progress bar."""

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.db import make_engine, make_session_factory
from api.encoding import service
from api.settings import get_settings


def encode_command() -> None:
    """Encode the demands and provider documents that have no sentence vectors yet."""
    settings = get_settings()
    current = service.encoder(settings.encoder)
    if not current.available:
        typer.echo(f"句向量模型不可用：{getattr(current, 'reason', '')}", err=True)
        raise typer.Exit(1)
    engine = make_engine(settings.database_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            total = service.status(session, current).total_pending
        columns = (TextColumn("编码"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns) as bar:
            task = bar.add_task("encode", total=total)
            done = service.encode_pending(
                factory, current, progress=lambda handled, _left: bar.update(task, completed=handled)
            )
        typer.echo(f"已编码 {done} 条文本（模型 {current.identity.name}）")
    finally:
        engine.dispose()
