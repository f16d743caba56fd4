"""Hostile values on the command line and in imported files: a clear refusal, nothing written,
nothing raw on the terminal, no gigabyte of output."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor import exit_codes
from monitor.cli import main
from monitor.core.price_import import MAX_IMPORT_MODELS
from monitor.paths import Paths
from monitor.services.status_format import MAX_TEMPLATE_WIDTH
from monitor.services.store import UsageStore

pytestmark = pytest.mark.e2e

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def go(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


def _one_error(err: str, *needles: str) -> str:
    assert "Traceback" not in err
    [line] = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    for needle in needles:
        assert needle in line, line
    return line


# --- status --template: bounded widths -------------------------------------------------------


@pytest.mark.parametrize("template", ["{today_usd:>999999999}", "{today_usd:9999999999999999}",
                                      "{pct:.999999999}", "{state:x^2147483648}",
                                      "{today_usd!r:>1000}", "{today_usd:>{pct}}"])
def test_status_template_refuses_huge_widths(run: Run, paths: Paths, template: str) -> None:
    code, out, err = run("status", "--template", template)
    assert code == exit_codes.USAGE and out == ""
    _one_error(err, "--template")


def test_status_template_takes_a_sane_width(run: Run, paths: Paths) -> None:
    code, out, err = run("status", "--template", f"[{{state:>{MAX_TEMPLATE_WIDTH}}}]")
    assert code == 0 and err == "", err
    assert out == "[" + "no_data".rjust(MAX_TEMPLATE_WIDTH) + "]\n"


# --- budget --limit: plain decimals only -----------------------------------------------------


@pytest.mark.parametrize("value", ["12,5", "1,00", "5e-324", "1e3", "inf", "nan", "0x10",
                                   "0.0000001", "１２", "12.5.1", "-5", ""])
def test_budget_limit_refuses_what_is_not_a_plain_amount(run: Run, paths: Paths,
                                                         value: str) -> None:
    code, out, err = run("budget", "--limit", value)
    assert code == exit_codes.USAGE, (code, out, err)
    assert len(err) < 400
    _one_error(err, "--limit")
    assert not paths.settings_file.exists()  # nothing saved


@pytest.mark.parametrize(("value", "saved"), [("12.5", "12.5"), ("$1,000", "1000"),
                                              ("1,234.56", "1234.56"), ("0", "0")])
def test_budget_limit_takes_plain_amounts(run: Run, paths: Paths, value: str,
                                          saved: str) -> None:
    code, _, err = run("budget", "--limit", value)
    assert code == 0, err
    stored = json.loads(paths.settings_file.read_text())["monthly_limit_usd"]
    assert Decimal(str(stored)) == Decimal(saved)


def test_a_tiny_limit_in_settings_json_is_refused_with_a_warning(run: Run, paths: Paths) -> None:
    paths.settings_file.write_text('{"monthly_limit_usd": 5e-324}')
    code, out, err = run("budget", "--json")
    assert code == 0
    assert json.loads(out)["limit_usd"] == 120  # the default, not a 330-digit figure
    assert "monthly_limit_usd" in err and "decimal places" in err


# --- price import: names and sizes -----------------------------------------------------------


def _litellm(names: list[str]) -> str:
    return json.dumps({name: {"litellm_provider": "openai", "input_cost_per_token": 1e-06,
                              "output_cost_per_token": 2e-06} for name in names})


def test_price_import_refuses_model_names_with_control_characters(
        run: Run, paths: Paths, tmp_path: Path) -> None:
    source = tmp_path / "prices.json"
    source.write_text(_litellm(["gpt-ok-1", "gpt-bad\n2", "gpt-\x1b[31mred", "gpt-\u200bzw"]))
    code, out, err = run("price", "import", str(source), "--apply")
    assert code == 0, err
    for raw in ("\x1b", "gpt-bad\n2", "\u200b"):
        assert raw not in out and raw not in err
    assert "gpt-\\x1b[31mred" in out and "gpt-bad\\x0a2" in out and "gpt-\\u200bzw" in out
    assert out.count("control or invisible characters") == 3
    written = json.loads(paths.prices_override.read_text())["models"]
    assert list(written) == ["gpt-ok-1"]


def test_price_import_refuses_more_than_the_bound(run: Run, paths: Paths,
                                                  tmp_path: Path) -> None:
    source = tmp_path / "many.json"
    source.write_text(_litellm([f"gpt-many-{i}" for i in range(MAX_IMPORT_MODELS + 1)]))
    code, out, err = run("price", "import", str(source), "--apply")
    assert code == exit_codes.ERROR and out == ""
    _one_error(err, f"{MAX_IMPORT_MODELS:,}", "nothing was imported")
    assert not paths.prices_override.exists()
    ok = tmp_path / "enough.json"
    ok.write_text(_litellm([f"gpt-many-{i}" for i in range(MAX_IMPORT_MODELS)]))
    code, out, err = run("price", "import", str(ok))
    assert code == 0, err


# --- the real command in a subprocess: secrets, signals, pipes, full devices -----------------

REPO = Path(__file__).resolve().parents[2]
SECRET = "sk-proj-" + "QWERTYUIOPASDFGHJKLZ9876" * 2


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "MONITOR_HOME": str(home),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", **extra}


def _cli(home: Path, *argv: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "monitor", *argv], cwd=REPO, env=_env(home),
                          stderr=subprocess.PIPE, text=True, timeout=60, check=False, **kwargs)


@pytest.mark.parametrize("argv", [["keys", "list", SECRET], ["status", "--format", SECRET],
                                  [SECRET], ["usage", "--source", SECRET],
                                  ["budget", "--limit", "5", SECRET]])
def test_a_secret_typed_on_the_command_line_is_never_echoed(home: Path,
                                                            argv: list[str]) -> None:
    proc = _cli(home, *argv)
    assert proc.returncode == exit_codes.USAGE, proc.stderr
    assert SECRET not in proc.stderr + proc.stdout and SECRET[8:24] not in proc.stderr
    assert "sk-…9876" in proc.stderr  # argparse named it: masked, as the log masks keys


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["budget", "--help"]])
def test_help_and_version_to_a_full_device_fail(home: Path, argv: list[str]) -> None:
    with open("/dev/full", "w") as full:
        proc = _cli(home, *argv, stdout=full)
    assert proc.returncode == exit_codes.OUTPUT_FAILED, proc.stderr
    assert proc.stderr.count("error: cannot write the output") == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


def _log_file_full(limit: int) -> Callable[[], None]:
    def preexec() -> None:  # the child's files may not grow past `limit` (EFBIG, as full)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_a_full_disk_under_the_log_file_is_said_once(paths: Paths, home: Path) -> None:
    limit = 512 * 1024
    UsageStore(paths.db_file).close()
    assert paths.db_file.stat().st_size < limit
    paths.log_file.write_bytes(b"x" * (limit + 1))  # every append now fails
    paths.settings_file.write_text("{")  # corrupt: each run logs that it moved it aside
    paths.keys_file.write_text("{")
    proc = _cli(home, "--log-level", "DEBUG", "keys", "list",
                preexec_fn=_log_file_full(limit))
    assert proc.returncode == 0, proc.stderr
    assert "Logging error" not in proc.stderr and "Traceback" not in proc.stderr
    [said] = [ln for ln in proc.stderr.splitlines() if "cannot write the log" in ln]
    assert str(paths.log_file) in said


def _silent_server() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(30)
    return server


def test_ctrl_c_during_sync_once_json_exits_130_promptly(home: Path) -> None:
    server = _silent_server()
    port = server.getsockname()[1]
    env = _env(home, OPENAI_ADMIN_KEY=SECRET.replace("proj", "admin"))
    child = subprocess.Popen(
        [sys.executable, "-m", "monitor", "sync", "--once", "--json", "--base-url",
         f"http://127.0.0.1:{port}/v1"], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        conn, _ = server.accept()  # the sync waits for its first answer now
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=5)  # promptly, not after the request's timeout
    finally:
        child.kill()
        server.close()
    conn.close()
    assert child.returncode == exit_codes.INTERRUPTED, err
    assert "Traceback" not in err


def test_status_watch_ends_when_its_reader_goes_away(paths: Paths, home: Path) -> None:
    UsageStore(paths.db_file).close()
    child = subprocess.Popen([sys.executable, "-m", "monitor", "status", "--watch"], cwd=REPO,
                             env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    try:
        assert child.stdout.read(1)  # `| head -c1`: one byte, then the reader is gone
        child.stdout.close()
        code = child.wait(timeout=10)  # nothing changes: no write would tell it
        err = child.stderr.read()
    finally:
        child.kill()
        child.stderr.close()
    assert code == exit_codes.PIPE_CLOSED
    assert err == b""


def test_ctrl_c_while_the_command_starts_is_130_without_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import monitor.cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(monitor.cli, "build_parser", interrupted)  # start-up: before the try
    assert main(["usage"]) == exit_codes.INTERRUPTED
    assert capsys.readouterr().err == ""


def test_price_import_never_grows_the_override_past_its_bound(run: Run, paths: Paths,
                                                              tmp_path: Path) -> None:
    from monitor.core.price_import import MAX_OVERRIDE_MODELS, dump_table

    row = {"effective_from": "2020-01-01", "standard": {"input": 1, "output": 2}}
    existing = {"models": {f"gpt-old-{i}": {"prices": [row]}
                           for i in range(MAX_OVERRIDE_MODELS - 1)}}
    paths.prices_override.write_text(dump_table(existing))
    before = paths.prices_override.read_bytes()
    source = tmp_path / "two.json"
    source.write_text(_litellm(["gpt-new-1", "gpt-new-2"]))
    code, out, err = run("price", "import", str(source), "--apply")
    assert code == exit_codes.ERROR, (out, err)
    _one_error(err, "not applied", f"{MAX_OVERRIDE_MODELS:,}")
    assert paths.prices_override.read_bytes() == before
    source.write_text(_litellm(["gpt-new-1"]))  # exactly at the bound: applied
    code, out, err = run("price", "import", str(source), "--apply")
    assert code == 0, err
