"""A real ``uvicorn`` server process on a given database, for fault tests and the load benchmark."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(database_url: str, workdir: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    """Start the service on ``port`` and wait until it answers /healthz."""
    environment = os.environ | {
        "HUIQI_DATABASE_URL": database_url,
        "HUIQI_DATA_DIR": str(workdir),
        "HUIQI_SECRET_KEY": "live-security-test",
        **env,
    }
    command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--port", str(port)]
    log = (workdir / f"server-{port}.log").open("ab")
    process = subprocess.Popen(command, env=environment, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start; see {workdir}")


@contextmanager
def running_server(database_url: str, workdir: Path, **env: str) -> Iterator[str]:
    """The base URL of a server running for the duration of the block."""
    port = free_port()
    process = start_server(database_url, workdir, port, **env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
