"""The page shown while no model is open: open a file, one of the bundled models (each by name,
with a line on what it shows), or a recent file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QCommandLinkButton,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.assets import BundledModel


class WelcomePage(QWidget):
    open_requested = Signal()  # "Open model…"
    bundled_requested = Signal(Path)  # one of the bundled models
    recent_requested = Signal(Path)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel("<h1>Attention Explorer</h1><p>Look inside Transformers: open an ONNX model "
                       "exported with <code>attention-export</code> (or a plain Hugging Face export), "
                       "or drop one on this window.</p>")
        title.setWordWrap(True)
        self.open_button = QPushButton("Open model…")
        self.open_button.setToolTip("Ctrl+O")
        self.open_button.clicked.connect(self.open_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)

        self.message = QLabel()  # why nothing is open: a missing bundled model, a file that failed
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #a33;")
        self.message.setVisible(False)

        self._bundled_title = QLabel()
        self.bundled_column = QVBoxLayout()
        self.bundled_buttons: list[QCommandLinkButton] = []

        self.recent_list = QListWidget()
        self.recent_list.itemActivated.connect(self._on_recent)
        self.recent_list.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)  # its rows
        self.recent_list.setMaximumHeight(260)
        self._recent_title = QLabel("<b>Recent models</b>")

        column = QVBoxLayout()
        column.addSpacing(40)
        column.addWidget(title)
        column.addLayout(buttons)
        column.addWidget(self.message)
        column.addSpacing(12)
        column.addWidget(self._bundled_title)
        column.addLayout(self.bundled_column)
        column.addSpacing(12)
        column.addWidget(self._recent_title)
        column.addWidget(self.recent_list)
        column.addStretch(1)  # keeps the page packed at the top when there are no recents
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(column, 4)
        outer.addStretch(1)
        self.set_bundled([])
        self.set_recent([])

    def set_bundled(self, models: list[BundledModel]) -> None:
        """One button per bundled model: its name, and below it what it shows."""
        for button in self.bundled_buttons:
            button.deleteLater()
        self.bundled_buttons = []
        for model in models:
            button = QCommandLinkButton(model.name, model.description)
            button.setToolTip(str(model.path))
            button.clicked.connect(lambda _=False, path=model.path: self.bundled_requested.emit(path))
            self.bundled_column.addWidget(button)
            self.bundled_buttons.append(button)
        self._bundled_title.setText(
            "<b>Bundled models</b> — trained on this project's own data, to start with something real"
            if models else "<i>No bundled models are installed.</i>"
        )

    def set_recent(self, paths: list[Path]) -> None:
        self.recent_list.clear()
        for path in paths:
            item = QListWidgetItem(f"{path.name}    —    {path.parent}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(str(path))
            self.recent_list.addItem(item)
        self.recent_list.setVisible(bool(paths))
        self._recent_title.setText("<b>Recent models</b> (double-click or Enter opens)" if paths
                                   else "<i>No recent models yet.</i>")

    def _on_recent(self, item: QListWidgetItem) -> None:
        self.recent_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
