"""Recently opened models, newest first, kept with QSettings between sessions."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

MAX_RECENT = 9
_KEY = "recent_models"


def default_settings() -> QSettings:
    return QSettings("attention-explorer", "Attention Explorer")


class RecentFiles(QObject):
    changed = Signal()

    def __init__(self, settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self._settings = settings

    def paths(self) -> list[Path]:
        value = self._settings.value(_KEY, [])
        if isinstance(value, str):  # QSettings hands back a lone entry as a plain string
            value = [value]
        return [Path(p) for p in value or []]

    def add(self, path: str | Path) -> None:
        path = Path(path).resolve()
        paths = [path] + [p for p in self.paths() if p != path]
        self._store(paths[:MAX_RECENT])

    def remove(self, path: str | Path) -> None:
        path = Path(path).resolve()
        self._store([p for p in self.paths() if p != path])

    def clear(self) -> None:
        self._store([])

    def _store(self, paths: list[Path]) -> None:
        self._settings.setValue(_KEY, [str(p) for p in paths])
        self._settings.sync()
        self.changed.emit()
