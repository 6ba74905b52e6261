"""Property-based fuzzing of the whole HTTP API from its OpenAPI description (schemathesis).

Every operation gets up to ``EXAMPLES`` generated requests, sent as an admin (the widest access) to
the ASGI app on a SQLite and on a PostgreSQL database, each holding a small world of demands,
providers and pairings. Checks:
no 5xx, status codes, content types, headers and bodies as documented, and every 4xx in the
service's error shape. The counts per operation are written to ``artifacts/fuzz-summary-<backend>.md``.
"""

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.db import make_engine, make_session_factory
from api.db.migrate import upgrade
from api.main import create_app
from api.security.ratelimit import Rule
from api.settings import Settings
from tests.conftest import BACKENDS, fresh_database
from tests.security.world import World, build_world

EXAMPLES = 10
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
TRIED: Counter[str] = Counter()
STATUSES: dict[str, Counter[int]] = {}
FAILURES: dict[str, str] = {}
SECONDS: dict[str, float] = {}


def error_shape(
    _ctx: schemathesis.CheckContext, response: schemathesis.Response, _case: schemathesis.Case
) -> None:
    """Every 4xx answer carries ``detail`` and ``code`` strings and ``errors`` of ``{field, code, message}``.

    Extra members are allowed: the import route adds its full ``report`` (and row numbers) to its 422.
    """
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("detail"), str), body
    assert body["detail"], body
    assert isinstance(body.get("code"), str), body
    assert body["code"], body
    assert isinstance(body.get("errors"), list), body
    for error in body["errors"]:
        assert all(isinstance(error.get(key), str) for key in ("field", "code", "message")), body


CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
# A message that begins with the field's API name run into Chinese ("to应为日期…"): the field has no label.
UNLABELLED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*[\u4e00-\u9fff]")


def messages_in_chinese(
    _ctx: schemathesis.CheckContext, response: schemathesis.Response, _case: schemathesis.Case
) -> None:
    """Every field error of a 4xx says what is wrong in Chinese, with no template left unfilled.

    Generated values reach types the hand-written tests do not (datetimes, unicode, patterns); an
    unmapped pydantic type used to fall back to English or to the catch-all 'invalid'.
    """
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    assert CJK.search(body["detail"]), body
    for error in body.get("errors", []):
        assert CJK.search(error["message"]), body
        assert not PLACEHOLDER.search(error["message"]), body
        assert error["code"] != "invalid", body
        assert not UNLABELLED.match(error["message"]), body


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    error_shape,
    messages_in_chinese,
]


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, World]]:
    """The service on a migrated database with a small world in it; no rate limits."""
    workdir = tmp_path_factory.mktemp("fuzz")
    for counts in (TRIED, STATUSES, FAILURES, SECONDS):
        counts.clear()
    with fresh_database(request.param, workdir) as url:
        upgrade(url)
        app = create_app(Settings(database_url=url, data_dir=str(workdir), secret_key="fuzz"))
        app.state.rate_limit_rules[("POST", "/api/v1/demands")] = Rule("submit", 0, 0.0, "")
        engine = make_engine(url)
        with TestClient(app) as client:
            world = build_world(client, make_session_factory(engine))
        yield app, world
        engine.dispose()
        app.state.engine.dispose()
        _write_summary(request.param)


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    label = operation.label

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        TRIED[label] += 1
        response = case.call(headers=headers)
        STATUSES.setdefault(label, Counter())[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()


def test_the_api_holds_to_its_description(fuzz_app: tuple[FastAPI, World]) -> None:
    """No generated request gets a 5xx or an answer its description does not allow."""
    app, world = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        started = time.monotonic()
        try:
            _fuzz(operation, world.headers("admin"))
        except (
            Exception,
            BaseExceptionGroup,
        ) as error:  # every operation is fuzzed; failures listed together
            failures[operation.label] = str(error)[:1500]
            FAILURES[operation.label] = failures[operation.label]
        SECONDS[operation.label] = time.monotonic() - started
    assert len(operations) >= 70
    assert failures == {}


def _write_summary(backend: str) -> None:
    server_errors = sum(
        count for statuses in STATUSES.values() for status, count in statuses.items() if status >= 500
    )
    lines = [
        f"# Schema fuzzing (schemathesis) on {backend}",
        "",
        f"5xx answers: {server_errors}",
        "",
        f"{sum(TRIED.values())} generated requests over {len(TRIED)} operations,"
        f" at most {EXAMPLES} examples each (more where a failure was shrunk).",
        "",
        "| operation | requests | seconds | statuses |",
        "|---|---|---|---|",
    ]
    for label in sorted(TRIED):
        statuses = ", ".join(
            f"{code}×{count}" for code, count in sorted(STATUSES.get(label, Counter()).items())
        )
        lines.append(f"| {label} | {TRIED[label]} | {SECONDS.get(label, 0):.1f} | {statuses} |")
    lines += ["", f"## Failures ({len(FAILURES)})", ""]
    lines += [f"### {label}\n\n```\n{text}\n```\n" for label, text in sorted(FAILURES.items())]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"fuzz-summary-{backend}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
