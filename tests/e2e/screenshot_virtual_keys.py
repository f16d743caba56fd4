"""Screenshots of the API keys dialog's virtual keys panel and of a just-created key.

Runnable, not a pytest test: `xvfb-run -a python tests/e2e/screenshot_virtual_keys.py [OUT]`
(default resources/screenshots; QT_QPA_PLATFORM=offscreen works too). Uses a temporary home
and an in-memory key vault: no real key or keyring is touched, and the token of the created
key is masked in the picture as it is on screen until "Show" is pressed.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from monitor.context import AppContext
    from monitor.core.clock import fixed_clock
    from monitor.gui.keys_dialog import KeysDialog
    from monitor.gui.tasks import TaskRunner
    from monitor.gui.virtual_keys_panel import add_to_keys_dialog
    from monitor.paths import resolve_paths
    from monitor.services.keyring_vault import MemoryVault
    from monitor.services.keyvault import KeyStore
    from monitor.services.virtual_keys import VirtualKeys
    from tests.e2e.seed import seed_proxy_spend

    out = Path(argv[0]) if argv else ROOT / "resources" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)

    def pump(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext(resolve_paths(Path(tmp)).ensure(), clock=fixed_clock(now))
        ctx.save_settings(ctx.settings.replace(today_timezone="UTC"))
        ctx._keys = KeyStore.open(ctx.paths.keys_file, vault=MemoryVault())
        ctx.keys().add("org-admin", "admin", "sk-admin-screenshot000000000000a1b2")
        ctx.keys().add("team", "project", "sk-proj-screenshot0000000000000c3d4")
        vk = VirtualKeys(ctx.store())
        vk.add("notes-bot", "team", now=now, cap_usd=Decimal(5), per="day", hard=True)
        vk.add("ci-tests", "team", now=now, cap_usd=Decimal(40), per="month")
        vk.add("scratch", "team", now=now)
        hour = now - timedelta(hours=1)
        seed_proxy_spend(ctx.store(), [(hour, Decimal("4.62"))], key_label="notes-bot")
        seed_proxy_spend(ctx.store(), [(hour, Decimal("11.30"))], key_label="ci-tests")
        seed_proxy_spend(ctx.store(), [(hour, Decimal("0.37"))], key_label="scratch")
        runner = TaskRunner()
        dialog = KeysDialog(ctx.keys(), runner)
        panel = add_to_keys_dialog(dialog, ctx, runner, dialog.keys_changed)
        dialog.show()
        pump(800)
        panel.select("notes-bot")
        pump(200)
        dialog.grab().save(str(out / "virtual_keys.png"))

        panel.open_new()
        new = panel.new_dialog
        assert new is not None
        new.label_edit.setText("summariser")
        new.cap_edit.setText("2")
        new.per_combo.setCurrentIndex(new.per_combo.findData("day"))
        new.hard_check.setChecked(True)
        pump(200)
        new.grab().save(str(out / "virtual_key_new.png"))
        new.create_button.click()
        for _ in range(50):
            pump(100)
            if new.pages.currentIndex() == 1:
                break
        pump(300)
        new.grab().save(str(out / "virtual_key_created.png"))
        new.accept()
        dialog.reject()
        runner.wait(5000)
        ctx.close()
    QCoreApplication.processEvents()
    print(f"saved virtual_keys.png, virtual_key_new.png, virtual_key_created.png in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
