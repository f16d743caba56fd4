"""The installed entry points answer: --version, --help, python -m monitor."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor import __version__
from monitor.cli import main

pytestmark = pytest.mark.e2e


def test_python_dash_m_prints_version() -> None:
    out = subprocess.run([sys.executable, "-m", "monitor", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"token-monitor {__version__}"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for command in ("count", "price", "usage", "budget"):
        assert command in text


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
