"""A row of the tokens the model really sees, each with its id underneath ("apple = 1").

Click a token to focus it, Shift-click to add it to a set of tokens (or take it out).
Alt-click hides it as a key (its attention_mask entry 0), double-click replaces it by [MASK]
(masked language models); each token's context menu offers the same.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QWidget,
)

_STYLE = """
QToolButton { border: 1px solid palette(mid); border-radius: 3px; padding: 2px 5px; font-family: monospace; }
QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); }
QToolButton[hidden_key="true"] { background: #d0d0d0; color: #777; text-decoration: line-through; }
QToolButton[masked="true"] { border: 2px solid #e08a00; }
QToolButton[chosen="true"] { border: 2px dashed #d62728; }
QToolButton[generated="true"] { background: #dbe9f6; color: #1f4e79; }
"""
_MARKS = ("hidden_key", "masked", "chosen")  # the dynamic properties the style sheet reads


class TokenStrip(QScrollArea):
    """Click a token to focus it; `token_clicked(index)` says which."""

    token_clicked = Signal(int)
    hide_toggled = Signal(int)  # Alt-click: hide the token as a key, or show it again
    mask_toggled = Signal(int)  # double-click: replace the token by [MASK], or put it back
    chosen_toggled = Signal(int)  # Shift-click: add the token to the chosen set, or take it out

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
        # What each button shows and how it is marked, kept here: a new input of mostly the same
        # tokens then touches only the buttons that change (each setText lays the row out again).
        self._texts: list[tuple[str, str]] = []  # per button: (text, tooltip)
        self._button_marks: list[tuple[bool, bool, bool] | None] = []  # per button: hidden_key, masked, chosen
        self._count = 0
        self._marks: tuple[frozenset[int], ...] = (frozenset(),) * 3  # hidden, masked, chosen
        self.can_mask = False  # whether the model has a [MASK] token to replace tokens by
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
            button.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            index = len(self._buttons)
            button.customContextMenuRequested.connect(lambda _, i=index: self.token_menu(i).popup(QCursor.pos()))
            button.installEventFilter(self)
            button.setVisible(False)
            self._group.addButton(button, len(self._buttons))
            self._layout.insertWidget(self._layout.count() - 1, button)
            self._buttons.append(button)
            self._texts.append(("", ""))
            self._button_marks.append(None)  # no marks set yet: the first set_marks sets them all
        for i, token in enumerate(tokens):
            under = ids[i] if ids is not None else i
            tip = f"position {i}: token {token!r}" + (f", id {under}" if ids is not None else "")
            text = (f"{token}\n{under}", tip)
            if text != self._texts[i]:
                self._buttons[i].setText(text[0])
                self._buttons[i].setToolTip(text[1])
                self._texts[i] = text
        for i in range(min(self._count, len(tokens)), max(self._count, len(tokens))):
            self._buttons[i].setVisible(i < len(tokens))
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
        elif self._group.checkedButton() is not None:
            self._group.setExclusive(False)  # an exclusive group cannot uncheck its last button
            self._group.checkedButton().setChecked(False)
            self._group.setExclusive(True)

    def click(self, index: int) -> None:
        """Click token `index` as a person would."""
        self._buttons[index].click()

    def button(self, index: int) -> QToolButton:
        return self._buttons[index]

    def set_marks(
        self, hidden: frozenset[int], masked: frozenset[int], chosen: frozenset[int] | None = None
    ) -> None:
        """Draw hidden keys struck through on grey, [MASK]ed tokens and the chosen set outlined
        (None: the chosen set as it was)."""
        self._marks = (frozenset(hidden), frozenset(masked), self._marks[2] if chosen is None else frozenset(chosen))
        hidden, masked, chosen = self._marks
        for i, button in enumerate(self._buttons[: self._count]):
            marks = (i in hidden, i in masked, i in chosen)
            if marks != self._button_marks[i]:
                self._button_marks[i] = marks
                for name, value in zip(_MARKS, marks, strict=True):
                    button.setProperty(name, value)
                button.style().unpolish(button)  # a dynamic property restyles only when polished again
                button.style().polish(button)

    def set_generated(self, start: int | None) -> None:
        """Tint the tokens from `start` on: the model wrote them while decoding or generating step by
        step (the prompt's stay plain); None: tint none."""
        for i, button in enumerate(self._buttons[: self._count]):
            made = start is not None and i >= start
            if bool(button.property("generated")) != made:
                button.setProperty("generated", made)
                button.style().unpolish(button)
                button.style().polish(button)

    def set_chosen(self, chosen: frozenset[int]) -> None:
        """Outline the chosen token set (Shift-clicked), keeping the other marks."""
        self.set_marks(*self._marks[:2], chosen)

    def chosen(self) -> frozenset[int]:
        return self._marks[2]

    def token_menu(self, index: int) -> QMenu:
        menu = QMenu(self)
        menu.addAction("Hide / show as a key\tAlt+click", lambda: self.hide_toggled.emit(index))
        mask = menu.addAction("Replace by [MASK] / put back\tdouble-click", lambda: self.mask_toggled.emit(index))
        mask.setEnabled(self.can_mask)
        return menu

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Modified clicks and double-clicks on a token button: the toggles, not a focus change."""
        if not isinstance(watched, QToolButton) or watched not in self._buttons:
            return super().eventFilter(watched, event)  # the scroll area's own viewport
        if event.type() not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            return False
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        index = self._buttons.index(watched)
        if event.type() == QEvent.Type.MouseButtonDblClick:
            if self.can_mask:
                self.mask_toggled.emit(index)
            return True
        if event.modifiers() & Qt.KeyboardModifier.AltModifier:
            self.hide_toggled.emit(index)
            return True
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.chosen_toggled.emit(index)
            return True
        return False

    def _height(self) -> int:
        lines = self.fontMetrics().lineSpacing() * 2
        return lines + 22 + self.horizontalScrollBar().sizeHint().height()
