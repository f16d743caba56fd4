"""A guard against a PySide6 6.12.0 reference leak on None that aborts long sessions on 3.11.

# WORKAROUND for PySide6/shiboken6 6.12.0 on CPython 3.11 (not 6.11.2, not needed on 3.12+,
# where None is immortal): every call of a void C++ method (setText, QTimer.start, update,
# processEvents, …) returns None without taking a new reference, so None's reference count
# drops by one per call. It starts near 7 000; once it reaches zero the interpreter aborts with
# "Fatal Python error: none_dealloc". Measured here: ~4 references lost per keystroke in the
# tokenizer pane, i.e. a crash after ~1 700 keystrokes. The fix belongs in the dependency pin
# (PySide6 != 6.12.0) or the app's start-up; until then the tokenizer window, its tests and its
# benchmark call `protect_none()`, which gives None a reference count no session can exhaust
# (what CPython 3.12 does by design), and only when the leak is actually present.
"""

from __future__ import annotations

import sys

_HEADROOM = 1 << 60
_ALREADY = 1 << 50


def leaks_none() -> bool:
    """True if a void PySide call loses a reference to None in this process."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 4


def protect_none() -> bool:
    """Make None effectively immortal if this PySide build leaks it; True if it did anything."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if sys.getrefcount(None) >= _ALREADY or not leaks_none():
        return False
    import ctypes  # only where the leak is present: it is not needed to start otherwise

    ctypes.c_ssize_t.from_address(id(None)).value += _HEADROOM
    return True
