"""One app instance per user: a lock file decides who is first; a local socket carries "show".

The first instance holds a QLockFile and listens on a user-only QLocalServer. A second
launch cannot take the lock, connects, asks the first to show its window and exits 0.
QtNetwork (~50 ms to import) is loaded only to listen or connect, so the app can take the
lock at once and start listening after its first frame (a second launch retries meanwhile).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCryptographicHash, QLockFile, QObject, Signal

from monitor.paths import Paths

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

SHOW_COMMAND = b"show\n"
CONNECT_TIMEOUT_MS = 500
CONNECT_ATTEMPTS = 8  # the first instance may be between taking the lock and listening


def server_name(paths: Paths) -> str:
    """Per user and per data folder (so a `--home` instance is independent)."""
    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    raw = QCryptographicHash.hash(str(paths.data_dir).encode(),
                                  QCryptographicHash.Algorithm.Sha256)
    digest = bytes(raw.toHex().data()).decode()[:10]
    return f"token-monitor-{uid}-{digest}"


class SingleInstance(QObject):
    """Owns the instance lock and the activation socket.

    Signals:
        activation_requested(): another launch asked this instance to show its window.
    """

    activation_requested = Signal()

    def __init__(self, paths: Paths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._paths = paths
        self._name: str | None = None  # hashed when first needed
        self._lock = QLockFile(str(Path(paths.cache_dir) / "instance.lock"))
        self._lock.setStaleLockTime(0)  # stale only when the owning process is gone
        self._server: QLocalServer | None = None
        self._clients: set[QLocalSocket] = set()

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = server_name(self._paths)
        return self._name

    def acquire(self, *, listen: bool = True) -> bool:
        """True if this is the first instance (listening, unless `listen` is False: then call
        `listen()` soon); False if another one runs."""
        if not self._lock.tryLock(0):
            return False
        if listen:
            self.listen()
        return True

    def listen(self) -> None:
        """Accept "show" requests from later launches (the lock must be held)."""
        from PySide6.QtNetwork import QLocalServer  # QtNetwork: see the module doc

        if self._server is not None or not self._lock.isLocked():
            return
        QLocalServer.removeServer(self.name)  # a socket left by a crashed instance
        server = QLocalServer(self)
        server.setObjectName("single-instance-server")
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # We hold the lock, so nobody else should be listening; run without the socket.
            return
        server.newConnection.connect(self._on_new_connection)
        self._server = server

    def activate_existing(self) -> bool:
        """Ask the running instance to show itself; True if it acknowledged."""
        from PySide6.QtNetwork import QLocalSocket

        for _ in range(CONNECT_ATTEMPTS):
            sock = QLocalSocket()
            sock.connectToServer(self.name)
            if sock.waitForConnected(CONNECT_TIMEOUT_MS):
                sock.write(SHOW_COMMAND)
                sock.flush()  # may write everything at once; then there is nothing to wait for
                if sock.bytesToWrite() > 0:
                    sock.waitForBytesWritten(CONNECT_TIMEOUT_MS)
                # Wait for the reply so the message is not lost when we exit at once.
                ok = False
                if sock.waitForReadyRead(CONNECT_TIMEOUT_MS * 4):
                    ok = bytes(sock.readAll().data()).startswith(b"ok")
                sock.disconnectFromServer()
                return ok
            sock.abort()
            _short_wait(CONNECT_TIMEOUT_MS // 4)
        return False

    def release(self) -> None:
        for sock in list(self._clients):
            sock.readyRead.disconnect(self._on_ready_read)
            sock.disconnected.disconnect(self._on_disconnected)
            sock.abort()
        self._clients.clear()
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

    def _on_new_connection(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            if sock is None:
                break
            self._clients.add(sock)
            sock.readyRead.connect(self._on_ready_read)
            sock.disconnected.connect(self._on_disconnected)

    def _on_ready_read(self) -> None:
        from PySide6.QtNetwork import QLocalSocket

        sock = self.sender()
        if not isinstance(sock, QLocalSocket):
            return
        data = bytes(sock.readAll().data())
        if data.startswith(SHOW_COMMAND.strip()):
            sock.write(b"ok\n")
            sock.flush()
            self.activation_requested.emit()

    def _on_disconnected(self) -> None:
        from PySide6.QtNetwork import QLocalSocket

        sock = self.sender()
        if isinstance(sock, QLocalSocket) and sock in self._clients:
            self._clients.discard(sock)
            sock.deleteLater()


def _short_wait(ms: int) -> None:
    time.sleep(ms / 1000)  # only in the exiting second instance, never in the running app
