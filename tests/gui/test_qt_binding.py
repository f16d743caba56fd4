"""The installed PySide6 must not be a build that leaks None (6.12.0 on CPython 3.11)."""

from __future__ import annotations

import pytest

from monitor.gui.tokenizer.compat import leaks_none

pytestmark = pytest.mark.gui


def test_void_calls_keep_none_alive(qapp: object) -> None:
    assert not leaks_none(), "this PySide6 build loses a reference to None per call; pin !=6.12.0"
