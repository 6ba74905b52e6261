"""The command line starts fast: a command's group is imported only when that command runs."""

import subprocess
import sys

HEAVY = ("sklearn", "fastapi", "matcher", "sqlalchemy")

_PROBE = """
import sys
from api.cli import app
try:
    app({args!r})
except SystemExit:
    pass
print("loaded:", *(m for m in {heavy!r} if m in sys.modules))
"""


def _loaded_after(args: list[str]) -> tuple[str, set[str]]:
    code = _PROBE.format(args=args, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    output, _, loaded = done.stdout.rpartition("loaded:")
    return output, set(loaded.split())


def test_the_top_level_help_lists_every_command_without_importing_them() -> None:
    output, loaded = _loaded_after(["--help"])
    for name in ("serve", "evaluate", "worker", "db", "staff", "demo", "export", "import", "round"):
        assert f" {name} " in output
    assert loaded == set()


def test_a_command_imports_its_own_group_only() -> None:
    output, loaded = _loaded_after(["db", "--help"])
    assert "backup" in output
    assert "upgrade" in output
    assert "sklearn" not in loaded
    assert "matcher" not in loaded


def test_composed_groups_keep_their_added_commands() -> None:
    output, _ = _loaded_after(["report", "--help"])
    assert "quarterly" in output
    assert "round" in output
    assert "period" in output
    output, _ = _loaded_after(["export", "--help"])
    assert "demands" in output
