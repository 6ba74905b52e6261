"""Request bodies over the limit are refused with 413 before they are read, on every route.

The in-process tests drive the ASGI application with a counted body stream; the slow test sends ten
concurrent 150 MB bodies to a real server and samples its memory with psutil.
"""

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import Demand
from api.imports.limits import MB
from api.security.bodylimit import UPLOAD_PATHS
from tests.api.factories import demand_payload
from tests.security.live import REPO, free_port, start_server

pytestmark = pytest.mark.db

ARTIFACT = REPO / "artifacts" / "body-limit-memory.md"


async def _post_raw(
    app: FastAPI, path: str, blocks: int, *, declared: bool, content_type: bytes = b"application/json"
) -> tuple[int, dict[str, Any] | str, int]:
    """POST ``blocks`` blocks of 64 KiB to ``path``; (status, answer, blocks the application read)."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b" " * 65536, "more_body": read < blocks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", content_type), (b"accept", b"application/json")]
    if declared:
        headers.append((b"content-length", str(blocks * 65536).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, starts  # one answer, never the parser's 400 and the 413 both
    answer = json.loads(body) if body.startswith(b"{") else body.decode()
    return status, answer, read


def _count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Demand)) or 0


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_anonymous_json_body_over_the_limit_is_refused_unread(
    app: FastAPI, db: sessionmaker[Session], declared: bool
) -> None:
    """Reproduction: a 150 MB POST /api/v1/demands was read in full before its 422."""
    with TestClient(app):
        status, answer, read = anyio.run(
            lambda: _post_raw(app, "/api/v1/demands", 2400, declared=declared)  # 150 MB
        )
    assert status == 413
    assert isinstance(answer, dict)
    assert answer["code"] == "payload_too_large"
    assert "2 MB" in answer["detail"]
    # Refused on the header alone, or at the first 64 KiB block past 2 MB.
    assert read == (0 if declared else 2 * MB // 65536 + 1)
    assert _count(db) == 0


@pytest.mark.parametrize(
    "path", ["/api/v1/staff", "/api/v1/pairings/1/transitions", "/api/v1/rounds", "/api/v1/societies"]
)
def test_every_route_has_the_limit(app: FastAPI, path: str) -> None:
    with TestClient(app):
        status, _answer, read = anyio.run(lambda: _post_raw(app, path, 100, declared=False))
    assert status == 413
    assert read == 2 * MB // 65536 + 1


def test_a_staff_page_form_over_the_limit_gets_a_page(client: TestClient) -> None:
    body = "name=a&password=" + "x" * (3 * MB)
    answer = client.post(
        "/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "请求内容超过 2 MB 的上限" in answer.text


def test_a_body_within_the_limit_still_works(client: TestClient) -> None:
    answer = client.post("/api/v1/demands", json=demand_payload())
    assert answer.status_code == 201


def test_the_limit_is_a_setting(app: FastAPI) -> None:
    app.state.body_limits.body_bytes = 100_000
    with TestClient(app):
        status, answer, _read = anyio.run(lambda: _post_raw(app, "/api/v1/demands", 10, declared=False))
    assert status == 413
    assert isinstance(answer, dict)
    assert "98 KB" in answer["detail"]


def test_every_route_taking_files_has_the_upload_limit(app: FastAPI) -> None:
    """A route with a file parameter not listed would refuse every upload over 2 MB."""
    with_files = _file_routes(app)
    assert with_files
    assert with_files <= UPLOAD_PATHS


def _file_routes(app: FastAPI) -> set[str]:
    return {
        path
        for path, operations in app.openapi()["paths"].items()
        for operation in operations.values()
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    }


# --- ten concurrent 150 MB bodies against a real server -------------------------------------------

BODY_BYTES = 150 * MB
CHUNK = b" " * MB


def _send_big_body(port: int, *, declared: bool, outcome: list[str]) -> None:
    """Send a 150 MB JSON body (declared or chunked) until the server answers or closes."""
    head = "POST /api/v1/demands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {BODY_BYTES}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
            connection.sendall((head + "\r\n").encode())
            try:
                for _ in range(BODY_BYTES // MB):
                    frame = CHUNK if declared else b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
                    connection.sendall(frame)
                if not declared:
                    connection.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server answered and closed before the body was sent: the point
            outcome.append(_status_line(connection))
    except OSError as error:
        outcome.append(f"error {error!r}")


def _status_line(connection: socket.socket) -> str:
    try:
        return connection.recv(64).split(b"\r\n", 1)[0].decode()
    except OSError as error:
        return f"closed {type(error).__name__}"


def _rss(process: psutil.Process) -> int:
    return int(process.memory_info().rss)


def _sample_peak(process: psutil.Process, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], _rss(process))
        time.sleep(0.01)


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[tuple[int, psutil.Process]]:
    """A uvicorn server on the test database without rate limits: its port and its process."""
    port = free_port()
    server = start_server(
        database_url,
        tmp_path,
        port,
        HUIQI_RATE_LIMIT_SUBMIT_PER_MINUTE="0",
        HUIQI_RATE_LIMIT_LOGIN_PER_MINUTE="0",
    )
    try:
        yield port, psutil.Process(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.slow
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_ten_concurrent_150_mb_bodies_stay_within_50_mb_of_idle(
    live_server: tuple[int, psutil.Process], db: sessionmaker[Session], declared: bool
) -> None:
    """Reproduction: one 150 MB body took the server from 405 to 986 MB."""
    port, process = live_server
    for _ in range(3):  # warm up: the first requests import and cache what a request needs
        _send_small_demand(port)
    idle = _rss(process)
    peak, stop = [idle], threading.Event()
    sampler = threading.Thread(target=_sample_peak, args=(process, stop, peak))
    sampler.start()
    outcomes: list[str] = []
    clients = [
        threading.Thread(
            target=_send_big_body, args=(port,), kwargs={"declared": declared, "outcome": outcomes}
        )
        for _ in range(10)
    ]
    started = time.monotonic()
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=300)
    seconds = time.monotonic() - started
    stop.set()
    sampler.join()
    growth = (peak[0] - idle) / MB
    _record(declared, idle, peak[0], seconds, outcomes)
    assert not [line for line in outcomes if " 5" in line[:12]], outcomes
    assert all(line.startswith(("HTTP/1.1 413", "closed", "error")) for line in outcomes), outcomes
    assert any(line.startswith("HTTP/1.1 413") for line in outcomes), outcomes
    assert growth < 50, f"idle {idle / MB:.0f} MB, peak {peak[0] / MB:.0f} MB"
    assert _count(db) == 3


def _send_small_demand(port: int) -> None:
    body = json.dumps(demand_payload()).encode()
    head = "POST /api/v1/demands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(head.encode() + body)
        assert connection.recv(64).startswith(b"HTTP/1.1 201")


def _record(declared: bool, idle: int, peak: int, seconds: float, outcomes: list[str]) -> None:
    kind = "Content-Length" if declared else "chunked"
    load = ", ".join(f"{value:.2f}" for value in psutil.getloadavg())
    line = (
        f"| {kind} | {idle / MB:.1f} | {peak / MB:.1f} | {(peak - idle) / MB:.1f} | {seconds:.1f} |"
        f" {load} | {', '.join(sorted(set(outcomes)))} |"
    )
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    if not ARTIFACT.exists():
        header = [
            "# Server memory during ten concurrent 150 MB POST /api/v1/demands bodies",
            "",
            "| body | idle RSS (MB) | peak RSS (MB) | growth (MB) | seconds | load average | answers |",
            "|---|---|---|---|---|---|---|",
        ]
        ARTIFACT.write_text("\n".join(header) + "\n", encoding="utf-8")
    with ARTIFACT.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
