"""A `keyring` backend in a JSON file named by $TEST_KEYRING_FILE, so a CLI run in a
subprocess has a working keyring without D-Bus. Tests only: it keeps test secrets in clear."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.errors
from keyring.backend import KeyringBackend


class Keyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def _path(self) -> Path:
        return Path(os.environ["TEST_KEYRING_FILE"])

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def _save(self, items: dict[str, str]) -> None:
        self._path.write_text(json.dumps(items), encoding="utf-8")

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._save({**self._load(), f"{service}/{username}": password})

    def delete_password(self, service: str, username: str) -> None:
        items = self._load()
        if items.pop(f"{service}/{username}", None) is None:
            raise keyring.errors.PasswordDeleteError("No such password!")
        self._save(items)
