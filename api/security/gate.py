"""At most so many requests inside the application at once; the others wait outside, without a thread.

Sync routes and dependencies each run on a worker thread of a shared pool (40 threads), one step at
a time. A request that has taken the database connection needs a free thread for its next step; when
every thread is held by a request blocked waiting for a connection (SQLite has one, PostgreSQL's pool
a few), nobody can go on until the pool's wait times out: 50 clients stalled a SQLite server with
503s for a minute at a time. Requests past the limit wait here, on the event loop, so threads stay
free for the requests already inside.
"""

from typing import Final

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

# Threads kept free for the next steps of requests already inside.
SPARE_THREADS: Final = 8


def default_limit() -> int:
    """The worker threads less :data:`SPARE_THREADS` (at least 1)."""
    total = int(anyio.to_thread.current_default_thread_limiter().total_tokens)
    return max(1, total - SPARE_THREADS)


class RequestGateMiddleware:
    """Let at most ``limit`` HTTP requests into the application at once."""

    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self._gate: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wait for a place (on the event loop), then pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._gate is None:  # created in the running loop: the thread limiter is per loop
            self._gate = anyio.Semaphore(self.limit or default_limit())
        async with self._gate:
            await self.app(scope, receive, send)
