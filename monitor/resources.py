"""The one place that reads bundled files (price table, encodings, translations, icons).

In a wheel, the top-level `resources/` folder is shipped as `monitor/_resources`
(hatchling force-include) and read with importlib.resources; in a source checkout
or editable install the folder beside the package is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def root() -> Traversable:
    """The resources folder, wherever this install keeps it."""
    package = Path(__file__).parent
    if package.is_dir():  # on disk (every install of ours): the Path importlib.resources would
        packaged = package / "_resources"  # give, without importing it (start-up time)
        return packaged if packaged.is_dir() else package.joinpath("..", "resources")
    from importlib import resources as _ilr

    in_archive = _ilr.files("monitor") / "_resources"
    if in_archive.is_dir():
        return in_archive
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
