"""Re-extract the GUI strings into resources/i18n/*.ts (keeping translations) and compile .qm.

Runnable, not a test: `python tests/e2e/update_translations.py`. Uses pyside6-lupdate and
pyside6-lrelease from the same environment. lupdate files strings reached through a local
alias (`tr = self.tr`) under an empty context; they are moved to the class they belong to
(TokenizerPane), where `self.tr` looks them up at run time.
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
ALIAS_CONTEXT = "TokenizerPane"


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


def _refile_contextless(ts: Path, known: dict[str, str]) -> None:
    tree = ET.parse(ts)
    root = tree.getroot()
    contexts = {c.findtext("name"): c for c in root.findall("context")}
    orphan = contexts[None] if None in contexts else contexts.get("")
    target = contexts.get(ALIAS_CONTEXT)
    if orphan is None or target is None:
        return
    have = {m.findtext("source") for m in target.findall("message")}
    for m in orphan.findall("message"):
        if m.findtext("source") not in have:
            target.append(m)
    root.remove(orphan)
    for m in root.iter("message"):
        t = m.find("translation")
        src = m.findtext("source") or ""
        if t is not None and t.get("type") == "unfinished" and src in known:
            t.text = known[src]
            del t.attrib["type"]
    ET.indent(tree)
    tree.write(ts, encoding="utf-8", xml_declaration=True)


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
    for ts in sorted(I18N.glob("*.ts")):
        known = _known_translations(ts)
        # English is the source language: its catalog only holds plural forms.
        extra = ["-pluralonly"] if ts.stem.endswith("_en") else []
        subprocess.run([_tool("pyside6-lupdate"), *sources, "-ts", str(ts), "-no-obsolete",
                        *extra], check=True)
        _refile_contextless(ts, known)
        _fill_moved(ts, known)
        subprocess.run([_tool("pyside6-lrelease"), str(ts), "-qm",
                        str(ts.with_suffix(".qm"))], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
