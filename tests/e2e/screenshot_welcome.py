"""Screenshots of a new user's first minutes: the welcome panel, the proxy path's lines to
paste, and the first sync's progress in the Sources tab (against the fake org API).

Runnable, not a test: `xvfb-run -a python tests/e2e/screenshot_welcome.py [OUT_DIR]`
(default resources/screenshots; offscreen when no DISPLAY is set).
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def pump(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "resources" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    from monitor.context import AppContext
    from monitor.gui import i18n
    from monitor.gui.app import AppController
    from monitor.gui.welcome import PATH_PROXY
    from monitor.paths import resolve_paths
    from monitor.services.keyring_vault import MemoryVault
    from monitor.services.keyvault import KeyStore
    from monitor.services.org_sync import SyncProgress
    from tests.fakes import fake_org
    from tests.fakes.fake_org import ADMIN_KEY, FakeOrg
    from tests.fakes.server import ServerThread

    app = QApplication(["token-monitor"])
    app.setQuitOnLastWindowClosed(False)
    translators = i18n.install(app, "en")
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="tm-shots-share-")

    # 1. A fresh home: the welcome panel instead of zeros and empty charts.
    home = Path(tempfile.mkdtemp(prefix="tm-shots-welcome-"))
    ctx = AppContext(resolve_paths(home).ensure())
    with socket.socket() as probe:  # a free port, so the shot never meets a running proxy
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctx.save_settings(ctx.settings.replace(proxy_port=port))
    ctx._keys = KeyStore(ctx.paths.keys_file, MemoryVault())
    c = AppController(ctx, sync=lambda: "no-admin-key", use_freedesktop=False, tray=False)
    c.quit_requested = lambda: None
    c.window.resize(1000, 760)
    c.start(poll=False)
    c.window.set_notice(None)  # the no-tray notice of a bare X server is not the subject
    pump(1500)
    assert c.welcome.active, "the welcome panel should be up on a fresh home"
    c.window.grab().save(str(out / "welcome.png"))

    # 2. Path 2: the proxy is on, the lines to paste are shown.
    c.welcome.follow_path(PATH_PROXY)
    for _ in range(50):
        pump(100)
        if c.proxy.url:
            break
    pump(500)
    c.window.grab().save(str(out / "welcome_proxy.png"))
    c.shutdown()
    ctx.close()

    # 3. An admin key added: the first sync backfills two cycles, with progress.
    now = datetime.now(UTC)
    fake = FakeOrg(events=fake_org.generate_events(11, now - timedelta(days=50), now, 4000),
                   delay_s=0.25)
    with ServerThread(fake.make_app) as srv:
        home2 = Path(tempfile.mkdtemp(prefix="tm-shots-sync-"))
        ctx2 = AppContext(resolve_paths(home2).ensure())
        ctx2.save_settings(ctx2.settings.replace(openai_base_url=srv.base_url + "/v1"))
        ctx2._keys = KeyStore(ctx2.paths.keys_file, MemoryVault())
        ctx2.keys().add("org-admin", "admin", ADMIN_KEY)
        c2 = AppController(ctx2, use_freedesktop=False, tray=False)
        c2.quit_requested = lambda: None
        c2.window.resize(1000, 760)
        shot: list[SyncProgress] = []

        def on_progress(p: SyncProgress) -> None:
            if not shot and p.windows_done >= 6:
                shot.append(p)
                c2.window.tabs.setCurrentWidget(c2.window.sources_page)
                QTimer.singleShot(50, lambda: c2.window.grab().save(
                    str(out / "first_sync_progress.png")))

        c2.progress_relay.progress.connect(on_progress)
        c2.start(poll=True)
        c2.window.set_notice(None)
        for _ in range(300):
            pump(100)
            if not c2.poller.running and shot:
                break
        c2.shutdown()
        ctx2.close()
    i18n.remove(app, translators)
    print(f"wrote {', '.join(p.name for p in sorted(out.glob('welcome*.png')))} and "
          "first_sync_progress.png")
    return 0 if shot else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
