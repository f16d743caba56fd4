"""The words of every alert: one template table, rendered in English or through a catalogue.

An `Alert` (core/alert_rules) carries a kind and parameters; `render` picks its template
(`text_id`: a kind has variants, e.g. one request or many) and fills `%1`, `%2`, … with its
parameters. The CLI renders English (`english`); the GUI passes Qt's translate for the
"alerts" context and its date formatter, so 简体中文 comes from resources/i18n like every
other UI string. The templates are marked with QT_TRANSLATE_NOOP so pyside6-lupdate files
them under "alerts" (tests/e2e/update_translations.py scans this module too).

Parameters arrive formatted by their owners (money by core.money, the share by
core.limit_share); dates arrive as ISO text and are written by the surface's date formatter
(`day`), a cap's reset instant as `2026-12-01 00:00 UTC`, an hour as `14:00` (UTC).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from monitor.core.alert_rules import CYCLE_SCOPE, Alert


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # the name lupdate reads
    """Marks `text` for the translation catalogue under `context`; returns it unchanged."""
    del context
    return text


@dataclass(frozen=True)
class Template:
    """A title and a body with `%n` placeholders, the parameter each stands for, and an
    optional sentence appended when its parameter is set."""

    title: str
    body: str
    title_args: tuple[str, ...] = ()
    body_args: tuple[str, ...] = ()
    more: tuple[str, str] | None = None  # (parameter, sentence with %1)


_HARD_CAP_BODY = QT_TRANSLATE_NOOP(
    "alerts", "Requests get HTTP 429 until the cap resets at %1. Refused so far: %2.")
_NEW_KEY = QT_TRANSLATE_NOOP("alerts", "A new API key started spending")
_SPIKE_HOUR = QT_TRANSLATE_NOOP("alerts", "Spending spike this hour")
_KEY_EXPIRED = QT_TRANSLATE_NOOP("alerts", "API key expired")
_CAP_TITLE = QT_TRANSLATE_NOOP("alerts", "Virtual key %1 reached its cap")

TEXTS: dict[str, Template] = {
    "threshold": Template(
        QT_TRANSLATE_NOOP("alerts", "%1 % of your monthly limit used"),
        QT_TRANSLATE_NOOP("alerts", "Spent %1 of %2 this cycle."),
        ("pct",), ("spend", "limit")),
    "projection": Template(
        QT_TRANSLATE_NOOP("alerts", "On pace to exceed your monthly limit"),
        QT_TRANSLATE_NOOP("alerts", "At this pace the cycle ends at %1, over the %2 limit."),
        (), ("projected", "limit"),
        ("date", QT_TRANSLATE_NOOP("alerts", "Crossing around %1."))),
    "spike": Template(
        QT_TRANSLATE_NOOP("alerts", "Spending spike today"),
        QT_TRANSLATE_NOOP("alerts", "Today's spend %1 is %2× your usual day (%3)."),
        (), ("spend", "factor", "median")),
    "spike_hour": Template(
        _SPIKE_HOUR,
        QT_TRANSLATE_NOOP("alerts", "Spend in the %1 UTC hour is %2, %3× your usual hour (%4)."),
        (), ("hour", "spend", "factor", "median")),
    "spike_hour_so_far": Template(
        _SPIKE_HOUR,
        QT_TRANSLATE_NOOP(
            "alerts", "Spend in the %1 UTC hour so far is %2, %3× your usual hour (%4)."),
        (), ("hour", "spend", "factor", "median")),
    "proxy_key_rejected": Template(
        QT_TRANSLATE_NOOP("alerts", "API key rejected"),
        QT_TRANSLATE_NOOP(
            "alerts", "OpenAI rejected the key %1 (401) on %2 request(s) through the proxy; "
            "requests with it fail. Replace the key in API keys."),
        (), ("label", "count")),
    "new_key_one": Template(
        _NEW_KEY,
        QT_TRANSLATE_NOOP("alerts", "%1 made 1 request this cycle and had not been seen before."),
        (), ("name",)),
    "new_key": Template(
        _NEW_KEY,
        QT_TRANSLATE_NOOP(
            "alerts", "%1 made %2 requests this cycle and had not been seen before."),
        (), ("name", "requests")),
    "key_expiring": Template(
        QT_TRANSLATE_NOOP("alerts", "API key expiring"),
        QT_TRANSLATE_NOOP("alerts", "The key %1 expires on %2."),
        (), ("label", "date")),
    "key_expired": Template(
        _KEY_EXPIRED,
        QT_TRANSLATE_NOOP(
            "alerts", "The key %1 expired on %2; sync no longer uses it. Add a new key in "
            "API keys."),
        (), ("label", "date")),
    "key_expired_project": Template(
        _KEY_EXPIRED,
        QT_TRANSLATE_NOOP(
            "alerts", "The key %1 expired on %2; requests with it fail. Add a new key in "
            "API keys."),
        (), ("label", "date")),
    "key_age": Template(
        QT_TRANSLATE_NOOP("alerts", "Time to renew an API key"),
        QT_TRANSLATE_NOOP(
            "alerts", "The key %1 was added on %2 and is due for renewal. Create a new key, "
            "add it in API keys and keep the old one as a backup until the new one works."),
        (), ("label", "date")),
    "key_rejected": Template(
        QT_TRANSLATE_NOOP("alerts", "API key rejected"),
        QT_TRANSLATE_NOOP(
            "alerts", "OpenAI rejected the admin key %1 (401). Organization usage is not "
            "syncing; replace the key in API keys."),
        (), ("label",)),
    "credit_used_up": Template(
        QT_TRANSLATE_NOOP("alerts", "Prepaid credit used up"),
        QT_TRANSLATE_NOOP("alerts", "The %1 prepaid credit is used up, %2 over."),
        (), ("amount", "over")),
    "credit_low": Template(
        QT_TRANSLATE_NOOP("alerts", "Prepaid credit running low"),
        QT_TRANSLATE_NOOP("alerts", "%1 of %2 prepaid credit left."),
        (), ("remaining", "amount")),
    "credit_expiring": Template(
        QT_TRANSLATE_NOOP("alerts", "Prepaid credit about to expire"),
        QT_TRANSLATE_NOOP("alerts", "%1 of prepaid credit expires on %2."),
        (), ("remaining", "date")),
    "virtual_key_cap_day": Template(
        _CAP_TITLE,
        QT_TRANSLATE_NOOP(
            "alerts", "%1 spent %2 of its %3 daily cap (a soft cap: requests still go "
            "through)."),
        ("label",), ("label", "spend", "cap")),
    "virtual_key_cap_month": Template(
        _CAP_TITLE,
        QT_TRANSLATE_NOOP(
            "alerts", "%1 spent %2 of its %3 monthly cap (a soft cap: requests still go "
            "through)."),
        ("label",), ("label", "spend", "cap")),
    "hard_cap_cycle": Template(
        QT_TRANSLATE_NOOP(
            "alerts", "Hard cap reached: the proxy refuses requests past the monthly limit"),
        _HARD_CAP_BODY, (), ("resets", "count")),
    "hard_cap_key": Template(
        QT_TRANSLATE_NOOP(
            "alerts", "Hard cap reached: the proxy refuses requests for virtual key %1"),
        _HARD_CAP_BODY, ("label",), ("resets", "count")),
    "test": Template(
        QT_TRANSLATE_NOOP("alerts", "Token Monitor test notification"),
        QT_TRANSLATE_NOOP("alerts", "Notifications work. Budget alerts will look like this.")),
}

VARIANTS: dict[str, tuple[str, ...]] = {
    "spike_hour": ("spike_hour", "spike_hour_so_far"),
    "new_key": ("new_key_one", "new_key"),
    "key_expired": ("key_expired", "key_expired_project"),
    "credit_low": ("credit_used_up", "credit_low"),
    "virtual_key_cap": ("virtual_key_cap_day", "virtual_key_cap_month"),
    "hard_cap": ("hard_cap_cycle", "hard_cap_key"),
}
"""The kinds with several templates (every other kind's template is named after it)."""


def text_id(alert: Alert) -> str:
    """The template of `alert`: its kind, or the variant its parameters call for."""
    k, p = alert.kind, alert.param
    if k == "spike_hour":
        return "spike_hour_so_far" if p("so_far") else "spike_hour"
    if k == "new_key":
        count = p("count") or p("requests").replace(",", "")
        return "new_key_one" if count == "1" else "new_key"
    if k == "key_expired":
        return "key_expired_project" if p("key_kind") == "project" else "key_expired"
    if k == "credit_low":
        return "credit_used_up" if p("over") else "credit_low"
    if k == "virtual_key_cap":
        return "virtual_key_cap_day" if p("per") == "day" else "virtual_key_cap_month"
    if k == "hard_cap":
        return "hard_cap_cycle" if p("scope") == CYCLE_SCOPE else "hard_cap_key"
    return k


def iso_day(day: date) -> str:
    """The CLI's date: `2026-11-27`."""
    return day.isoformat()


def moment(when: datetime) -> str:
    """A cap's reset instant: `2026-12-01 00:00 UTC` (caps count in UTC periods)."""
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


_SLOT = re.compile(r"%(\d)")


def _value(alert: Alert, name: str, day: Callable[[date], str]) -> str:
    raw = alert.param(name)
    try:
        if name == "date" and raw:
            return day(date.fromisoformat(raw))
        if name == "resets" and raw:
            return moment(datetime.fromisoformat(raw))
        if name == "hour" and raw:
            return f"{datetime.fromisoformat(raw).astimezone(UTC):%H:%M}"
    except ValueError:
        return raw  # not ISO: shown as it came
    return raw


def _fill(template: str, alert: Alert, names: tuple[str, ...],
          day: Callable[[date], str]) -> str:
    """`%1`… replaced in one pass (a parameter holding `%2` stays as it is)."""
    values = [_value(alert, n, day) for n in names]

    def slot(m: re.Match[str]) -> str:
        i = int(m[1]) - 1
        return values[i] if 0 <= i < len(values) else m[0]

    return _SLOT.sub(slot, template)


def render(alert: Alert, *, translate: Callable[[str], str] = _same,
           day: Callable[[date], str] = iso_day) -> Rendered:
    """`alert`'s title and body: templates through `translate` (the GUI's catalogue; English
    by default), dates written by `day`. Raises KeyError for a kind without a template."""
    t = TEXTS[text_id(alert)]
    body = _fill(translate(t.body), alert, t.body_args, day)
    if t.more is not None and alert.param(t.more[0]):
        body += " " + _fill(translate(t.more[1]), alert, (t.more[0],), day)
    return Rendered(_fill(translate(t.title), alert, t.title_args, day), body)


def english(alert: Alert) -> Rendered:
    """The English words of `alert`, dates in ISO (the CLI, logs, tests)."""
    return render(alert)
