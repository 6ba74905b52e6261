"""The application factory."""

import logging
import time
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy import text

from api.auth.service import staff_for_token
from api.auth.tokens import resolve_secret
from api.db import make_engine, make_session_factory
from api.demands.router import router as demands_router
from api.encoding.router import router as encoding_router
from api.errors import install_error_handlers
from api.exports.router import router as exports_router
from api.imports.router import router as imports_router
from api.learning.router import router as learning_router
from api.matching.index import use_store
from api.matching.router import router as matching_router
from api.matching.service import warm_up
from api.programmes.router import router as programmes_router
from api.providers.router import router as providers_router
from api.reports.router import router as reports_router
from api.security import install_security
from api.security.router import router as security_router
from api.settings import Settings, get_settings
from api.web.router import router as web_router
from api.web.routing import install_page_errors

API_PREFIX = "/api/v1"
_LOG = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("huiqi")
    except PackageNotFoundError:
        return "0"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for ``settings`` (the environment's when None)."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    use_store(Path(settings.data_dir) / "index")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Before the first request, not in it: the stored provider indexes, the encoder, the capacities.
        await anyio.to_thread.run_sync(_warm_up, app)
        await _warm_routes(app)
        yield
        engine.dispose()

    app = FastAPI(
        title="会企 Huiqi",
        summary="技术需求征集、审核与学会/专家匹配",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.secret = resolve_secret(settings)
    install_error_handlers(app)
    install_page_errors(app, API_PREFIX)
    # Before the demands router, whose /demands/{demand_id} would claim /demands/export.xlsx.
    app.include_router(exports_router, prefix=API_PREFIX)
    app.include_router(imports_router, prefix=API_PREFIX)
    app.include_router(reports_router, prefix=API_PREFIX)
    app.include_router(demands_router, prefix=API_PREFIX)
    app.include_router(providers_router, prefix=API_PREFIX)
    app.include_router(matching_router, prefix=API_PREFIX)
    app.include_router(encoding_router, prefix=API_PREFIX)
    app.include_router(learning_router, prefix=API_PREFIX)
    app.include_router(programmes_router, prefix=API_PREFIX)
    app.include_router(security_router, prefix=API_PREFIX)
    app.include_router(web_router)
    install_security(app)
    _add_service_routes(app)
    return app


def _warm_up(app: FastAPI) -> None:
    """Ready the match lists (``api.matching.service.warm_up``); a database that cannot be read yet
    leaves that to the first request, as a service that starts before its database must still start."""
    started = time.perf_counter()
    try:
        with app.state.session_factory() as session:
            ready = warm_up(session)
            staff_for_token(session, "warm-up")  # compiles the staff check's statement
    except Exception as error:  # a warm-up never keeps the service from starting
        _LOG.warning("match lists not readied at start: %s", error)
        return
    _LOG.info("match lists readied in %.2f s (stored indexes: %s)", time.perf_counter() - started, ready)


async def _warm_routes(app: FastAPI) -> None:
    """One request through the application before the first real one: FastAPI builds its route
    table on the first request (about 0.2-0.6 s for this service on a busy machine)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 0),
        "server": ("localhost", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: MutableMapping[str, Any]) -> None:
        return None

    try:
        await app(scope, receive, send)
    except Exception as error:  # a database not reachable yet: the route table is built all the same
        _LOG.warning("first request at start failed: %s", error)


def _add_service_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability."""
        with app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}
