"""A row of the tokens the model really sees, each with its id underneath ("apple = 1").

Click a token to focus it, Shift-click to add it to a set of tokens (or take it out).
Alt-click hides it as a key (its attention_mask entry 0), double-click replaces it by [MASK]
(masked language models); each token's context menu offers the same.

The row is a one-line QListView over a list model: Qt lays the boxes out from their sizes and
paints only the ones in sight, so an input of thousands of tokens costs what the visible ones do.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QListView,
    QMenu,
    QSizePolicy,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

ID_ROLE = Qt.ItemDataRole.UserRole  # the line under the token: its id, or its position
LOOKS_ROLE = Qt.ItemDataRole.UserRole + 1  # which of LOOKS the token is drawn with
LOOKS = ("current", "hidden_key", "masked", "chosen", "generated")

_PAD_X, _PAD_Y, _BORDER, _RADIUS = 5, 2, 2, 3.0  # room inside a box; _BORDER fits the widest pen
_SPACING = 2  # QListView puts it around every box
_HIDDEN = (QColor("#d0d0d0"), QColor("#777777"))  # background, text: a key the model may not see
_GENERATED = (QColor("#dbe9f6"), QColor("#1f4e79"))  # written by the model while decoding
_MASKED = QColor("#e08a00")
_CHOSEN = QColor("#d62728")


class _Tokens(QAbstractListModel):
    """The strip's tokens and how each is marked; the delegate reads them through roles."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.rows: list[tuple[str, str, str]] = []  # per position: token, line under it, tooltip
        self.sizes: list[QSize] = []
        self.current: int | None = None
        self.marks: tuple[frozenset[int], ...] = (frozenset(),) * 3  # hidden, masked, chosen
        self.generated_from: int | None = None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row = index.row()
        if not index.isValid() or row >= len(self.rows):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[row][0]
        if role == ID_ROLE:
            return self.rows[row][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.rows[row][2]
        if role == Qt.ItemDataRole.SizeHintRole:
            return self.sizes[row]
        if role == LOOKS_ROLE:
            return self.looks(row)
        return None

    def looks(self, row: int) -> frozenset[str]:
        hidden, masked, chosen = self.marks
        made = self.generated_from is not None and row >= self.generated_from
        flags = (row == self.current, row in hidden, row in masked, row in chosen, made)
        return frozenset(name for name, on in zip(LOOKS, flags, strict=True) if on)

    def set_rows(self, rows: list[tuple[str, str, str]], sizes: list[QSize]) -> None:
        if rows == self.rows:
            return  # a run of the same tokens (a head toggled, say): no new layout
        self.beginResetModel()  # the view keeps its scroll position, within the new row's length
        self.rows, self.sizes = rows, sizes
        self.endResetModel()


class _TokenBox(QStyledItemDelegate):
    """One token's box: the token over its id, marked as the style sheet of the strip's buttons
    said before it was a list (the focused one highlighted, a hidden key struck through on grey, [MASK]ed ones outlined
    orange, the chosen set dashed red, generated ones tinted), focus drawn over the tints."""

    def __init__(self, font: QFont, parent: QWidget):
        super().__init__(parent)
        self.font = font

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        looks = index.data(LOOKS_ROLE)
        palette = option.palette
        background, text = None, palette.color(QPalette.ColorRole.ButtonText)
        if "hidden_key" in looks:
            background, text = _HIDDEN
        if "generated" in looks:
            background, text = _GENERATED
        if "current" in looks:
            background = palette.color(QPalette.ColorRole.Highlight)
            text = palette.color(QPalette.ColorRole.HighlightedText)
        pen = QPen(palette.color(QPalette.ColorRole.Mid), 1)
        if "masked" in looks:
            pen = QPen(_MASKED, 2)
        if "chosen" in looks:
            pen = QPen(_CHOSEN, 2, Qt.PenStyle.DashLine)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pen)
        painter.setBrush(background if background is not None else Qt.BrushStyle.NoBrush)
        half = pen.widthF() / 2  # the pen straddles the outline: keep it inside the box
        painter.drawRoundedRect(QRectF(option.rect).adjusted(half, half, -half, -half), _RADIUS, _RADIUS)
        font = QFont(self.font)
        font.setStrikeOut("hidden_key" in looks)
        painter.setFont(font)
        painter.setPen(text)
        inner = option.rect.adjusted(0, _BORDER + _PAD_Y, 0, -_BORDER - _PAD_Y)
        top, bottom = inner.adjusted(0, 0, 0, -inner.height() // 2), inner.adjusted(0, inner.height() // 2, 0, 0)
        line = Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextSingleLine
        painter.drawText(top, line | Qt.AlignmentFlag.AlignVCenter, index.data(Qt.ItemDataRole.DisplayRole))
        painter.drawText(bottom, line | Qt.AlignmentFlag.AlignVCenter, index.data(ID_ROLE))
        painter.restore()


class TokenStrip(QListView):
    """Click a token to focus it; `token_clicked(index)` says which."""

    token_clicked = Signal(int)
    hide_toggled = Signal(int)  # Alt-click: hide the token as a key, or show it again
    mask_toggled = Signal(int)  # double-click: replace the token by [MASK], or put it back
    chosen_toggled = Signal(int)  # Shift-click: add the token to the chosen set, or take it out

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setSpacing(_SPACING)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)  # the focus is ours: current()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # clicking a token leaves the text box its focus
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.viewport().setBackgroundRole(QPalette.ColorRole.Window)  # a row on the page, not a list box
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(self.font().pointSizeF())
        self._metrics = QFontMetrics(font)
        self._model = _Tokens(self)
        self.setModel(self._model)
        self.setItemDelegate(_TokenBox(font, self))
        self._title = QLabel(title, self)  # left of the row, in the viewport's margin, as a header is
        self._title.setAlignment(Qt.AlignmentFlag.AlignVCenter)
        self._pressed: int | None = None  # the token a plain left press went down on
        self.can_mask = False  # whether the model has a [MASK] token to replace tokens by
        self.setFixedHeight(self._height())
        self.set_title(title)

    def set_title(self, title: str) -> None:
        self._title.setText(title)
        self._title.setVisible(bool(title))
        self.setViewportMargins(self._title.sizeHint().width() + 6 if title else 0, 0, 0, 0)
        self._place_title()

    def set_tokens(self, tokens: tuple[str, ...], ids: tuple[int, ...] | None = None) -> None:
        """Show `tokens` with their `ids` (or positions, for inputs without ids such as image patches)."""
        rows, sizes = [], []
        line, height = self._metrics.horizontalAdvance, self._box_height()
        for i, token in enumerate(tokens):
            under = str(ids[i] if ids is not None else i)
            tip = f"position {i}: token {token!r}" + (f", id {under}" if ids is not None else "")
            rows.append((token, under, tip))
            sizes.append(QSize(max(line(token), line(under), 1) + 2 * (_PAD_X + _BORDER), height))
        self._model.set_rows(rows, sizes)
        self.set_current(None)

    def tokens(self) -> list[tuple[str, str]]:
        """What the strip shows: (token, id) per position."""
        return [(token, under) for token, under, _ in self._model.rows]

    def current(self) -> int | None:
        return self._model.current

    def set_current(self, index: int | None) -> None:
        """Highlight token `index` (None: none) and scroll it into view, without emitting token_clicked."""
        shown = index if index is not None and 0 <= index < len(self._model.rows) else None
        before, self._model.current = self._model.current, shown
        if before != shown:
            self._restyle(before, shown)
        if shown is not None:
            self.scrollTo(self._model.index(shown))

    def click(self, index: int) -> None:
        """Click token `index` as a person would."""
        self.set_current(index)
        self.token_clicked.emit(index)

    def token_position(self, index: int) -> QPoint:
        """The middle of token `index`'s box in viewport coordinates, scrolled into view first:
        where a person (or a test) clicks it."""
        self.scrollTo(self._model.index(index))
        return self.visualRect(self._model.index(index)).center()

    def looks(self, index: int) -> frozenset[str]:
        """Which of LOOKS token `index` is drawn with: what the delegate reads to paint it."""
        return self._model.index(index).data(LOOKS_ROLE)

    def set_marks(self, hidden: frozenset[int], masked: frozenset[int], chosen: frozenset[int] | None = None) -> None:
        """Draw hidden keys struck through on grey, [MASK]ed tokens and the chosen set outlined
        (None: the chosen set as it was)."""
        marks = (frozenset(hidden), frozenset(masked), self._model.marks[2] if chosen is None else frozenset(chosen))
        if marks != self._model.marks:
            self._model.marks = marks
            self._restyle()

    def set_generated(self, start: int | None) -> None:
        """Tint the tokens from `start` on: the model wrote them while decoding or generating step by
        step (the prompt's stay plain); None: tint none."""
        if start != self._model.generated_from:
            self._model.generated_from = start
            self._restyle()

    def set_chosen(self, chosen: frozenset[int]) -> None:
        """Outline the chosen token set (Shift-clicked), keeping the other marks."""
        self.set_marks(*self._model.marks[:2], chosen)

    def chosen(self) -> frozenset[int]:
        return self._model.marks[2]

    def token_menu(self, index: int) -> QMenu:
        menu = QMenu(self)
        menu.addAction("Hide / show as a key\tAlt+click", lambda: self.hide_toggled.emit(index))
        mask = menu.addAction("Replace by [MASK] / put back\tdouble-click", lambda: self.mask_toggled.emit(index))
        mask.setEnabled(self.can_mask)
        return menu

    # -- a person's mouse: positions are the viewport's ---------------------------------------
    def mousePressEvent(self, event) -> None:
        """Modified presses are the toggles, at once; a plain one focuses on release, as a button does."""
        self._pressed = None
        row = self._row_at(event.position().toPoint())
        if row is None or event.button() != Qt.MouseButton.LeftButton:
            return
        if event.modifiers() & Qt.KeyboardModifier.AltModifier:
            self.hide_toggled.emit(row)
        elif event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.chosen_toggled.emit(row)
        else:
            self._pressed = row

    def mouseReleaseEvent(self, event) -> None:
        pressed, self._pressed = self._pressed, None
        left = event.button() == Qt.MouseButton.LeftButton
        if pressed is not None and left and self._row_at(event.position().toPoint()) == pressed:
            self.click(pressed)  # released off the token it went down on: no click, as with a button

    def mouseDoubleClickEvent(self, event) -> None:
        self._pressed = None  # the press that ends a double-click is not a focus click
        row = self._row_at(event.position().toPoint())
        if row is not None and event.button() == Qt.MouseButton.LeftButton and self.can_mask:
            self.mask_toggled.emit(row)

    def mouseMoveEvent(self, event) -> None:
        pass  # no drag-selecting or dragging tokens out

    def contextMenuEvent(self, event) -> None:
        row = self._row_at(event.pos())
        if row is not None:
            self.token_menu(row).popup(event.globalPos())

    def scrollTo(self, index: QModelIndex, hint=QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        super().scrollTo(index, hint)
        if hint != QAbstractItemView.ScrollHint.EnsureVisible:
            return
        # QListView leaves a box at the right edge 1 px out of sight; show it whole, with its spacing
        box, area = self.visualRect(index), self.viewport().rect()
        past = max(box.right() + _SPACING - area.right(), 0) or min(box.left() - _SPACING, 0)
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + past)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_title()

    def _restyle(self, *rows: int | None) -> None:
        """Repaint `rows` (none given: every row in sight) after their looks changed. Not through
        dataChanged: QListView answers any dataChanged by laying out every row again."""
        if not rows:
            self.viewport().update()
        for row in rows:
            if row is not None:
                self.update(self._model.index(row))

    def _row_at(self, point: QPoint) -> int | None:
        index = self.indexAt(point)
        return index.row() if index.isValid() else None

    def _place_title(self) -> None:
        self._title.setGeometry(2, 0, self.viewportMargins().left() - 4, self.viewport().height())

    def _box_height(self) -> int:
        return 2 * self._metrics.lineSpacing() + 2 * (_PAD_Y + _BORDER)

    def _height(self) -> int:
        return self._box_height() + 2 * _SPACING + self.horizontalScrollBar().sizeHint().height()
