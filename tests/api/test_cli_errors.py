"""``huiqi`` never shows a traceback: bad input or a failing environment give one line, a non-zero exit."""

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from api import cli
from api.db.migrate import upgrade
from api.settings import get_settings

runner = CliRunner()
HUIQI = Path(sys.executable).with_name("huiqi")
HUGE = "99999999999999999999"
UNREACHABLE = "postgresql+psycopg://x:y@127.0.0.1:1/z"


@pytest.fixture(scope="module")
def migrated_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty SQLite database built by the real migrations."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'huiqi.db'}"
    upgrade(url)
    return url


@pytest.fixture
def point_at(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Settings read afresh from the environment the test sets (data under ``tmp_path``)."""
    monkeypatch.setenv("HUIQI_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HUIQI_DEBUG", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _invoke(monkeypatch: pytest.MonkeyPatch, database_url: str, args: list[str]) -> Result:
    monkeypatch.setenv("HUIQI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    return runner.invoke(cli.app, args)


def _one_line(result: Result) -> str:
    """The single line a failed command printed on standard error, checked to be the only one."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def _is_usage_error(result: Result) -> bool:
    """Typer's own refusal of an argument: exit status 2 and its message, no exception escaped."""
    return result.exit_code == 2 and isinstance(result.exception, SystemExit)


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "plain.txt"
    path.write_text("hello", encoding="utf-8")
    return path


# Output paths a file cannot be written to: {dir} is a fresh directory, {file} an existing file.
UNWRITABLE = {
    "missing directory": ("{dir}/missing/x.out", "所在的目录不存在"),
    "a directory": ("{dir}", "是一个目录"),
    "under a file": ("{file}/x.out", "路径中有一段不是目录"),
}
OUTPUT_COMMANDS = {
    "export demands": ["export", "demands", "--format", "csv", "--out"],
    "export providers": ["export", "providers", "--output"],
    "report round": ["report", "round", "1", "--out"],
    "report period": ["report", "period", "--from", "2026-01-01", "--to", "2026-03-31", "--out"],
    "report quarterly": ["report", "quarterly", "--unit", "1", "--period", "2026Q1", "--table", "2", "-o"],
}


@pytest.mark.parametrize("where", UNWRITABLE)
@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_an_output_path_that_cannot_be_written_is_one_line(
    point_at: pytest.MonkeyPatch, migrated_url: str, tmp_path: Path, a_file: Path, command: str, where: str
) -> None:
    template, reason = UNWRITABLE[where]
    target = template.format(dir=tmp_path, file=a_file)
    result = _invoke(point_at, migrated_url, [*OUTPUT_COMMANDS[command], target])
    assert result.exit_code == 1, result.output
    assert _one_line(result) == f"错误：无法写入 {target}：{reason}"


@pytest.mark.parametrize(
    "args",
    [
        ["round", "run", "--level", "nope"],
        ["report", "round", HUGE],
        ["report", "due", "--on", "9999-12-31"],
        ["serve", "--port", "99999"],
        ["serve", "--port", "0"],
        ["serve", "--workers", "0"],
        ["demo", "serve", "--port", "65536"],
        ["worker", "--once", "--poll", "1e20"],
        ["import", "demands", "--jobs", HUGE, "{file}"],
    ],
    ids=" ".join,
)
def test_out_of_range_options_are_typer_usage_errors(
    point_at: pytest.MonkeyPatch, migrated_url: str, a_file: Path, args: list[str]
) -> None:
    result = _invoke(point_at, migrated_url, [arg.format(file=a_file) for arg in args])
    assert _is_usage_error(result), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--demand-id", HUGE], "demand_ids[0]"),
        (["--capacity", f"1={HUGE}"], "capacities[1]"),
        (["--capacity", f"{HUGE}=1"], f"capacities.{HUGE}"),
    ],
)
def test_a_round_scope_no_row_can_have_is_refused_in_one_line(
    point_at: pytest.MonkeyPatch, migrated_url: str, args: list[str], field: str
) -> None:
    result = _invoke(point_at, migrated_url, ["round", "run", *args])
    assert result.exit_code == 2, result.output
    line = _one_line(result)
    assert line.startswith("错误：请求内容有误")
    assert f"{field}:" in line


def test_a_campaign_number_beyond_any_key_is_not_found(
    point_at: pytest.MonkeyPatch, migrated_url: str, a_file: Path
) -> None:
    result = _invoke(point_at, migrated_url, ["import", "demands", "--campaign", HUGE, str(a_file)])
    assert result.exit_code == 2, result.output
    assert f"找不到征集活动“{HUGE}”" in result.stderr
    assert "Traceback" not in result.output


def test_an_import_report_that_cannot_be_written_says_what_was_imported(
    point_at: pytest.MonkeyPatch, migrated_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "需求.csv"
    source.write_text("hello", encoding="utf-8")
    (tmp_path / "需求_导入报告.xlsx").mkdir()  # where the report goes is taken by a directory
    result = _invoke(point_at, migrated_url, ["import", "demands", str(source)])
    assert result.exit_code == 1, result.output
    assert "但无法写入报告" in result.stderr
    assert "是一个目录" in result.stderr
    assert "Traceback" not in result.output


def test_serve_refuses_a_port_in_use_before_starting(point_at: pytest.MonkeyPatch, migrated_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _invoke(point_at, migrated_url, ["serve", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert _one_line(result).startswith(f"错误：无法在 127.0.0.1:{port} 上监听")


def test_serve_refuses_a_database_without_tables(point_at: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = _invoke(point_at, f"sqlite:///{tmp_path / 'empty.db'}", ["serve", "--port", "1"])
    assert result.exit_code == 1, result.output
    assert _one_line(result) == "错误：数据库还没有建表；先运行 huiqi db upgrade"


BROKEN_DATABASES = {
    "unreachable": (UNREACHABLE, "错误：数据库不可用（"),
    "missing directory": (
        "sqlite:///{dir}/missing/huiqi.db",
        "错误：数据库不可用（unable to open database file",
    ),
    "unknown driver": ("nope://", "错误：HUIQI_DATABASE_URL 不是有效的数据库地址"),
}
DATABASE_COMMANDS = {
    "export demands": ["export", "demands", "--out", "{dir}/d.xlsx"],
    "export providers": ["export", "providers", "--output", "{dir}/p.csv"],
    "round run": ["round", "run"],
    "report round": ["report", "round", "1"],
    "report period": ["report", "period", "--from", "2026-01-01", "--to", "2026-03-31"],
    "worker": ["worker", "--once"],
    "demo load": ["demo", "load"],
    "serve": ["serve", "--port", "1"],
}


@pytest.mark.parametrize("database", BROKEN_DATABASES)
@pytest.mark.parametrize("command", DATABASE_COMMANDS)
def test_a_database_that_cannot_be_used_is_one_line(
    point_at: pytest.MonkeyPatch, tmp_path: Path, command: str, database: str
) -> None:
    url, reason = BROKEN_DATABASES[database]
    args = [arg.format(dir=tmp_path) for arg in DATABASE_COMMANDS[command]]
    result = _invoke(point_at, url.format(dir=tmp_path), args)
    assert result.exit_code == 1, result.output
    assert _one_line(result).startswith(reason)


def test_a_malformed_setting_is_named(point_at: pytest.MonkeyPatch, migrated_url: str) -> None:
    point_at.setenv("HUIQI_DEBUG", "perhaps")
    result = _invoke(point_at, migrated_url, ["export", "providers"])
    assert result.exit_code == 1, result.output
    assert _one_line(result).startswith("错误：环境变量设置有误（HUIQI_DEBUG:")


def _explode() -> None:
    raise RuntimeError("磁盘坏了\n第二行")


def _exit_three() -> None:
    raise typer.Exit(3)


@pytest.fixture
def extra_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two commands beside the real ones: one with an error no command handles, one exiting with 3."""
    monkeypatch.setitem(cli._COMMANDS, "explode", cli._Entry(cli._single(__name__, "_explode", "x"), "x"))
    monkeypatch.setitem(
        cli._COMMANDS, "exit-three", cli._Entry(cli._single(__name__, "_exit_three", "x"), "x")
    )


def test_an_unexpected_error_is_one_line_with_its_type_and_where_to_see_more(
    point_at: pytest.MonkeyPatch, extra_commands: None
) -> None:
    result = runner.invoke(cli.app, ["explode"])
    assert result.exit_code == 1
    line = _one_line(result)
    assert line.startswith("错误：RuntimeError: 磁盘坏了 第二行（")
    assert "--debug" in line
    assert "HUIQI_DEBUG=1" in line


@pytest.mark.parametrize("debug", [["--debug"], ["HUIQI_DEBUG=1"]], ids=" ".join)
def test_debugging_lets_the_error_through(
    point_at: pytest.MonkeyPatch, extra_commands: None, debug: list[str]
) -> None:
    options = [] if debug[0].startswith("HUIQI") else debug
    if not options:
        point_at.setenv("HUIQI_DEBUG", "1")
    result = runner.invoke(cli.app, [*options, "explode"])
    assert isinstance(result.exception, RuntimeError)


def test_exit_codes_and_usage_errors_pass_through(point_at: pytest.MonkeyPatch, extra_commands: None) -> None:
    assert runner.invoke(cli.app, ["exit-three"]).exit_code == 3
    assert _is_usage_error(runner.invoke(cli.app, ["round", "run", "--wanted", "0"]))
    assert _is_usage_error(runner.invoke(cli.app, ["no-such-command"]))


def _huiqi(args: list[str], database_url: str) -> subprocess.CompletedProcess[str]:
    env = {"HUIQI_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "COLUMNS": "120"}
    return subprocess.run(
        [str(HUIQI), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_the_installed_command_prints_one_line_for_an_unhandled_error(tmp_path: Path) -> None:
    # `db backup` (api/security) does not handle a path under a file: the last resort does.
    (tmp_path / "plain.txt").write_text("hello", encoding="utf-8")
    database = tmp_path / "huiqi.db"
    upgrade(f"sqlite:///{database}")
    done = _huiqi(["db", "backup", str(tmp_path / "plain.txt" / "x.bak")], f"sqlite:///{database}")
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("错误："), done.stderr
    assert "Traceback" not in done.stderr


def test_the_installed_command_reports_a_bad_database_url_and_shows_the_traceback_on_request() -> None:
    plain = _huiqi(["export", "providers"], "nope://")
    assert plain.returncode == 1
    assert plain.stderr.strip().splitlines() == [
        "错误：HUIQI_DATABASE_URL 不是有效的数据库地址（Can't load plugin: sqlalchemy.dialects:nope）"
    ]
    debugged = _huiqi(["--debug", "export", "providers"], "nope://")
    assert debugged.returncode == 1
    assert "Traceback" in debugged.stderr
    assert "NoSuchModuleError" in debugged.stderr


def test_an_export_from_an_unreachable_database_leaves_one_line_and_no_file(tmp_path: Path) -> None:
    # In a real process: a half-written workbook would also print its own errors when collected.
    target = tmp_path / "需求.xlsx"
    done = _huiqi(["export", "demands", "--out", str(target)], UNREACHABLE)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("错误：数据库不可用（")
    assert not target.exists()
