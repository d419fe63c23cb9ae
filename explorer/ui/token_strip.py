"""A row of the tokens the model really sees, each with its id underneath ("apple = 1")."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QToolButton, QWidget

_STYLE = """
QToolButton { border: 1px solid palette(mid); border-radius: 3px; padding: 2px 5px; font-family: monospace; }
QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); }
"""


class TokenStrip(QScrollArea):
    """Click a token to focus it; `token_clicked(index)` says which."""

    token_clicked = Signal(int)

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        row = QWidget()
        row.setStyleSheet(_STYLE)
        self._layout = QHBoxLayout(row)
        self._layout.setContentsMargins(2, 2, 2, 2)
        self._layout.setSpacing(3)
        self._title = QLabel(title)
        self._title.setVisible(bool(title))
        self._layout.addWidget(self._title)
        self._layout.addStretch(1)
        self.setWidget(row)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.idClicked.connect(self.token_clicked)
        self._buttons: list[QToolButton] = []  # reused from run to run; extras are hidden
        self._count = 0
        self.setFixedHeight(self._height())

    def set_title(self, title: str) -> None:
        self._title.setText(title)
        self._title.setVisible(bool(title))

    def set_tokens(self, tokens: tuple[str, ...], ids: tuple[int, ...] | None = None) -> None:
        """Show `tokens` with their `ids` (or positions, for inputs without ids such as image patches)."""
        while len(self._buttons) < len(tokens):
            button = QToolButton()
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self._group.addButton(button, len(self._buttons))
            self._layout.insertWidget(self._layout.count() - 1, button)
            self._buttons.append(button)
        for i, button in enumerate(self._buttons):
            shown = i < len(tokens)
            if shown:
                under = ids[i] if ids is not None else i
                button.setText(f"{tokens[i]}\n{under}")
                button.setToolTip(f"position {i}: token {tokens[i]!r}" + (f", id {ids[i]}" if ids is not None else ""))
            button.setVisible(shown)
        self._count = len(tokens)
        self.set_current(None)

    def tokens(self) -> list[tuple[str, str]]:
        """What the strip shows: (token, id) per position."""
        return [tuple(b.text().split("\n", 1)) for b in self._buttons[: self._count]]

    def current(self) -> int | None:
        index = self._group.checkedId()
        return index if 0 <= index < self._count else None

    def set_current(self, index: int | None) -> None:
        """Highlight token `index` (None: none) without emitting token_clicked."""
        if index is not None and 0 <= index < self._count:
            self._buttons[index].setChecked(True)
            self.ensureWidgetVisible(self._buttons[index])
        else:
            self._group.setExclusive(False)  # an exclusive group cannot uncheck its last button
            for button in self._buttons:
                button.setChecked(False)
            self._group.setExclusive(True)

    def click(self, index: int) -> None:
        """Click token `index` as a person would."""
        self._buttons[index].click()

    def _height(self) -> int:
        lines = self.fontMetrics().lineSpacing() * 2
        return lines + 22 + self.horizontalScrollBar().sizeHint().height()
