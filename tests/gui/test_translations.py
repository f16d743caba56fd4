"""The zh_CN catalogue covers every UI string, keeps every placeholder, and ships compiled.

The UI strings are read from the sources with `ast`, independently of pyside6-lupdate: a
string lupdate cannot see (a `tr` alias, `widget.tr`, a computed argument) is reported as a
problem, and every string it can see must have a finished translation in
resources/i18n/token_monitor_zh_CN.ts that the shipped .qm returns at run time.
Regenerate with `python tests/e2e/update_translations.py`.
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QTranslator
from PySide6.QtWidgets import QApplication

from monitor.gui import i18n

ROOT = Path(__file__).resolve().parents[2]
GUI = ROOT / "monitor" / "gui"
ALERT_RULES = ROOT / "monitor" / "core" / "alert_rules.py"
ALERT_TEXTS = ROOT / "monitor" / "core" / "alert_texts.py"
"""The alert templates: Qt-free, marked with QT_TRANSLATE_NOOP (scanned like the GUI)."""
DYNAMIC = {("monitor/gui/alerts.py", "alerts")}
"""Where translate() takes a variable: the alert templates, scanned in ALERT_TEXTS."""
TS = ROOT / "resources" / "i18n" / "token_monitor_zh_CN.ts"
_QT_APPS = {"QCoreApplication", "QApplication", "QGuiApplication"}
_HAN = re.compile(r"[\u4e00-\u9fff]")
# What a translation must carry over unchanged: Qt's %1/%n, str.format fields, HTML tags,
# `commands`, and &-shortcuts.
_PLACEHOLDER = re.compile(r"%(?:\d+|n)|\{\w*\}|</?[A-Za-z][^>]*>|`[^`]+`|&(?=\w)")
KEEP_AS_IS = {"Token Monitor", "Flex"}
"""Names that read the same in Chinese: the product, OpenAI's service tier."""


@dataclass
class UiStrings:
    """(context, source) → "file:line" of each translatable string, and what lupdate misses."""

    found: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class _Scanner(ast.NodeVisitor):
    def __init__(self, where: str, out: UiStrings) -> None:
        self.where, self.out, self.classes = where, out, [""]

    def _at(self, node: ast.AST) -> str:
        return f"{self.where}:{getattr(node, 'lineno', 0)}"

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        if _is_translate(node.value) or _is_self_tr(node.value):
            self.out.problems.append(f"{self._at(node)}: an alias of {ast.unparse(node.value)} "
                                     "hides its strings from lupdate; call it directly")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if _is_self_tr(f):
            self._take(node, self.classes[-1], node.args[:1])
        elif _is_translate(f) or (isinstance(f, ast.Name) and f.id == "QT_TRANSLATE_NOOP"):
            ctx = node.args[0] if node.args else None
            text = node.args[1] if len(node.args) > 1 else None
            if (isinstance(ctx, ast.Constant) and (self.where, ctx.value) in DYNAMIC
                    and isinstance(text, ast.Name)):
                pass  # a template of ALERT_TEXTS, found there
            elif isinstance(ctx, ast.Constant) and isinstance(ctx.value, str):
                self._take(node, ctx.value, node.args[1:2])
            else:
                self.out.problems.append(f"{self._at(node)}: translate() needs a literal context")
        elif isinstance(f, ast.Attribute) and f.attr == "tr":
            self.out.problems.append(
                f"{self._at(node)}: {ast.unparse(f)}() is filed under the name "
                f"{ast.unparse(f.value)!r}, not its class; use self.tr or "
                "QCoreApplication.translate with a literal context")
        self.generic_visit(node)

    def _take(self, node: ast.Call, context: str, args: list[ast.expr]) -> None:
        text = args[0] if args else None
        if not context:
            self.out.problems.append(f"{self._at(node)}: self.tr outside a class")
        elif isinstance(text, ast.Constant) and isinstance(text.value, str):
            self.out.found.setdefault((context, text.value), self._at(node))
        else:
            self.out.problems.append(f"{self._at(node)}: the text is not a literal string")


def _is_translate(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "translate"
            and isinstance(node.value, ast.Name) and node.value.id in _QT_APPS)


def _is_self_tr(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "tr"
            and isinstance(node.value, ast.Name) and node.value.id == "self")


def scan(source: str, where: str, out: UiStrings | None = None) -> UiStrings:
    out = out if out is not None else UiStrings()
    _Scanner(where, out).visit(ast.parse(source))
    return out


def ui_strings() -> UiStrings:
    out = UiStrings()
    for path in [*sorted(GUI.rglob("*.py")), ALERT_TEXTS]:
        scan(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), out)
    return out


@dataclass(frozen=True)
class Entry:
    context: str
    source: str
    comment: str
    translations: tuple[str, ...]  # one, or one per plural form
    finished: bool


def catalogue(ts: Path = TS) -> Iterator[Entry]:
    for ctx in ET.parse(ts).getroot().iter("context"):
        name = ctx.findtext("name") or ""
        for m in ctx.iter("message"):
            t = m.find("translation")
            assert t is not None
            forms = tuple(f.text or "" for f in t.iter("numerusform")) or (t.text or "",)
            yield Entry(name, m.findtext("source") or "", m.findtext("comment") or "", forms,
                        t.get("type") is None and all(forms))


def placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text))


def dropped_placeholders(source: str, translation: str) -> list[str]:
    """Placeholders of `source` the translation lacks, or extra ones it has."""
    want, have = placeholders(source), placeholders(translation)
    if want == have:
        return []
    return [p for p in want if want.count(p) != have.count(p)] or \
        [p for p in have if have.count(p) != want.count(p)]


# the checks themselves -----------------------------------------------------------------


def test_the_scanner_sees_what_lupdate_sees_and_reports_what_it_misses() -> None:
    found = scan(
        "class Pane:\n"
        "    def a(self):\n"
        "        def later():\n"
        "            return self.tr('Hello %1')\n"
        "        return QCoreApplication.translate('texts', 'Bye')\n",
        "x.py")
    assert found.found == {("Pane", "Hello %1"): "x.py:4", ("texts", "Bye"): "x.py:5"}
    assert not found.problems
    bad = scan(
        "tr = QCoreApplication.translate\n"
        "def f(widget, name):\n"
        "    widget.tr('Lost')\n"
        "    QCoreApplication.translate('texts', name)\n"
        "class W:\n"
        "    def g(self):\n"
        "        t = self.tr\n",
        "y.py")
    assert [p.split(":")[1] for p in bad.problems] == ["1", "3", "4", "7"]
    assert dropped_placeholders("%1 of %2 (%3)", "%1 / %2（%3）") == []
    assert dropped_placeholders("Spent %1 of %2", "已花费 %1") == ["%2"]
    assert dropped_placeholders("{name} is <b>big</b>", "{name} 很大") == ["</b>", "<b>"]
    assert dropped_placeholders("run `token-monitor sync`", "运行 token-monitor sync") == [
        "`token-monitor sync`"]


# the shipped catalogue -----------------------------------------------------------------


def test_every_ui_string_has_a_finished_zh_cn_translation() -> None:
    strings = ui_strings()
    assert not strings.problems, "\n".join(strings.problems)
    assert len(strings.found) > 400  # the scanner really walked the GUI
    done = {(e.context, e.source) for e in catalogue() if e.finished}
    missing = [f"{where}: [{ctx}] {src!r}" for (ctx, src), where in sorted(
        strings.found.items(), key=lambda kv: kv[1]) if (ctx, src) not in done]
    assert not missing, ("untranslated (run tests/e2e/update_translations.py and translate):\n"
                         + "\n".join(missing))


def test_the_catalogue_has_no_unfinished_entry_and_keeps_placeholders() -> None:
    entries = list(catalogue())
    unfinished = [f"[{e.context}] {e.source!r}" for e in entries if not e.finished]
    assert not unfinished, "\n".join(unfinished)
    broken = [f"[{e.context}] {e.source!r} → {t!r}: {dropped_placeholders(e.source, t)}"
              for e in entries for t in e.translations if dropped_placeholders(e.source, t)]
    assert not broken, "\n".join(broken)
    english = [f"[{e.context}] {e.source!r}" for e in entries
               if _HAN.search(e.source) is None and _HAN.search(" ".join(e.translations)) is None
               and e.translations[0] == e.source and e.source not in KEEP_AS_IS
               and re.search(r"[a-z]{3}", _PLACEHOLDER.sub("", e.source))]
    assert not english, "left in English:\n" + "\n".join(english)


def test_the_shipped_qm_is_compiled_from_the_catalogue() -> None:
    qm = QTranslator()
    assert qm.load(i18n.qm_path("zh_CN"))
    stale = [f"[{e.context}] {e.source!r}" for e in catalogue()
             if e.finished and len(e.translations) == 1
             and qm.translate(e.context, e.source, e.comment or None) != e.translations[0]]
    assert not stale, "the .qm is older than the .ts (run update_translations.py):\n" + \
        "\n".join(stale)


# alerts: one template table (core/alert_texts), read through the catalogue ----------------


def _alert_kinds() -> set[str]:
    """Every kind the rules (core/alert_rules) can raise, read from their `Alert(...)` calls."""
    kinds: set[str] = set()
    for node in ast.walk(ast.parse(ALERT_RULES.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "Alert" and node.args
                and isinstance(node.args[0], ast.Constant)):
            kinds.add(str(node.args[0].value))
    return kinds


@pytest.fixture
def chinese(qapp: QApplication) -> Iterator[None]:
    translators = i18n.install(qapp, "zh_CN")
    assert translators
    yield
    i18n.remove(qapp, translators)


@pytest.mark.parametrize("variant", [
    {"scope": "cycle", "per": "day", "over": "$1.00", "days": "3", "so_far": "1",
     "count": "1"},
    {"scope": "key", "per": "month", "over": "", "days": "-1", "so_far": "",
     "key_kind": "project"},
])
def test_every_alert_kind_the_engine_raises_reads_in_chinese(
        chinese: None, variant: dict[str, str]) -> None:
    from monitor.gui.alerts import notification_for
    from monitor.services.alerting import Alert

    kinds = _alert_kinds()
    assert {"threshold", "hard_cap", "virtual_key_cap", "spike_hour", "key_age"} <= kinds
    values = {"label": "notes-bot", "count": "4", "resets": "2026-12-01 00:00 UTC",
              "spend": "$9.00", "cap": "$5.00", "pct": "80", "limit": "$120",
              "projected": "$131", "date": "2026-11-27", "factor": "4.5", "median": "$2.00",
              "name": "proj_x", "requests": "12", "remaining": "$3.00", "amount": "$50.00",
              "hour": "2026-11-20T14:00:00+00:00",
              **variant}
    params = tuple(values.items())
    for kind in sorted(kinds):
        n = notification_for(Alert(kind, "k", params=params))
        assert _HAN.search(n.title) and _HAN.search(n.body), (kind, n.title, n.body)
        assert "English" not in n.title + n.body, kind
        assert "%1" not in n.title + n.body and "%2" not in n.body, (kind, n.body)


def test_every_alert_the_rules_raise_reads_in_chinese_from_the_one_table(chinese: None) -> None:
    from PySide6.QtCore import QCoreApplication

    from monitor.core.alert_rules import Alert
    from monitor.core.alert_texts import TEXTS
    from monitor.gui.alerts import notification_for
    from tests.unit.test_alert_rules import every_alert

    for t in TEXTS.values():
        for text in (t.title, t.body, *(t.more[1:] if t.more else ())):
            assert _HAN.search(QCoreApplication.translate("alerts", text)), text
    for alert in [*every_alert(), Alert("test", "", urgency="low")]:
        n = notification_for(alert)
        assert _HAN.search(n.title) and _HAN.search(n.body), (alert, n)
        assert not re.search(r"%\d", n.title + n.body), (alert, n)
