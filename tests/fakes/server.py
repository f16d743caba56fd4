"""Run an aiohttp application on 127.0.0.1 in a background thread, for fakes and the proxy;
or, in a benchmark's child process, in the foreground until the process is ended."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Callable
from types import TracebackType

from aiohttp import web


class ServerThread:
    """Serve `make_app()` on a free loopback port until `stop()` (or the `with` block ends).

    The app is built inside the server's own event loop. `base_url` is
    `http://127.0.0.1:PORT`.
    """

    def __init__(self, make_app: Callable[[], web.Application], port: int = 0) -> None:
        self._make_app = make_app
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fake-server", daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._cleanup())
        loop.close()

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._make_app(), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def listening_url(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """The URL a `token-monitor proxy` subprocess prints on its first line ("Listening on
    URL"), read with a bound so a proxy that never starts fails the test instead of hanging it."""
    stdout = proc.stdout
    assert stdout is not None
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert line and line[0].startswith("Listening on "), line
    return line[0].removeprefix("Listening on ").rstrip("\n")


def serve_forever(make_app: Callable[[], web.Application]) -> None:
    """A benchmark's child process: serve `make_app()` (built inside the event loop) on a free
    loopback port, print `READY <port>` for the parent, and serve until the parent ends it."""

    async def main() -> None:
        runner = web.AppRunner(make_app(), access_log=None, handle_signals=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"READY {runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def reap(proc: subprocess.Popen[str]) -> None:
    """A test's `finally:` for a subprocess: kill it if it still runs, close its pipes."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)
    for f in (proc.stdin, proc.stdout, proc.stderr):
        if f:
            f.close()
