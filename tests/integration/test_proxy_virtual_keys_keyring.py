"""A virtual key end to end with the real parts: `token-monitor keys add` into a real Secret
Service, `keys virtual add`, the `token-monitor proxy` command, and the official openai SDK."""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread, listening_url
from tests.integration.test_keyring_secret_service import (  # noqa: F401 - fixture
    REPO,
    SERVICE,
    SS_BACKEND,
    _cli,
    _env,
    secret_service,
)

MSG = [{"role": "user", "content": "Say hello"}]


@pytest.mark.keyring
@pytest.mark.usefixtures("secret_service")
def test_virtual_key_through_the_proxy_command(tmp_path: Path, fake: FakeUpstream,
                                               upstream: ServerThread) -> None:  # fmt: skip
    home = tmp_path / "vhome"
    real = "sk-proj-" + secrets.token_urlsafe(36)
    label = "vk-" + secrets.token_hex(4)
    force = {"PYTHON_KEYRING_BACKEND": SS_BACKEND}
    outputs: list[str] = []
    proc: subprocess.Popen[str] | None = None
    try:
        added = _cli(home, "keys", "add", "--label", label, "--kind", "project", "--no-check",
                     stdin=real + "\n", **force)
        assert added.returncode == 0, added.stderr
        made = _cli(home, "keys", "virtual", "add", "app", "--for", label, "--cap-usd", "1",
                    "--hard", "--json", **force)
        assert made.returncode == 0, made.stderr
        token = json.loads(made.stdout)["token"]
        outputs += [added.stdout, added.stderr, made.stderr]
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "proxy", "--port", "0", "--upstream",
             upstream.base_url + "/v1"], env=_env(home, **force), cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        url = listening_url(proc)
        with openai.OpenAI(base_url=url, api_key=token, max_retries=0) as c:
            assert c.chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                             max_tokens=20).usage is not None
        with openai.OpenAI(base_url=url, api_key="tm-" + "n" * 43, max_retries=0) as c, \
                pytest.raises(openai.AuthenticationError):
            c.models.list()
        proc.terminate()
        out, err = proc.communicate(timeout=20)
        outputs += [out, err]
        assert [r.headers["authorization"] for r in fake.requests] == [f"Bearer {real}"]
        listed = _cli(home, "keys", "virtual", "list", "--json", **force)
        (row,) = json.loads(listed.stdout)["virtual_keys"]
        assert row["label"] == "app" and row["requests"] == 1 and row["spent_usd"] > 0
        outputs += [listed.stdout, listed.stderr]
        for secret in (real, token):
            for piece in (secret, secret[-16:], secret[8:24]):
                assert all(piece not in text for text in outputs)
                for f in (f for f in home.rglob("*") if f.is_file()):
                    assert piece.encode() not in f.read_bytes(), f"secret piece in {f}"
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)
        with contextlib.suppress(Exception):
            from keyring.backends import SecretService

            SecretService.Keyring().delete_password(SERVICE, label)
