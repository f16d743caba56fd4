"""The one place that reads bundled files (price table, encodings, translations, icons).

In a wheel, the top-level `resources/` folder is shipped as `monitor/_resources`
(hatchling force-include) and read with importlib.resources; in a source checkout
or editable install the folder beside the package is used.
"""

from __future__ import annotations

from importlib import resources as _ilr
from importlib.resources.abc import Traversable
from pathlib import Path


def root() -> Traversable:
    """The resources folder, wherever this install keeps it."""
    packaged = _ilr.files("monitor") / "_resources"
    if packaged.is_dir():
        return packaged
    return _ilr.files("monitor").joinpath("..", "resources")


def path(*parts: str) -> Traversable:
    """A bundled file or folder, e.g. `path("encodings", "o200k_base.tiktoken")`."""
    node = root()
    for part in parts:
        node = node / part
    return node


def read_bytes(*parts: str) -> bytes:
    return path(*parts).read_bytes()


def read_text(*parts: str) -> str:
    return path(*parts).read_text(encoding="utf-8")


def file_path(*parts: str) -> Path:
    """A real filesystem path (resources are never zipped in our installs)."""
    return Path(str(path(*parts)))
