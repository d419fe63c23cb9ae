"""What the three views share: a Selection to draw from, and drawing only when seen."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLayout, QSizePolicy, QVBoxLayout, QWidget

from explorer.core.state.selection import Selection


def value_text(value: float) -> str:
    """The shortest text that reads back to exactly this float32."""
    return np.format_float_positional(np.float32(value), unique=True, trim="-")


class SelectionView(QWidget):
    """A view of `selection`. Subclasses implement `_rebuild` (what depends on the data and
    the stack) and `_redraw` (what depends on layer, head, focus and visible heads).

    A hidden view (a tab in the background) only notes that it is out of date and catches
    up when shown, so that a new input costs the drawing of the view that is seen.
    """

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._stale_data = self._stale_view = True
        selection.stacks_changed.connect(self._on_stacks_changed)
        selection.changed.connect(self._on_changed)

    def _assemble(self, toolbar: QLayout, canvas, hint: str) -> QLabel:
        """The toolbar above the pyqtgraph `canvas` and a one-line readout below it (returned, showing
        `hint`); the mouse moving over or clicking the canvas goes to `_on_hover` and `_on_click`."""
        readout = QLabel(hint)
        readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # may be cut, not widen
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toolbar)
        layout.addWidget(canvas, 1)
        layout.addWidget(readout)
        scene = canvas.scene()
        scene.sigMouseMoved.connect(self._on_hover)
        scene.sigMouseClicked.connect(self._on_click)
        return readout

    def _rebuild(self) -> None:
        raise NotImplementedError

    def _redraw(self) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        """Bring the view up to date now, shown or not."""
        if self._stale_data:
            self._stale_data = False
            self._rebuild()
        if self._stale_view:
            self._stale_view = False
            self._redraw()

    def _on_stacks_changed(self) -> None:
        self._stale_data = True
        if self.isVisible():
            self.refresh()

    def _on_changed(self) -> None:
        self._stale_view = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        self.refresh()
        super().showEvent(event)
