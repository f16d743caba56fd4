"""`keys add` tests a key before storing it, as the keys dialog does (`check_key`), against
the fake organization API over loopback; `--no-check` stores it untested (offline).

A key that fails the test is not stored, the exit code is `keys test`'s (3 invalid, 4 scope,
5 network, 6 other API error) and the message shows the key masked, never in full. What
storing would refuse anyway (a bad secret, a dead keyring, a taken label) is refused before
any request is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from keyring.backends import fail

from monitor import exit_codes
from monitor.cli import main
from tests.fakes.fake_org import ADMIN_KEY, PROJECT_KEY, FakeOrg, Fault
from tests.fakes.memory_keyring import DictBackend, installed
from tests.fakes.server import ServerThread
from tests.integration.test_org_sync import _Pipe

WRONG_KEY = "sk-admin-WRONG00000000000000000000beef"
DEAD_URL = "http://127.0.0.1:9/v1"  # nothing listens on the discard port


@pytest.fixture
def ring(home: object) -> Iterator[DictBackend]:
    backend = DictBackend()
    with installed(backend):
        yield backend


@pytest.fixture
def url(org_server: ServerThread) -> str:
    return org_server.base_url + "/v1"


AddKey = Callable[..., tuple[int, str, str]]  # (secret, label, kind, *argv) -> code, out, err


@pytest.fixture
def add(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> AddKey:
    def run(secret: str, label: str, kind: str, *argv: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", _Pipe(secret))
        code = main(["keys", "add", "--label", label, "--kind", kind, *argv])
        out, err = capsys.readouterr()
        assert secret not in out + err and secret[9:25] not in out + err  # never in full
        return code, out, err

    return run


def _listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["keys", "list", "--json"]) == 0
    keys: list[dict[str, object]] = json.loads(capsys.readouterr().out)["keys"]
    return keys


def test_a_valid_key_is_tested_then_stored_and_marked(
        org: FakeOrg, url: str, ring: DictBackend, add: AddKey,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = add(ADMIN_KEY, "org-admin", "admin", "--base-url", url)
    assert code == 0, err
    assert out.startswith("stored admin key 'org-admin' (sk-…aaaa) in the OS keyring;")
    assert "tested: valid: the key can read organization usage" in out
    assert [(r.path, r.auth) for r in org.log] == [("/v1/organization/projects",
                                                    f"Bearer {ADMIN_KEY}")]
    code, out, err = add(PROJECT_KEY, "app", "project", "--base-url", url)
    assert code == 0 and "tested: valid: the key can call model endpoints" in out, err
    assert org.log[-1].path == "/v1/models"
    assert ring.items == {("token-monitor", "org-admin"): ADMIN_KEY,
                          ("token-monitor", "app"): PROJECT_KEY}
    assert [(k["label"], k["test_ok"]) for k in _listed(capsys)] == [("org-admin", True),
                                                                     ("app", True)]


@pytest.mark.parametrize(("secret", "scope_status", "code", "words"), [
    (WRONG_KEY, 401, exit_codes.KEY_INVALID,
     ("(sk-…beef)", "invalid", "the whole key was copied")),
    (PROJECT_KEY, 401, exit_codes.KEY_SCOPE,
     ("(sk-…bbbb)", "api.usage.read", "not a usable Admin key", "add it with --kind project")),
    (PROJECT_KEY, 403, exit_codes.KEY_SCOPE,
     ("(sk-…bbbb)", "api.usage.read", "not a usable Admin key", "add it with --kind project")),
], ids=["401-invalid", "401-scope", "403-scope"])
def test_a_key_the_api_refuses_is_not_stored(
        org: FakeOrg, url: str, ring: DictBackend, add: AddKey,
        capsys: pytest.CaptureFixture[str], secret: str, scope_status: int, code: int,
        words: tuple[str, ...]) -> None:
    org.scope_status = scope_status
    got, out, err = add(secret, "k", "admin", "--base-url", url)
    assert got == code and out == ""
    [line] = err.splitlines()
    assert line.startswith("error: not stored: the admin key 'k' ")
    assert "did not pass the test" in line
    for word in words:
        assert word in line, (word, line)
    assert len(org.log) == 1  # one test call, to the configured API only
    assert ring.items == {} and _listed(capsys) == []


def test_network_and_server_errors_are_not_stored_and_point_to_no_check(
        org: FakeOrg, url: str, ring: DictBackend, add: AddKey,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = add(ADMIN_KEY, "k", "admin", "--base-url", DEAD_URL, "--timeout", "2")
    assert code == exit_codes.NETWORK
    assert "cannot reach" in err and "--no-check" in err and "keys test k" in err
    org.add_fault(Fault(503, type="server_error", message="The server is overloaded",
                        times=2))
    code, _, err = add(ADMIN_KEY, "k", "admin", "--base-url", url)
    assert code == exit_codes.API_ERROR and "try again later" in err, err
    assert ring.items == {} and _listed(capsys) == []


def test_no_check_stores_offline_without_any_request(
        org: FakeOrg, url: str, ring: DictBackend, add: AddKey,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = add(WRONG_KEY, "later", "admin", "--base-url", url, "--no-check")
    assert code == 0, err
    assert "not tested (run `token-monitor keys test later` to check it)" in out
    assert org.request_count() == 0
    [entry] = _listed(capsys)
    assert entry["label"] == "later" and "test_ok" not in entry  # untested, not "valid"


def test_what_storing_would_refuse_is_refused_before_any_request(
        org: FakeOrg, url: str, ring: DictBackend, add: AddKey,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = add("sk-admin-ZERO\u200bWIDTH000000000000dddd", "a", "admin",
                       "--base-url", url)
    assert code == exit_codes.DATA_REFUSED and "U+200B" in err
    assert add(ADMIN_KEY, "first", "admin", "--base-url", url)[0] == 0
    tests_so_far = org.request_count()
    code, _, err = add(PROJECT_KEY, "first", "project", "--base-url", url)
    assert code == exit_codes.ERROR and "already exists" in err
    code, _, err = add(ADMIN_KEY, "second", "admin", "--base-url", url)
    assert code == exit_codes.ERROR and "already stored as 'first'" in err
    assert org.request_count() == tests_so_far
    with installed(fail.Keyring()):
        code, _, err = add(PROJECT_KEY, "third", "project", "--base-url", url)
    assert code == exit_codes.KEYRING_UNUSABLE and "keyring" in err
    assert org.request_count() == tests_so_far
