"""Hostile input to every CLI command: a one-line `error: …` (or a correct result), no traceback,
and nothing already stored is lost."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from monitor import exit_codes
from monitor.cli import EXIT_INTERNAL_ERROR, main
from monitor.commands import count as count_command
from monitor.core.tokens import get_encoding
from monitor.paths import Paths
from monitor.services.keyvault import KeyStore
from tests.fakes import fake_org
from tests.fakes.fake_org import ADMIN_KEY, FakeOrg
from tests.fakes.memory_keyring import DictBackend, installed
from tests.fakes.server import ServerThread

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """monitor.cli.main in-process: (exit code, stdout, stderr)."""

    def go(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


def _cli(home: Path, *argv: str, env: dict[str, str] | None = None,
         stdin: str = "") -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "MONITOR_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "monitor", *argv], cwd=REPO, env=full,
                          input=stdin, capture_output=True, text=True, timeout=60)


def _one_error(err: str, *needles: str) -> str:
    """The stderr has no traceback and an `error: …` line holding every needle."""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], err
    return errors[0]


# --- count ----------------------------------------------------------------------------------


def test_count_rejects_what_is_not_a_text_file(run: Run, tmp_path: Path) -> None:
    code, out, err = run("count", str(tmp_path))
    assert code == 1 and out == ""
    _one_error(err, str(tmp_path), "is a directory")
    code, _, err = run("count", str(tmp_path / "missing.txt"))
    assert code == 1
    _one_error(err, "missing.txt", "no such file")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    code, _, err = run("count", str(binary))
    assert code == 1
    _one_error(err, "blob.bin", "binary")


def test_count_edge_texts_are_counted(run: Run, tmp_path: Path) -> None:
    code, out, err = run("count", "--json", "--encoding", "o200k_base", os.devnull)
    assert code == 0 and json.loads(out)["tokens"] == 0 and "Traceback" not in err
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9 ok \xff")
    code, out, err = run("count", "--json", "--encoding", "o200k_base", str(bad))
    enc = get_encoding("o200k_base")
    assert code == 0
    assert json.loads(out)["tokens"] == len(enc.encode_ordinary("caf\ufffd ok \ufffd"))
    assert "2 invalid UTF-8 byte sequence(s)" in err
    special = tmp_path / "special.txt"
    special.write_text("a<|endoftext|>b<|endofprompt|>", encoding="utf-8")
    code, out, _ = run("count", "--json", "--encoding", "cl100k_base", str(special))
    assert code == 0
    assert json.loads(out)["tokens"] == len(
        get_encoding("cl100k_base").encode_ordinary("a<|endoftext|>b<|endofprompt|>"))


def test_count_a_million_blanks_in_a_subprocess(home: Path, tmp_path: Path) -> None:
    """tiktoken alone panics on this (pyo3_runtime.PanicException); the command counts it."""
    n = 1_100_000
    text = "x" + " \t" * (n // 2) + "y"
    path = tmp_path / "blank.txt"
    path.write_text(text, encoding="utf-8")
    proc = _cli(home, "count", "--json", "--encoding", "o200k_base", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "panic" not in proc.stderr.lower() and "Traceback" not in proc.stderr
    enc = get_encoding("o200k_base")
    # pieces: "x", the run but its last blank, "\ty"
    expected = 1 + len(enc._encode_single_piece(text[1:-2])) + len(enc.encode_ordinary("\ty"))
    assert json.loads(proc.stdout)["tokens"] == expected


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ("[1, 2]", "message 1 is int"),
        ('{"messages": 5}', "expected a JSON list of messages"),
        ("null", "expected a JSON list of messages"),
        ('"just a string"', "not a JSON string"),
        ("[" * 100_000, "nested too deeply"),
        ('{"messages": [{"role": "user", "content": "hi"}], "tools": 5}', '"tools" must be a list'),
        ("[{\"role\": \"user\", \"content\": \"hi\"", "not valid JSON"),
    ],
)
def test_count_chat_with_json_of_the_wrong_shape(run: Run, tmp_path: Path, payload: str,
                                                 needle: str) -> None:
    path = tmp_path / "chat.json"
    path.write_text(payload, encoding="utf-8")
    code, out, err = run("count", "--chat", str(path))
    assert code == 1 and out == ""
    _one_error(err, "chat input", needle)


# --- price, settings, keys: bad files are set aside, never deleted -------------------------------


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        (b"[1, 2]", "expected an object"),
        (b'{"models": {"gpt-4o": {"input": "abc"}}}', "models.gpt-4o.input"),
        (b'{"models": {"gpt-4o": {"prices": [{"effective_from": "2024-01-01", '
         b'"standard": {"input": -5, "output": -1}}]}}}', "expected a price >= 0"),
        (b"\x9a\x00\xff not text", "could not be read"),
    ],
)
def test_price_override_of_the_wrong_shape_falls_back_to_the_bundled_table(
        run: Run, paths: Paths, override: bytes, needle: str) -> None:
    code, bundled, _ = run("price", "--json", "gpt-4o")
    assert code == 0
    paths.prices_override.write_bytes(override)
    code, out, err = run("price", "--json", "gpt-4o")
    assert code == 0 and "Traceback" not in err
    assert out == bundled  # the bundled prices, untouched by the bad override
    warning = next(line for line in err.splitlines() if line.startswith("warning: "))
    assert str(paths.prices_override) in warning and needle in warning
    assert paths.prices_override.read_bytes() == override


@pytest.mark.parametrize("content", [b"[1, 2]", b"\x9a\x00\xff{garbage"])
def test_broken_settings_file_is_moved_aside_and_defaults_used(
        run: Run, paths: Paths, content: bytes) -> None:
    for attempt in (1, 2):  # twice within a second: both copies are kept
        paths.settings_file.write_bytes(content + b" " * attempt)
        code, out, err = run("budget", "--json")
        assert code == 0 and "Traceback" not in err
        assert json.loads(out)["limit_usd"] == 120  # the default limit
        assert str(paths.settings_file) in err
    aside = sorted(paths.settings_file.parent.glob("settings.json.corrupt-*"))
    assert sorted(p.read_bytes() for p in aside) == [content + b" ", content + b"  "]
    assert aside[-1].name in err


def test_corrupt_keys_file_is_moved_aside_and_the_secret_stays(run: Run, paths: Paths) -> None:
    secret = "sk-admin-KEEPME00000000000000000000abcd"
    backend = DictBackend()
    with installed(backend):
        KeyStore.open(paths.keys_file).add("main", "admin", secret)
        stored = dict(backend.items)
        paths.keys_file.write_bytes(b"{not json")
        code, out, err = run("keys", "list")
        assert code == 0 and "Traceback" not in err
        assert "not valid JSON" in err and "moved it to keys.json.corrupt-" in err
        assert "still in the OS keyring" in err
        aside = list(paths.keys_file.parent.glob("keys.json.corrupt-*"))
        assert len(aside) == 1 and aside[0].read_bytes() == b"{not json"
        assert backend.items == stored  # the keyring secret is untouched
        assert secret not in err + out


# --- the usage database ------------------------------------------------------------------------


def test_a_usage_db_that_is_not_sqlite_is_named_and_kept(run: Run, paths: Paths) -> None:
    junk = os.urandom(4096)
    paths.db_file.write_bytes(b"\x00garbage" + junk)
    for command in (["usage"], ["budget"]):
        code, out, err = run(*command)
        assert code == exit_codes.DATABASE_UNUSABLE and out == ""
        _one_error(err, str(paths.db_file), "not a database")
    assert paths.db_file.read_bytes() == b"\x00garbage" + junk


def test_a_usage_db_from_a_newer_version_is_refused_and_kept(run: Run, paths: Paths) -> None:
    conn = sqlite3.connect(paths.db_file)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("INSERT INTO future VALUES (42)")
    conn.execute("PRAGMA user_version = 999")
    conn.commit()
    conn.close()
    code, _, err = run("usage")
    assert code == exit_codes.DATABASE_UNUSABLE
    _one_error(err, str(paths.db_file), "newer")
    conn = sqlite3.connect(paths.db_file)  # untouched (opening may switch it to WAL only)
    assert conn.execute("PRAGMA user_version").fetchone() == (999,)
    assert conn.execute("SELECT x FROM future").fetchall() == [(42,)]
    conn.close()


def test_a_usage_db_path_that_is_a_directory(run: Run, paths: Paths) -> None:
    paths.db_file.mkdir()
    code, _, err = run("usage")
    assert code == exit_codes.DATABASE_UNUSABLE
    _one_error(err, str(paths.db_file))


def test_home_that_is_a_file(run: Run, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("mine\n")
    code, out, err = run("--home", str(not_a_dir), "budget")
    assert code == 1 and out == ""
    _one_error(err, str(not_a_dir), "--home")
    assert not_a_dir.read_text() == "mine\n"


# --- sync against a dead port, HTML and truncated JSON ------------------------------------------


@pytest.fixture
def synced(home: Path, monkeypatch: pytest.MonkeyPatch, run: Run) -> Iterator[str]:
    """A store holding one good sync; yields its `usage --json` output."""
    now = datetime.now(UTC)
    fake = FakeOrg(events=fake_org.generate_events(
        5, now - timedelta(days=3), now - timedelta(minutes=1), 60), now=lambda: datetime.now(UTC))
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    with ServerThread(fake.make_app) as srv:
        code, _, err = run("sync", "--once", "--base-url", srv.base_url + "/v1")
        assert code == 0, err
    code, out, _ = run("usage", "--json", "--period", "cycle")
    assert code == 0
    yield out


def _canned(body: bytes, content_type: str) -> Callable[[], web.Application]:
    def make() -> web.Application:
        async def reply(request: web.Request) -> web.Response:
            return web.Response(body=body, content_type=content_type)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", reply)
        return app

    return make


def _totals(usage_json: str) -> object:
    data = json.loads(usage_json)
    return data["totals"]


def test_sync_failures_keep_the_last_good_data(synced: str, run: Run) -> None:
    before = _totals(synced)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead = sock.getsockname()[1]
    sock.close()  # nobody listens there now
    code, _, err = run("sync", "--once", "--timeout", "3",
                       "--base-url", f"http://127.0.0.1:{dead}/v1")
    assert code != 0
    _one_error(err, "sync failed", "cannot reach", str(dead))
    for body, ctype in [(b"<html><body>Sign in</body></html>", "text/html"),
                        (b'{"object": "page", "data": [{"object": "bucket", "start_',
                         "application/json")]:
        with ServerThread(_canned(body, ctype)) as srv:
            code, _, err = run("sync", "--once", "--timeout", "3", "--base-url",
                               srv.base_url + "/v1")
        assert code != 0
        _one_error(err, "sync failed", "not JSON")
    assert ADMIN_KEY not in err
    code, out, _ = run("usage", "--json", "--period", "cycle")
    assert code == 0 and _totals(out) == before


# --- a keyring that cannot be used ---------------------------------------------------------------


def test_keys_commands_with_a_failing_keyring_backend(home: Path) -> None:
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = _cli(home, "keys", "add", "--label", "main", "--kind", "admin", env=env,
                stdin="sk-admin-ABCDEFGHIJKLMNOPQRSTUVWX1234\n")
    assert proc.returncode == exit_codes.KEYRING_UNUSABLE
    line = _one_error(proc.stderr, "keyring is not usable", "gnome-keyring", "unlock")
    assert "ABCDEFGH" not in proc.stderr + proc.stdout
    keys_file = home / "config" / "keys.json"
    assert not keys_file.exists() or "main" not in keys_file.read_text()  # no half-added key
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(json.dumps({"version": 1, "keys": [{
        "label": "main", "kind": "admin", "created": "2026-01-01", "expires": None,
        "last4": "1234", "project_id": None}]}))
    before = keys_file.read_bytes()
    for argv in (["keys", "remove", "main"], ["keys", "test", "main"], ["sync", "--once"]):
        proc = _cli(home, *argv, env=env)
        assert proc.returncode != 0, argv
        assert _one_error(proc.stderr, "keyring is not usable") == line
    assert keys_file.read_bytes() == before  # the metadata survives a failed remove


# --- a bug in a command ------------------------------------------------------------------------


def test_unexpected_exception_is_logged_not_shown(run: Run, paths: Paths,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-proj-LEAKYleaky0000000000000000000wxyz"

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError(f"kaboom with {secret}")

    monkeypatch.setattr(count_command, "_count_text", broken)
    code, out, err = run("count", os.devnull)
    assert code == EXIT_INTERNAL_ERROR and out == ""
    line = _one_error(err, "internal error", "`count`", "RuntimeError", str(paths.log_file))
    assert secret not in err and "sk-…wxyz" in line
    log = paths.log_file.read_text(encoding="utf-8")
    assert "Traceback" in log and "kaboom" in log and "in broken" in log
    assert secret not in log


# --- flags with values out of range --------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["usage", "--period", "9999-12-31"], "outside the dates"),
        (["usage", "--period", "9999-12"], "outside the dates"),
        (["sync", "--once", "--base-url", "not a url"], "--base-url must be an http(s) URL"),
        (["sync", "--once", "--base-url", "http://[::1"], "--base-url must be an http(s) URL"),
        (["sync", "--once", "--base-url", "http://h:99999/v1"], "--base-url must be"),
        (["sync", "--once", "--timeout", "0"], "--timeout must be a positive number"),
        (["sync", "--once", "--timeout", "nan"], "--timeout must be a positive number"),
    ],
)
def test_out_of_range_flags_are_usage_errors(run: Run, argv: list[str], needle: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    _one_error(err, needle)


def test_count_with_an_empty_model_name(run: Run) -> None:
    code, _, err = run("count", "--model", "", os.devnull)
    assert code == 1
    _one_error(err, "--model needs a model name")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        # Valid JSON, wrong content: a count that is text, and a bucket far outside the window.
        (b'{"object": "page", "has_more": false, "next_page": null, "data": [{"object": '
         b'"bucket", "start_time": %d, "end_time": %d, "results": [{"input_tokens": "abc", '
         b'"output_tokens": 1, "num_model_requests": 1}]}]}', "bad input_tokens"),
        (b'{"object": "page", "has_more": false, "next_page": null, "data": [{"object": '
         b'"bucket", "start_time": 0, "end_time": 86400, "results": []}]}', "outside the"),
    ],
)
def test_malformed_but_valid_json_replies_keep_the_last_good_data(
    synced: str, run: Run, body: bytes, says: str
) -> None:
    before = _totals(synced)
    if b"%d" in body:
        hour = int(datetime.now(UTC).timestamp()) // 3600 * 3600
        body = body % (hour, hour + 3600)
    with ServerThread(_canned(body, "application/json")) as srv:
        code, _, err = run("sync", "--once", "--timeout", "3", "--base-url",
                           srv.base_url + "/v1")
    assert code != 0
    _one_error(err, "sync failed", says)
    code, out, _ = run("usage", "--json", "--period", "cycle")
    assert code == 0 and _totals(out) == before
