"""The core and services never import Qt; the CLI imports no GUI module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import monitor

PKG = Path(monitor.__file__).parent


def _modules(sub: str) -> list[str]:
    return sorted(
        "monitor." + ".".join(p.relative_to(PKG).with_suffix("").parts).removesuffix(".__init__")
        for p in (PKG / sub).rglob("*.py")
    )


def test_core_and_services_load_no_pyside6() -> None:
    names = _modules("core") + _modules("services")
    assert len(names) > 3
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "bad = sorted(m for m in sys.modules if m.startswith('PySide6'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"Qt imported by the core: {out.stdout}"


def test_cli_commands_import_no_gui() -> None:
    code = (
        "import sys\n"
        "from monitor.cli import build_parser\n"
        "build_parser()\n"
        "gui = ('PySide6', 'monitor.gui')\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(gui))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


_WALL_CLOCK_READS = ("datetime.now(", "datetime.utcnow(", "date.today(", "time.time(",
                     "QDateTime.currentDateTime", "QDate.currentDate")


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    """One clock: logic takes it from the composition root so tests (and faketime) pin it."""
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        if path == PKG / "core" / "clock.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(read in code for read in _WALL_CLOCK_READS):
                offenders.append(f"{path.relative_to(PKG)}:{n}: {line.strip()}")
    assert offenders == []
