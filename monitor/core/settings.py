"""The settings schema: every user setting with its type, default, label and validation."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

LANGUAGES = ("system", "en", "zh_CN")
TRAY_ICON_SHOWS = ("gauge", "today_usd", "cycle_pct")  # the gauge, today's $, the cycle's %
MAX_USD = Decimal(10_000_000)  # far above any API bill; keeps `1e999` out of the budget maths
USD_PLACES = 6  # a millionth of a dollar: finer than any price; `5e-324` would print 330 digits


class SettingError(ValueError):
    """A value a setting cannot take; the message says why, for the user."""


def _decimal(value: Any, *, minimum: Decimal = Decimal(0)) -> Decimal:
    if isinstance(value, bool):
        raise SettingError("must be a number")
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise SettingError(f"{value!r} is not a number") from None
    if not d.is_finite():
        raise SettingError("must be a finite number")
    if d < minimum:
        raise SettingError(f"must be at least {minimum}")
    if d > MAX_USD:
        raise SettingError(f"must be at most {MAX_USD:,}")
    exponent = d.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -USD_PLACES:
        raise SettingError(f"{value!r} has more than {USD_PLACES} decimal places")
    return d


def _int(value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SettingError("must be a whole number")
    try:
        n = int(value)
    except ValueError:
        raise SettingError(f"{value!r} is not a whole number") from None
    if not lo <= n <= hi:
        raise SettingError(f"must be between {lo} and {hi}")
    return n


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise SettingError("must be true or false")


def _thresholds(value: Any) -> tuple[int, ...]:
    """Percentages as a list, or text as people type it: `50,80,90`, `50 80 90`, `50%`."""
    items: list[Any]
    if isinstance(value, str):
        items = [v for v in re.split(r"[\s,;%]+", value) if v]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise SettingError("must be a list of percentages, e.g. 50,80,90,100")
    if not items:
        raise SettingError("needs at least one threshold")
    out = sorted({_int(v, 1, 1000) for v in items})
    return tuple(out)


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise SettingError('must be "local", "UTC" or a zone name such as Europe/Paris')
    if value in ("local", "UTC"):
        return value
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # a zone name: rare, and ~3 ms

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"unknown time zone {value!r}") from None
    return value


def _url(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise SettingError("must be an http:// or https:// URL")
    return value.rstrip("/")


def _optional_url(value: Any) -> str:
    return "" if value is None or value == "" else _url(value)


def _language(value: Any) -> str:
    if value not in LANGUAGES:
        raise SettingError(f"must be one of {', '.join(LANGUAGES)}")
    return str(value)


def _tray_icon_shows(value: Any) -> str:
    if value not in TRAY_ICON_SHOWS:
        raise SettingError(f"must be one of {', '.join(TRAY_ICON_SHOWS)}")
    return str(value)


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None or value == "" else _decimal(value)


def _optional_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SettingError("must be a date as YYYY-MM-DD") from None


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its key, label and group for the UI, and how to validate a raw value."""

    key: str
    label: str
    group: str
    parse: Callable[[Any], Any]


SCHEMA: tuple[SettingSpec, ...] = (
    SettingSpec("monthly_limit_usd", "Monthly limit (USD)", "budget", _decimal),
    SettingSpec("cycle_start_day", "Billing cycle starts on day", "budget",
                lambda v: _int(v, 1, 31)),
    SettingSpec("alert_thresholds_pct", "Alert thresholds (% of limit)", "budget", _thresholds),
    SettingSpec("hard_cap", "Refuse proxy requests past the monthly limit", "budget", _bool),
    SettingSpec("poll_interval_s", "Poll interval (seconds)", "sources",
                lambda v: _int(v, 30, 86_400)),
    SettingSpec("today_timezone", "Time zone of \"today\"", "general", _timezone),
    SettingSpec("openai_base_url", "OpenAI API base URL", "sources", _url),
    SettingSpec("proxy_enabled", "Run the metering proxy", "proxy", _bool),
    SettingSpec("proxy_port", "Proxy port", "proxy", lambda v: _int(v, 1, 65_535)),
    SettingSpec("metrics_enabled", "Expose metrics", "proxy", _bool),
    SettingSpec("metrics_port", "Metrics port (Prometheus, loopback)", "proxy",
                lambda v: _int(v, 1, 65_535)),
    SettingSpec("otlp_endpoint", "OTLP/HTTP endpoint (empty: off)", "proxy", _optional_url),
    SettingSpec("notifications_enabled", "Desktop notifications", "general", _bool),
    SettingSpec("start_at_login", "Start at login", "general", _bool),
    SettingSpec("language", "Language", "general", _language),
    SettingSpec("tray_icon_shows", "Tray icon shows", "general", _tray_icon_shows),
    SettingSpec("key_renew_days", "Remind to renew API keys after (days, 0: never)", "general",
                lambda v: _int(v, 0, 3650)),
    SettingSpec("prepaid_credit_usd", "Prepaid credit (USD)", "credit", _optional_decimal),
    SettingSpec("prepaid_purchased", "Credit purchased on", "credit", _optional_date),
    SettingSpec("prepaid_expires", "Credit expires on", "credit", _optional_date),
)


@dataclass(frozen=True)
class Settings:
    """Typed, validated settings; defaults are what a new user gets."""

    monthly_limit_usd: Decimal = Decimal(120)  # OpenAI's old default usage limit
    cycle_start_day: int = 1
    alert_thresholds_pct: tuple[int, ...] = (50, 80, 90, 100)
    hard_cap: bool = False  # the proxy answers 429 once the cycle's spend reaches the limit
    poll_interval_s: int = 300
    today_timezone: str = "local"
    openai_base_url: str = "https://api.openai.com/v1"
    proxy_enabled: bool = False
    proxy_port: int = 8787
    metrics_enabled: bool = False  # /metrics on 127.0.0.1:metrics_port while the proxy runs
    metrics_port: int = 9787
    otlp_endpoint: str = ""  # OpenTelemetry collector base URL; needs token-monitor[otel]
    notifications_enabled: bool = True
    start_at_login: bool = False
    language: str = "system"
    tray_icon_shows: str = "gauge"
    key_renew_days: int = 90  # a key this many days old (from its added date) is due renewal
    prepaid_credit_usd: Decimal | None = None
    prepaid_purchased: date | None = None
    prepaid_expires: date | None = None

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` validated; raises SettingError naming the bad key."""
        parsed = {}
        for key, raw in changes.items():
            spec = SPEC_BY_KEY.get(key)
            if spec is None:
                raise SettingError(f"unknown setting {key!r}")
            try:
                parsed[key] = spec.parse(raw)
            except SettingError as exc:
                raise SettingError(f"{key}: {exc}") from None
        return dataclasses.replace(self, **parsed)


SPEC_BY_KEY: Mapping[str, SettingSpec] = {s.key: s for s in SCHEMA}


def settings_from_dict(raw: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """Validate `raw`; a bad or unknown key keeps its default and yields a warning."""
    warnings: list[str] = []
    settings = Settings()
    for key, value in raw.items():
        if key not in SPEC_BY_KEY:  # e.g. from a newer version: kept in the file when saving
            warnings.append(f"unknown setting {key!r} (left in the file, not used)")
            continue
        try:
            settings = settings.replace(**{key: value})
        except SettingError as exc:
            warnings.append(str(exc) + "; using the default (the file keeps its value)")
    return settings, warnings


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """JSON-ready form: Decimals as numbers-in-strings are avoided, dates as ISO strings."""
    out: dict[str, Any] = {}
    for spec in SCHEMA:
        value = getattr(settings, spec.key)
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[spec.key] = value
    return out
