"""No module under monitor/ opens a database file (main, -wal, -shm, -journal) outside SQLite.

SQLite's locks are POSIX locks of a process and an inode: closing any descriptor of the file
drops all of the process's locks on it, and a CLI process then deletes -wal/-shm under the tray
app (issue 21). This check reads every module's AST and follows, within each function, what is
derived from the database path: names such as `db_path`/`db_file`/`store_path`, `self.path` of
a Database/Store class, strings such as "-wal" or ".sqlite3", and what is built from them
(`x / "..."`, `x.with_name(...)` with a database-ish name, f-strings, `Path(x)`, assignments).
`.parent` leaves the file (a folder), so the spool or backups folder next to it are not files
of the database. Opening such a value with os.open/open()/io.open/Path.open/read_bytes/
write_bytes/read_text/write_text/shutil.copy*/atomic_write_* is reported, and so is passing it
to a function of monitor/ that opens its parameter.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import monitor

PKG = Path(monitor.__file__).parent

_DB_NAME = re.compile(
    r"^(db|db_path|db_file|database|database_path|database_file|store_path|sqlite_path)$")
_DB_TEXT = ("-wal", "-shm", "-journal", ".sqlite3", ".sqlite", ".db")
_OPEN_METHODS = {"open", "read_bytes", "write_bytes", "read_text", "write_text"}
_OPEN_FUNCS = {"os.open", "open", "io.open", "builtins.open", "os.fdopen", "os.truncate",
               "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move",
               "atomic_write_text", "atomic_write_bytes"}
_DB_CLASS = re.compile(r"Database|Store")
_STORE_NAME = re.compile(r"(^|[._])(store|db|database|usage_store)$", re.IGNORECASE)


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _receiver(node: ast.AST) -> str:
    """The dotted name of what `.path` is read on (a call stands for its function)."""
    if isinstance(node, ast.Call):
        node = node.func
    return _dotted(node) or ""


class _Function:
    """Taint within one function (or module body): which names hold a database path."""

    def __init__(self, nodes: list[ast.AST], params: list[str], in_db_class: bool,
                 seeds: set[str]) -> None:
        self.in_db_class = in_db_class
        self.tainted = {p for p in params if _DB_NAME.match(p)} | seeds
        self.nodes = nodes
        self._settle()

    def _settle(self) -> None:
        changed = True
        while changed:
            changed = False
            for node in self.nodes:
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                    targets, value = [node.target], node.value
                elif isinstance(node, (ast.For, ast.comprehension)):
                    targets, value = [node.target], node.iter
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    targets, value = [node.optional_vars], node.context_expr
                elif isinstance(node, ast.NamedExpr):
                    targets, value = [node.target], node.value
                if value is None or not self.is_db(value):
                    continue
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name) and name.id not in self.tainted:
                            self.tainted.add(name.id)
                            changed = True

    def is_db(self, node: ast.AST) -> bool:
        """Whether `node` evaluates to (a path of) a database file."""
        if isinstance(node, ast.Name):
            return node.id in self.tainted
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str) and any(t in node.value for t in _DB_TEXT)
        if isinstance(node, ast.Attribute):
            if node.attr in ("parent", "parents", "anchor", "root", "drive"):
                return False  # a folder, not the file
            if _DB_NAME.match(node.attr):
                return True
            if node.attr == "path" and self.in_db_class and _dotted(node.value) == "self":
                return True
            if node.attr == "path" and _STORE_NAME.search(_receiver(node.value)):
                return True  # store.path, self._store.path, ctx.store().path
            return node.attr in ("name", "stem") and self.is_db(node.value)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("with_name", "with_suffix",
                                                                 "with_stem"):
                return any(self.is_db(a) for a in node.args)
            if isinstance(func, ast.Attribute) and func.attr in (
                    "resolve", "absolute", "expanduser", "joinpath", "__fspath__"):
                return self.is_db(func.value) or any(self.is_db(a) for a in node.args)
            name = _dotted(func)
            if name in ("Path", "pathlib.Path", "PurePath", "str", "os.fspath", "fspath",
                        "os.path.join", "os.path.abspath", "os.path.realpath"):
                return any(self.is_db(a) for a in node.args)
            return False
        if isinstance(node, ast.BinOp):
            return self.is_db(node.left) or self.is_db(node.right)
        if isinstance(node, ast.JoinedStr):
            return any(self.is_db(v) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            return self.is_db(node.value)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(self.is_db(e) for e in node.elts)
        if isinstance(node, ast.IfExp):
            return self.is_db(node.body) or self.is_db(node.orelse)
        if isinstance(node, ast.Subscript):
            return self.is_db(node.value)
        return False

    def opens(self, openers: dict[str, set[int]]) -> list[ast.Call]:
        """The calls that open a database path (directly, or through a function of ours)."""
        found = []
        for node in self.nodes:
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = _dotted(func)
            if name in _OPEN_FUNCS or (name or "").rsplit(".", 1)[-1] in (
                    "atomic_write_text", "atomic_write_bytes"):
                if any(self.is_db(a) for a in node.args[:2]):
                    found.append(node)
            elif isinstance(func, ast.Attribute) and func.attr in _OPEN_METHODS and (
                    self.is_db(func.value)):
                found.append(node)
            elif name is not None and name.rsplit(".", 1)[-1] in openers:
                positions = openers[name.rsplit(".", 1)[-1]]
                if any(i in positions and self.is_db(a) for i, a in enumerate(node.args)):
                    found.append(node)
        return found


def _functions(tree: ast.Module) -> list[tuple[ast.AST, bool]]:
    """(function or module, inside a Database/Store class) for every scope of the module."""
    scopes: list[tuple[ast.AST, bool]] = [(tree, False)]

    def visit(node: ast.AST, in_db: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                bases = " ".join(filter(None, (_dotted(b) for b in child.bases)))
                visit(child, bool(_DB_CLASS.search(child.name + " " + bases)))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                scopes.append((child, in_db))
                visit(child, in_db)
            else:
                visit(child, in_db)

    visit(tree, False)
    return scopes


def _params(node: ast.AST) -> list[str]:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    a = node.args
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]


def _nodes(node: ast.AST) -> list[ast.AST]:
    """Every node of the scope's body (a nested function's too: it sees the outer names)."""
    if isinstance(node, ast.Module):  # module level only, functions are scopes of their own
        body = [s for s in node.body
                if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    else:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        body = node.body
    return [n for stmt in body for n in ast.walk(stmt)]


_Scope = tuple[ast.AST, bool, list[ast.AST]]


def _scopes(tree: ast.Module) -> list[_Scope]:
    return [(scope, in_db, _nodes(scope)) for scope, in_db in _functions(tree)]


def _openers(modules: list[list[_Scope]]) -> dict[str, set[int]]:
    """Functions of monitor/ that open one of their parameters: name -> positions."""
    probes: list[tuple[str, int, _Function]] = []
    for scopes in modules:
        for scope, _in_db, nodes in scopes:
            params = _params(scope)
            if not params or not any(isinstance(n, ast.Call) for n in nodes):
                continue
            assert isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef))
            offset = 1 if params[0] in ("self", "cls") else 0
            for i, param in enumerate(params[offset:]):
                probes.append((scope.name, i, _Function(nodes, [], False, {param})))
    openers: dict[str, set[int]] = {}
    changed = True
    while changed:  # a function that passes its parameter to an opener opens it too
        changed = False
        for name, i, probe in probes:
            if i not in openers.get(name, set()) and probe.opens(openers):
                openers.setdefault(name, set()).add(i)
                changed = True
    return openers


def offenders(sources: dict[str, str]) -> list[str]:
    """`file:line: code` of every opening of a database path in `sources` (name -> text)."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    lines = {name: text.splitlines() for name, text in sources.items()}
    modules = {name: _scopes(tree) for name, tree in trees.items()}
    openers = _openers(list(modules.values()))
    found = []
    for name, scopes in modules.items():
        module_level = _Function(scopes[0][2], [], False, set()).tainted  # e.g. _SUFFIX
        for scope, in_db, nodes in scopes:
            seeds = set() if isinstance(scope, ast.Module) else module_level
            fn = _Function(nodes, _params(scope), in_db, seeds)
            for call in fn.opens(openers):
                found.append(f"{name}:{call.lineno}: {lines[name][call.lineno - 1].strip()}")
    return sorted(found)


def _package_sources() -> dict[str, str]:
    return {str(p.relative_to(PKG)): p.read_text(encoding="utf-8")
            for p in sorted(PKG.rglob("*.py"))}


def test_no_module_opens_a_database_file_outside_sqlite() -> None:
    sources = _package_sources()
    assert "services/store/connection.py" in sources
    assert offenders(sources) == []


# The check itself must be able to fail: each snippet below opens a database file.

_OLD_CREATE = """
class Database:
    def _create_private_file(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
"""


def _snippet(code: str) -> dict[str, str]:
    return {"snippet.py": textwrap.dedent(code)}


def test_the_check_catches_the_old_create_private_file() -> None:
    assert offenders(_snippet(_OLD_CREATE)) == [
        "snippet.py:4: fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)"]


def test_the_check_catches_companions_identity_reads_and_helpers() -> None:
    code = """
    def fsync_wal(db_path):
        wal = db_path.with_name(db_path.name + "-wal")
        with open(wal, "rb+") as fh:
            os.fsync(fh.fileno())

    def identity(paths):
        return hashlib.sha1(paths.db_file.read_bytes()).hexdigest()

    def tag(path):
        return path.read_bytes()

    def cache_key(paths):
        return tag(paths.db_file)

    def shm(folder):
        return Path(folder / "usage.sqlite3-shm").open("rb")

    def backup_tmp(target):
        tmp = target.with_name(f".{target.name}.sqlite3.tmp")
        fd = os.open(tmp, os.O_CREAT)

    class Guard:
        def size(self):
            return len(self.ctx.store().path.read_bytes()) + len(open(self._store.path).read())
    """
    found = offenders(_snippet(code))
    assert [f.split(": ", 1)[0] for f in found] == [
        "snippet.py:14", "snippet.py:17", "snippet.py:21", "snippet.py:25", "snippet.py:25",
        "snippet.py:4", "snippet.py:8"]


def test_the_check_lets_sqlite_stat_and_neighbour_files_be() -> None:
    code = """
    class Database:
        def open(self):
            conn = sqlite3.connect(self.path)
            st = os.stat(self.path)
            os.chmod(self.path, 0o600)

    class RecordSpool:
        def append(self):
            fd = os.open(self.path, os.O_APPEND)

    def spool_for(db_path):
        spool = db_path.with_name("proxy-records.spool")
        return open(spool, "rb")

    def backups(db_path):
        folder = db_path.parent / "backups"
        return folder.iterdir(), open(db_path.parent / "notes.txt")
    """
    assert offenders(_snippet(code)) == []
