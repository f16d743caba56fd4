"""No command imports what it does not use: each runs in a fresh interpreter and we look at
`sys.modules` afterwards. The static command table in monitor.cli is what makes this hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import monitor
from monitor.cli import build_parser
from monitor.command_table import COMMANDS

HEAVY = ("tiktoken", "aiohttp", "PySide6", "monitor.gui", "openai")

_PROBE = """
import json, sys
from monitor.cli import main
argv = json.loads(sys.argv[1])
code = main(argv)
heavy = json.loads(sys.argv[2])
loaded = sorted({m.split('.')[0] if not m.startswith('monitor.') else m
                 for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy)})
sys.stdout.write("\\nPROBE " + json.dumps({"code": code, "loaded": loaded,
    "commands": sorted(m for m in sys.modules if m.startswith('monitor.commands.'))}) + "\\n")
"""


def _run(argv: list[str], tmp_path: Path, stdin: str = "") -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(["--home", str(tmp_path), *argv]),
         json.dumps(HEAVY)],
        capture_output=True, text=True, input=stdin, timeout=120,
    )
    marker = [line for line in out.stdout.splitlines() if line.startswith("PROBE ")]
    assert marker, f"probe did not finish: rc={out.returncode} stderr={out.stderr[-2000:]}"
    result: dict[str, object] = json.loads(marker[-1].removeprefix("PROBE "))
    return result


@pytest.mark.parametrize(
    ("argv", "forbidden", "needed"),
    [
        (["count", "-", "--json"], ("aiohttp", "PySide6", "monitor.gui"), "tiktoken"),
        (["price", "gpt-4o", "--json"], ("aiohttp", "PySide6", "monitor.gui", "tiktoken"), None),
        (["usage", "--json"], ("tiktoken", "aiohttp", "PySide6", "monitor.gui"), None),
        (["budget", "--json"], ("tiktoken", "aiohttp", "PySide6", "monitor.gui"), None),
        (["keys", "list", "--json"], ("tiktoken", "aiohttp", "PySide6", "monitor.gui"), None),
        (["status", "--format", "waybar"], ("tiktoken", "aiohttp", "PySide6", "monitor.gui"), None),
        (["budget", "--check"], ("tiktoken", "aiohttp", "PySide6", "monitor.gui"),
         None),
    ],
    ids=["count", "price", "usage", "budget", "keys-list", "status", "budget-check"],
)
def test_command_imports_only_what_it_uses(
    argv: list[str], forbidden: tuple[str, ...], needed: str | None, tmp_path: Path
) -> None:
    result = _run(argv, tmp_path, stdin="hello tokens\n")
    assert result["code"] == (3 if argv[1:] == ["--check"] else 0)  # check: no data yet
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    assert not [m for m in loaded if m.startswith(forbidden)], loaded
    if needed is not None:  # the probe can see an import: the check above is not vacuous
        assert needed in loaded
    # Only the module of the command that ran (and what it uses) was imported.
    module = COMMANDS[argv[0]].module
    allowed = {module, "monitor.commands._output"}
    if argv[0] in ("budget", "status"):
        allowed.add("monitor.commands.usage")  # budget and status reuse usage's --now parsing
    if argv[0] == "status":
        allowed.add("monitor.commands._status_quick")  # tried first: the cache (a miss here)
    if argv[0] == "budget":
        allowed.add("monitor.commands._budget_check")
    if argv[0] == "keys":
        allowed.add("monitor.commands._keys_virtual")  # the `keys virtual …` actions
        allowed.add("monitor.commands._actions")  # `keys` and `keys virtual` are made of them
    commands = result["commands"]
    assert isinstance(commands, list)
    assert module in commands and set(commands) <= allowed, commands


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from monitor.cli import build_parser\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try: build_parser().parse_args(['--help'])\n"
        "    except SystemExit: pass\n"
        "assert 'count' in out.getvalue() and 'tokenizer' in out.getvalue(), out.getvalue()\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('monitor.commands.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_table_lists_every_command_module_with_its_own_help() -> None:
    """A new module in monitor/commands must be registered in COMMANDS, with the same help.

    In a subprocess: importing every command (aiohttp, the proxy, metrics exporters) into the
    test process would only make its later garbage collections slower."""
    on_disk = sorted(p.stem for p in (Path(monitor.__file__).parent / "commands").glob("*.py")
                     if not p.stem.startswith("_"))
    assert sorted(COMMANDS) == on_disk
    code = (
        "import argparse, importlib, json\n"
        "from monitor.cli import load_command_parser\nfrom monitor.command_table import COMMANDS\n"
        "out = {}\n"
        "for name, command in COMMANDS.items():\n"
        "    sub = argparse.ArgumentParser().add_subparsers()\n"
        "    importlib.import_module(command.module).register(sub)\n"
        "    helps = {a.dest: a.help for a in sub._choices_actions}\n"
        "    out[name] = [helps.get(name), command.help,\n"
        "                 load_command_parser(name).prog.endswith(name)]\n"
        "print(json.dumps(out))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert sorted(found) == on_disk
    for name, (registered, listed, prog_ok) in found.items():
        assert registered == listed, name
        assert prog_ok, name


def test_subcommand_help_and_errors_reach_the_real_parser(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["count", "--help"])
    assert "--chat" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["count", "--no-such-flag"])
    assert exc.value.code == 2
    args = build_parser().parse_args(["--home", "/x", "keys", "list", "--json"])
    assert args.command == "keys" and args.json and callable(args.func)
