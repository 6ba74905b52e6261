"""The distribution installs its import packages and console command."""

import subprocess
import sys
from pathlib import Path


def test_import_packages() -> None:
    import api
    import features
    import matcher

    assert all(m.__doc__ for m in (api, features, matcher))


def test_console_command_answers_help() -> None:
    exe = Path(sys.executable).with_name("huiqi")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    assert "huiqi" in out.stdout.lower()
