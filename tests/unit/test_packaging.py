"""The wheel carries the price table and the encodings; resources resolve from it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import monitor

ROOT = Path(monitor.__file__).parent.parent


def test_wheel_contains_resources(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT, check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("token_monitor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "monitor/_resources/prices.json" in names
    assert "monitor/_resources/encodings/o200k_base.tiktoken" in names
    assert "monitor/_resources/encodings/cl100k_base.tiktoken" in names
    assert "monitor/cli.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "token-monitor = monitor.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()

    # Installed from the wheel (unzipped onto sys.path), resources come from monitor/_resources.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = "import monitor.resources as r; print(r.file_path('prices.json'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                         env={"PYTHONPATH": str(site)}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(site / "monitor" / "_resources" / "prices.json")
