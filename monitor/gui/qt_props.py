"""Qt properties set through Qt's property system, for code that runs before the first frame.

PySide6 (6.8+) creates its classes lazily, and the first use of the `Qt` namespace builds
every one of its ~100 Python enums at once: 15–20 ms on a 2-core machine, about a sixth of
what a bare PySide6 window takes to appear. The dashboard's first frame needs a handful of
values from it (a label's alignment, selectable text, a splitter's orientation), and a few
calls build it while PySide6 picks an overload (`QSplitter(parent)` weighs a `Qt.Orientation`,
QAction.setShortcut a `Qt.Key`: the dashboard adds its shortcuts after the frame). So
the modules on the way to it do not import `Qt` at module level (they name it as
`QtCore.Qt` inside functions that run later) and set those few properties here, through
Qt's own property system, which converts enum key names in C++.
tests/gui/test_first_frame.py checks that the namespace is still unbuilt when the dashboard
first paints.
"""

from __future__ import annotations

from PySide6.QtCore import QObject


def set_property(obj: QObject, prop: str, value: object) -> None:
    """Set the property `prop` of `obj`; an enum or flags property takes its key names
    ("AlignRight|AlignVCenter").

    Raises ValueError if Qt refuses (no such property, a key it does not know): Qt itself
    only returns False, and adds a dynamic property for an unknown name.
    """
    if not obj.setProperty(prop, value):
        raise ValueError(f"{type(obj).__name__}.{prop} refused {value!r}")
