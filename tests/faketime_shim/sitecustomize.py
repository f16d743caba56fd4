"""Loaded (via PYTHONPATH) only by the CI passes that run the suite under libfaketime.

libfaketime 0.9.10 (Debian 12) cannot run Python threads correctly in either of its modes:
- with the monotonic clock faked, every *timed* lock wait (`Lock.acquire(timeout=…)`,
  `Event.wait(t)`, `Thread.join(t)`, `Queue.get(timeout=…)`) uses `sem_clockwait` with a
  faked deadline the kernel never reaches, so it hangs forever;
- with `FAKETIME_DONT_FAKE_MONOTONIC=1` those work, but `time.sleep()` (`clock_nanosleep`
  with an absolute monotonic deadline) fails with EINVAL.
We use the second mode and route `time.sleep` through `select`, which takes a relative
timeout. Product code is unchanged; this file is not part of the package.
"""

from __future__ import annotations

import os
import select
import time

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    _real_sleep = time.sleep

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        try:
            _real_sleep(seconds)
        except OSError:
            select.select([], [], [], seconds)

    time.sleep = _sleep
