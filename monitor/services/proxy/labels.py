"""Label values the proxy's exporters share (/metrics and OTLP): outcome classes and
cardinality caps, so a team's backend sees the same `model`/`key` values from both."""

from __future__ import annotations

import threading

from monitor.core.usage import TokenUsage

OTHER = "other"
"""The label value every model, key or project beyond its cap folds into."""
NO_MODEL = "unknown"
"""The model of requests whose model is not known (no body, an error before a model)."""
LABEL_MAX_CHARS = 120


def status_class(status: int, priced: bool, usage: TokenUsage) -> str:
    """`2xx`, `4xx`, `5xx`, or `unmetered`: a non-error response whose usage the proxy could
    not read (no usage in the body, or a stream cut short), so its tokens and cost are unknown.
    1xx/3xx count as 2xx (the request did not fail)."""
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    if not priced and usage.input_tokens == 0 and usage.output_tokens == 0:
        return "unmetered"
    return "2xx"


class LabelCap:
    """Label values for one dimension: the first `cap` distinct ones keep their name (cut to
    LABEL_MAX_CHARS), every later one becomes `other`. Thread-safe."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._kept: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        value = value[:LABEL_MAX_CHARS]
        if value in self._kept:  # the common case: no lock (set lookups are atomic)
            return value
        with self._lock:
            if len(self._kept) < self._cap and value != OTHER:
                self._kept.add(value)
                return value
        return value if value in self._kept else OTHER
