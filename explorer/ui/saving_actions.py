"""File menu actions that save what is on screen: the view as PNG or SVG, the arrays as .npz."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow

from explorer.core import saving
from explorer.ui import render
from explorer.ui.workspace import Workspace


class SavingActions:
    def __init__(self, window: QMainWindow, workspace: Workspace):
        self._window = window
        self._workspace = workspace
        self.png = self._action("Save view as &PNG…", "Ctrl+S", "png")
        self.svg = self._action("Save view as S&VG…", "Ctrl+Shift+S", "svg")
        self.npz = self._action("Save &attention as .npz…", "Ctrl+E", "npz")
        workspace.result_shown.connect(lambda _: self._enable(True))
        self._enable(False)

    def _action(self, text: str, shortcut: str, suffix: str) -> QAction:
        # Setters rather than constructor keywords: PySide6 6.12 miscounts references through those.
        action = QAction(text, self._window)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda: self._ask_and_save(suffix))
        return action

    def actions(self) -> list[QAction]:
        return [self.png, self.svg, self.npz]

    def _enable(self, on: bool) -> None:
        for action in self.actions():
            action.setEnabled(on)

    def suggested_name(self, suffix: str) -> str:
        workspace = self._workspace
        stem = workspace.model.path.stem if workspace.model else "attention"
        if suffix == "npz":
            return f"{stem}-attention.npz"
        return f"{stem}-{workspace.views.current_name()}.{suffix}"

    def _ask_and_save(self, suffix: str) -> None:
        filters = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "npz": "NumPy arrays (*.npz)"}
        start = str(Path.cwd() / self.suggested_name(suffix))
        path, _ = QFileDialog.getSaveFileName(self._window, "Save", start, filters[suffix])
        if path:
            path = Path(path)
            if path.suffix.lower() != f".{suffix}":  # a name typed without its suffix
                path = path.with_name(f"{path.name}.{suffix}")
            self.save(path, suffix)

    def save(self, path: Path, suffix: str) -> None:
        """Save to `path` without asking: the current view (png, svg) or the run's arrays (npz)."""
        workspace = self._workspace
        try:
            if suffix == "npz":
                if workspace.result is None:
                    raise ValueError("there is no result to save yet")
                saving.save_npz(path, workspace.result.stacks)
            else:
                view = workspace.views.current_view()
                view.refresh()  # views draw when seen; a window in the background may not have drawn yet
                render.save_image(view, path)
        except (OSError, ValueError) as exc:
            self._window.statusBar().showMessage(f"Could not save {path.name}: {exc}")
        else:
            self._window.statusBar().showMessage(f"Saved {path}")
