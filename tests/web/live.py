"""A real service for browser tests and benchmarks: a database with the demo data, a uvicorn server
and a matching worker, each in a process of its own."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from api.auth.passwords import set_password
from api.db import StaffRole, StaffUser, make_engine, make_session_factory
from api.serve import load_demo
from api.settings import Settings

ACCOUNT = "demo"
PASSWORD = "demo-password-1"
SECRET = "live-test-signing-key"


@dataclass(frozen=True)
class LiveService:
    """Where the running service answers, and its database."""

    base_url: str
    database_url: str


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_database(database_url: str, data_dir: Path) -> None:
    """Migrate, load the demo data and give the demo account a known password."""
    settings = Settings(database_url=database_url, data_dir=str(data_dir), secret_key=SECRET)
    load_demo(settings)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            staff = StaffUser(name=ACCOUNT, role=StaffRole.ADMIN)
            set_password(staff, PASSWORD)
            session.add(staff)
    finally:
        engine.dispose()


def _environment(database_url: str, data_dir: Path) -> dict[str, str]:
    return os.environ | {
        "HUIQI_DATABASE_URL": database_url,
        "HUIQI_DATA_DIR": str(data_dir),
        "HUIQI_SECRET_KEY": SECRET,
    }


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {timeout} s")


@contextmanager
def live_service(database_url: str, workdir: Path, *, worker: bool = True) -> Iterator[LiveService]:
    """Run the server (and a worker) on a database already prepared; stop both afterwards."""
    env = _environment(database_url, workdir)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    server_command = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with ExitStack() as stack:
        server = stack.enter_context(_process(server_command, env, workdir / "server.log"))
        if worker:
            worker_command = [str(bin_dir / "huiqi"), "worker", "--poll", "0.3"]
            stack.enter_context(_process(worker_command, env, workdir / "worker.log"))
        _wait_until_up(base_url, server, workdir / "server.log")
        yield LiveService(base_url, database_url)
