"""How `status` prints its figures: one line, the waybar/i3blocks/tmux forms, the tooltip.

Kept apart from the command so a status bar's repeated call can print from the cached figures
without importing the command's machinery (monitor/commands/status_quick.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from monitor.core import money
from monitor.core.json_text import to_json_line
from monitor.core.limit_share import STATE_COLOURS
from monitor.core.money import usd
from monitor.services.status import StatusFigures

FORMATS = ("text", "json", "waybar", "i3blocks", "tmux")
TEMPLATE_FIELDS = ("today_usd", "cycle_usd", "limit_usd", "pct", "projected_usd",
                   "today_tokens", "state", "cost_basis")
TOOLTIP_MODELS = 8
MAX_TEMPLATE_WIDTH = 200
"""The widest field (or precision) a template may ask for: a status bar line is short, and
`{today_usd:>999999999}` would print a gigabyte."""
_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<precision>\d*))?"
                   r"[a-zA-Z%]?")



def whole_usd(amount: Decimal) -> str:
    """`$120` for whole dollars, `$120.50` otherwise (limits read better without cents)."""
    return money.usd(amount, whole_if_integral=True)


def compact_count(n: int) -> str:
    """812, 12.3k, 1.2M, 3.4B: token counts in a few characters."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if n >= size:
            value = n / size
            return f"{value:.1f}{suffix}" if value < 100 else f"{value:.0f}{suffix}"
    return str(n)


def template_fields(f: StatusFigures) -> dict[str, str]:
    """The `--template` fields as the user reads them."""
    return {
        "today_usd": usd(f.today_usd),
        "cycle_usd": usd(f.cycle_usd),
        "limit_usd": whole_usd(f.limit_usd) if f.limit_usd > 0 else "no limit",
        "pct": str(f.percent) if f.used_fraction is not None else "-",
        "projected_usd": usd(f.projected_usd) if f.projected_usd is not None else "-",
        "today_tokens": compact_count(f.today_tokens),
        "state": f.state,
        "cost_basis": f.cost_basis,
    }


def template_problem(template: str) -> str | None:
    """Why `template` cannot be used (an unknown field, a stray brace), or None."""
    import string  # only a --template pays for it (status bars start often)

    sample = {k: "" for k in TEMPLATE_FIELDS}
    try:
        for _, field_name, spec, _ in string.Formatter().parse(template):
            if field_name is not None and spec:
                problem = _spec_problem(field_name, spec)
                if problem:
                    return problem
        template.format_map(sample)
    except KeyError as exc:
        return (f"unknown field {{{exc.args[0]}}}; use "
                + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS))
    except (ValueError, IndexError, AttributeError) as exc:
        return f"{exc} (write a literal brace as {{{{ or }}}})"
    return None


def _spec_problem(field_name: str, spec: str) -> str | None:
    """Why the format spec of one field cannot be used (nested, too wide), or None."""
    if "{" in spec or "}" in spec:
        return f"{{{field_name}:…}}: a field inside a format spec is not supported"
    m = _SPEC.fullmatch(spec)
    if m is None:
        return None  # format_map reports an invalid spec in its own words
    for part in ("width", "precision"):
        value = m.group(part)
        # compared as text first: a 10,000-digit width is refused without int() on it
        if value and (len(value) > 6 or int(value) > MAX_TEMPLATE_WIDTH):
            return (f"{{{field_name}:{spec[:20]}}}: a {part} of at most "
                    f"{MAX_TEMPLATE_WIDTH} is accepted")
    return None


def line(f: StatusFigures, template: str | None = None) -> str:
    """The one-line summary: `$1.61 today · $13.24 of $120 (11 %)`."""
    v = template_fields(f)
    if template is not None:
        return template.format_map(v)
    if f.state == "no_data":
        return "no usage data yet"
    text = f"{v['today_usd']} today · {v['cycle_usd']}"
    text += f" of {v['limit_usd']} ({v['pct']} %)" if f.limit_usd > 0 else " this cycle"
    if f.stale:
        text += " · stale"
    return text


def short_line(f: StatusFigures) -> str:
    """The narrow form (i3blocks short_text): `$1.61 · 11 %`."""
    if f.state == "no_data":
        return "no data"
    text = usd(f.today_usd)
    if f.used_fraction is not None:
        text += f" · {f.percent} %"
    return text


def _when(dt: datetime | None) -> str:
    return "never" if dt is None else f"{dt:%Y-%m-%d %H:%M} UTC"


def tooltip(f: StatusFigures) -> str:
    """Several lines: today, the cycle, the projection, spend per model, freshness."""
    lines = [f"Today: {usd(f.today_usd)} · {compact_count(f.today_tokens)} tokens"]
    last_day = (f.cycle.end - timedelta(microseconds=1)).date()
    cycle = f"Cycle {f.cycle.start:%b %d} → {last_day:%b %d}: {usd(f.cycle_usd)}"
    if f.limit_usd > 0:
        cycle += f" of {whole_usd(f.limit_usd)} ({f.percent} %)"
    lines.append(f"{cycle} ({f.cost_basis})")
    if f.projected_usd is not None:
        lines.append(f"At this pace: {usd(f.projected_usd)} by the end of the cycle")
    for m in f.models[:TOOLTIP_MODELS]:
        cost = usd(m.cost_usd) if m.cost_usd is not None else "price unknown"
        tokens = f" · {compact_count(m.tokens)} tokens" if m.tokens else ""
        lines.append(f"  {m.model}: {cost}{tokens}")
    if len(f.models) > TOOLTIP_MODELS:
        lines.append(f"  … {len(f.models) - TOOLTIP_MODELS} more")
    if f.state == "no_data":
        lines.append("No usage data yet: run `token-monitor sync` or the proxy")
    else:
        lines.append(("Stale: no source updated since " if f.stale else "Updated ")
                     + _when(f.as_of))
    return "\n".join(lines)


def _pango(text: str) -> str:
    """waybar parses text and tooltip as Pango markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def renderer(fmt: str, template: str | None, *, watch: bool = False,
             ) -> Callable[[StatusFigures], str]:
    """A function turning figures into the output of `fmt` (one line, except i3blocks)."""
    def render(f: StatusFigures) -> str:
        colour = STATE_COLOURS[f.state]
        if fmt == "json":
            return to_json_line(f.to_json())
        if fmt == "waybar":
            return to_json_line({"text": _pango(line(f, template)),
                                 "tooltip": _pango(tooltip(f)), "class": f.state,
                                 "alt": f.state, "percentage": f.percent})
        if fmt == "i3blocks":
            full, short = line(f, template), short_line(f)
            if watch:  # persistent blocks read one JSON object per line (format=json)
                return to_json_line({"full_text": full, "short_text": short,
                                     "color": colour, "urgent": f.state == "over"})
            return f"{full}\n{short}\n{colour}"
        if fmt == "tmux":
            bold = ",bold" if f.state == "over" else ""
            return f"#[fg={colour.lower()}{bold}]{line(f, template)}#[default]"
        return line(f, template)

    return render
