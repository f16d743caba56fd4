"""Shared fixtures: every test gets its own MONITOR_HOME; Qt runs offscreen."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from monitor.context import AppContext
from monitor.paths import Paths, resolve_paths


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private MONITOR_HOME for each test, so nothing touches the real user dirs."""
    root = tmp_path / "home"
    monkeypatch.setenv("MONITOR_HOME", str(root))
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return root


@pytest.fixture
def paths(home: Path) -> Paths:
    return resolve_paths(home).ensure()


@pytest.fixture
def ctx(paths: Paths) -> Iterator[AppContext]:
    context = AppContext(paths)
    yield context
    context.close()
