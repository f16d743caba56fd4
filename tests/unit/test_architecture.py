"""The layers: core and services never import Qt; imports point down only (gui/commands →
context → services → core), with no import circles; the CLI's commands import no GUI module."""

from __future__ import annotations

import ast
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
    """Every command module itself, not only the parser: a window is opened only from inside
    `run` (the tokenizer command), never by importing a command."""
    names = _modules("commands")
    assert "monitor.commands.usage" in names and "monitor.commands.status" in names
    code = (
        "import importlib, sys\n"
        "from monitor.cli import build_parser\n"
        "build_parser()\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "gui = ('PySide6', 'monitor.gui')\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(gui))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- the import graph, read by ast from every module (type-only imports count too) ------------

# Low to high. A module imports only its own layer or lower ones. Top-level helpers (errors,
# paths, log, atomic, resources, …) are the base every layer may use.
_LAYERS = {"core": 1, "services": 2, "context": 3, "commands": 4, "gui": 4,
           "cli": 5, "cli_parser": 5, "__main__": 5}
# A command whose whole job is to open a window may reach sideways into the GUI (from `run`).
_SIDEWAYS = {"monitor.commands.tokenizer"}


def _layer(module: str) -> int:
    parts = module.split(".")
    return _LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def _all_modules() -> dict[str, Path]:
    return {"monitor." + ".".join(p.relative_to(PKG).with_suffix("").parts).removesuffix(
        ".__init__") if p != PKG / "__init__.py" else "monitor": p for p in PKG.rglob("*.py")}


def _import_graph() -> dict[str, set[str]]:
    mods = _all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                for a in node.names:
                    full = f"{base}.{a.name}"
                    found.add(full if full in mods else base)
        graph[name] = {m for m in found if m in mods and m != name}
    return graph


def test_the_import_graph_is_read_from_every_module() -> None:
    graph = _import_graph()
    assert len(graph) > 100
    assert "monitor.services.store" in graph["monitor.services.snapshot_build"]
    assert "monitor.core.money" in graph["monitor.gui.fmt"]


def test_imports_point_down_only() -> None:
    up = sorted(
        f"{m} -> {t}" for m, targets in _import_graph().items() for t in targets
        if (_layer(t) > _layer(m)
            or (_layer(t) == _layer(m) == 4 and t.split(".")[1] != m.split(".")[1]
                and m not in _SIDEWAYS))
    )
    assert up == []


def test_no_import_circles() -> None:
    graph = _import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                circles.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert circles == []


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


# -- module size --------------------------------------------------------------------------------

MAX_MODULE_LINES = 600
# Known to be over, and not to grow: each is to be split along its seams.
OVER_BUDGET = {"gui/tokenizer/pane.py": 670, "gui/keys_dialog.py": 630,
               "services/proxy/caps.py": 630}


def test_modules_stay_within_a_few_hundred_lines() -> None:
    over = {}
    for path in sorted(PKG.rglob("*.py")):
        name = path.relative_to(PKG).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > OVER_BUDGET.get(name, MAX_MODULE_LINES):
            over[name] = lines
    assert over == {}
    assert all((PKG / name).exists() for name in OVER_BUDGET)  # a split module leaves the list
