"""Which table entry prices a model name: exact, alias, dated snapshot, fine-tune, family.

The names the APIs report are not always the table's: `gpt-4o-2024-08-06`, `ft:gpt-4o-mini:org::id`,
`gpt-4-0613`. One resolver per table answers, with how it matched and whether that makes any
price an estimate; answers are cached per name (a table is built once per load).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from monitor.core.prices.model import ModelInfo, Resolution

__all__ = ["NameResolver"]

_SNAPSHOT_RE = re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}$")
_MODALITY_RE = re.compile(r"-(transcribe|tts|audio|realtime|search|image)(-|$)")
"""A suffix naming another modality: such a name never falls through to a family prefix."""


class NameResolver:
    """Resolves model names against one table's entries and aliases (cached per name)."""

    def __init__(self, models: Mapping[str, ModelInfo], aliases: Mapping[str, str]) -> None:
        self.models = models
        self.aliases = aliases
        families = (name for name, info in models.items() if info.covers_suffixes)
        self._prefixes = tuple(sorted(families, key=len, reverse=True))
        self._resolved: dict[str, tuple[ModelInfo | None, str, str]] = {}

    def resolve(self, model: str) -> Resolution:
        """Map a model name as the API reports it to a table entry.

        Order: exact (case-insensitive) -> alias -> drop a trailing -YYYY-MM-DD snapshot date ->
        a fine-tune `ft:BASE:org:suffix:id` by the table's `ft:BASE` rates (or BASE's own rates,
        flagged as an estimate, when no fine-tune rate is published) -> the longest family entry
        that declares `covers_suffixes`, followed by "-" (e.g. gpt-4-0613 -> gpt-4), unless the
        suffix names another modality (-transcribe, -tts, -audio..., -realtime, -search...,
        -image). Nothing -> unknown.
        """
        key = model.strip().lower()
        hit = self._resolved.get(key)
        if hit is None:
            hit = self._lookup(key)
            self._resolved[key] = hit
        return Resolution(model, hit[0], hit[1], hit[2])

    def _direct(self, name: str) -> tuple[ModelInfo | None, str]:
        if name in self.models:
            return self.models[name], "exact"
        target = self.aliases.get(name)
        if target is not None and target in self.models:
            return self.models[target], "alias"
        return None, "unknown"

    def _lookup(self, name: str) -> tuple[ModelInfo | None, str, str]:
        if not name:
            return None, "unknown", ""
        info, how = self._direct(name)
        if info is not None:
            return info, how, ""
        if name.startswith("ft:"):
            return self._fine_tune(name)
        stem = name
        match = _SNAPSHOT_RE.match(name)
        if match is not None:
            stem = match.group("base")
            info, _ = self._direct(stem)
            if info is not None:
                return info, "snapshot", ""
        for prefix in self._prefixes:
            if stem.startswith(prefix + "-") and not _MODALITY_RE.search(stem[len(prefix):]):
                return self.models[prefix], "prefix", ""
        return None, "unknown", ""

    def _fine_tune(self, name: str) -> tuple[ModelInfo | None, str, str]:
        """`ft:BASE[:org:suffix:id]`: the table's `ft:BASE` (or `ft:` + BASE's snapshot stem)
        rates; else BASE's own rates, flagged: OpenAI bills fine-tuned inference higher."""
        base = name[3:].split(":", 1)[0]
        if not base:
            return None, "unknown", ""
        match = _SNAPSHOT_RE.match(base)
        for candidate in (base, match.group("base") if match else None):
            if candidate is None:
                continue
            info, _ = self._direct("ft:" + candidate)
            if info is not None:
                return info, "fine-tune", ""
        info, _, _ = self._lookup(base)
        if info is None:
            return None, "unknown", ""
        return info, "fine-tune-base", (
            f"fine-tune of {base}: no published fine-tune rate, priced at the base model's "
            "rates (OpenAI bills fine-tuned inference higher)")

