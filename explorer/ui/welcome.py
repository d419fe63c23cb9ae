"""The page shown while no model is open: open one, open the bundled BERT, or pick a recent file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget


class WelcomePage(QWidget):
    open_requested = Signal()  # "Open model…"
    bundled_requested = Signal()  # "Open the bundled BERT"
    recent_requested = Signal(Path)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel("<h1>Attention Explorer</h1><p>Look inside Transformers: open an ONNX model "
                       "exported with <code>attention-export</code>, or drop one on this window.</p>")
        title.setWordWrap(True)
        self.open_button = QPushButton("Open model…")
        self.open_button.clicked.connect(self.open_requested)
        self.bundled_button = QPushButton("Open the bundled BERT")
        self.bundled_button.clicked.connect(self.bundled_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.bundled_button)
        buttons.addStretch(1)

        self.message = QLabel()  # why nothing is open: a missing bundled model, a file that failed
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #a33;")
        self.message.setVisible(False)

        self.recent_list = QListWidget()
        self.recent_list.itemActivated.connect(self._on_recent)
        self._recent_title = QLabel("<b>Recent models</b>")

        column = QVBoxLayout()
        column.addSpacing(40)
        column.addWidget(title)
        column.addLayout(buttons)
        column.addWidget(self.message)
        column.addSpacing(12)
        column.addWidget(self._recent_title)
        column.addWidget(self.recent_list, 3)
        column.addStretch(1)  # keeps the page packed at the top when there are no recents
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(column, 4)
        outer.addStretch(1)
        self.set_recent([])

    def set_recent(self, paths: list[Path]) -> None:
        self.recent_list.clear()
        for path in paths:
            item = QListWidgetItem(f"{path.name}    —    {path.parent}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(str(path))
            self.recent_list.addItem(item)
        self.recent_list.setVisible(bool(paths))
        self._recent_title.setText("<b>Recent models</b>" if paths else "<i>No recent models yet.</i>")

    def _on_recent(self, item: QListWidgetItem) -> None:
        self.recent_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_bundled_available(self, available: bool, where: Path) -> None:
        self.bundled_button.setEnabled(available)
        self.bundled_button.setToolTip(str(where) if available else f"Not installed: {where} is missing")
