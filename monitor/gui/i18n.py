"""Pick the UI language (setting, else the system locale) and install Qt translators for it."""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from monitor import resources

log = logging.getLogger(__name__)

SHIPPED = ("en", "zh_CN")
CATALOG = "token_monitor"


def pick_language(setting: str, system: QLocale | None = None) -> str:
    """`en` or `zh_CN`: the setting if it names one, else the system locale's best match."""
    if setting in SHIPPED:
        return setting
    loc = system or QLocale.system()
    if loc.language() == QLocale.Language.Chinese:
        return "zh_CN"  # Traditional Chinese users also get Simplified rather than English
    return "en"


def qm_path(language: str) -> str:
    return str(resources.file_path("i18n", f"{CATALOG}_{language}.qm"))


def install(app: QCoreApplication, language: str) -> list[QTranslator]:
    """Load our catalog (and Qt's own, for standard buttons) for `language`.

    Returns the translators; keep them alive as long as the app (Qt does not own them).
    """
    QLocale.setDefault(QLocale(language))
    installed: list[QTranslator] = []
    ours = QTranslator(app)  # English ships plural forms only ("1 request", "2 requests")
    if ours.load(qm_path(language)):
        app.installTranslator(ours)
        installed.append(ours)
    else:
        log.warning("no translation catalog for %s at %s", language, qm_path(language))
    if language == "en":
        return installed
    # Qt's own catalogs: none for English
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    qt = QTranslator(app)
    if qt.load(f"qtbase_{language}", qt_dir):
        app.installTranslator(qt)
        installed.append(qt)
    return installed


def remove(app: QCoreApplication, translators: list[QTranslator]) -> None:
    for t in translators:
        app.removeTranslator(t)
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
