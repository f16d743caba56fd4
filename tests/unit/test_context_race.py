"""The composition root builds each service once, even when two threads ask at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from monitor.context import AppContext
from monitor.paths import resolve_paths

HOMES = 20


def race(ctx: AppContext, get: Any) -> list[Any]:
    """Call `get(ctx)` on two threads released together; what each got back (or raised)."""
    start = threading.Barrier(2)
    got: list[Any] = [None, None]

    def run(i: int) -> None:
        start.wait()
        try:
            got[i] = get(ctx)
        except BaseException as exc:  # e.g. "database is locked" from a second migration
            got[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return got


def test_two_threads_on_fresh_homes_share_one_of_each_service(tmp_path: Path) -> None:
    for n in range(HOMES):
        ctx = AppContext(resolve_paths(tmp_path / f"home{n}").ensure())
        try:
            for get in (lambda c: c.store(), lambda c: c.settings, lambda c: c.prices()):
                a, b = race(ctx, get)
                assert not isinstance(a, BaseException), a
                assert not isinstance(b, BaseException), b
                assert a is b
            assert ctx.store().schema_version() > 0
        finally:
            ctx.close()
