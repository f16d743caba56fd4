"""Re-extract the GUI strings (and the alert templates of monitor/core/alert_texts.py, marked
with QT_TRANSLATE_NOOP) into resources/i18n/*.ts (keeping translations) and compile .qm.

Runnable, not a test: `python tests/e2e/update_translations.py`. Uses pyside6-lupdate and
pyside6-lrelease from the same environment. lupdate only sees `self.tr("...")` and
`QCoreApplication.translate("context", "...")` spelled out: a string reached through an alias
(`tr = QCoreApplication.translate`) is filed wrongly (its context taken for its text, or under
an empty context) and never translated, so this script stops with the places to fix instead.
tests/gui/test_translations.py checks the same rule on the sources and the shipped catalogue.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "resources" / "i18n"


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _known_translations(ts: Path) -> dict[str, str]:
    """Finished translations by source text (lupdate drops the ones it re-files)."""
    known: dict[str, str] = {}
    for m in ET.parse(ts).getroot().iter("message"):
        t = m.find("translation")
        if t is not None and t.get("type") is None and t.text and m.get("numerus") != "yes":
            known[m.findtext("source") or ""] = t.text
    return known


def _misfiled(ts: Path) -> list[str]:
    """Locations of strings lupdate filed under an empty context (reached through an alias)."""
    found: list[str] = []
    for c in ET.parse(ts).getroot().findall("context"):
        if c.findtext("name"):
            continue
        for m in c.findall("message"):
            for loc in m.findall("location"):
                found.append(f"{loc.get('filename')}:{loc.get('line')}: {m.findtext('source')!r}")
    return found


_UNFINISHED = re.compile(
    r'<source>(?P<src>[^<]*)</source>(?P<gap>\s*)'
    r'<translation type="unfinished"\s*(?:/>|>[^<]*</translation>)')


def _fill_moved(ts: Path, known: dict[str, str]) -> None:
    """Strings that moved to another class keep their translation (matched by source text;
    lupdate only guesses them, marked unfinished); edited as text so the file keeps lupdate's
    layout and the diff stays small."""
    text = ts.read_text(encoding="utf-8")

    def fill(m: re.Match[str]) -> str:
        found = known.get(html.unescape(m["src"]))
        if found is None:
            return m[0]
        return (f'<source>{m["src"]}</source>{m["gap"]}'
                f"<translation>{xml_escape(found)}</translation>")

    ts.write_text(_UNFINISHED.sub(fill, text), encoding="utf-8")


def main() -> int:
    sources = sorted(str(p) for p in (ROOT / "monitor" / "gui").rglob("*.py"))
    sources.append(str(ROOT / "monitor" / "core" / "alert_texts.py"))  # the alert templates
    for ts in sorted(I18N.glob("*.ts")):
        known = _known_translations(ts)
        # English is the source language: its catalog only holds plural forms.
        extra = ["-pluralonly"] if ts.stem.endswith("_en") else []
        subprocess.run([_tool("pyside6-lupdate"), *sources, "-ts", str(ts), "-no-obsolete",
                        *extra], check=True)
        misfiled = _misfiled(ts)
        if misfiled:
            print("Strings reached through an alias of tr/translate (call it directly):",
                  *misfiled, sep="\n  ", file=sys.stderr)
            return 1
        _fill_moved(ts, known)
        subprocess.run([_tool("pyside6-lrelease"), str(ts), "-qm",
                        str(ts.with_suffix(".qm"))], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
