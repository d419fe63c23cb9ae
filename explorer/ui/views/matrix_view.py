"""Matrix view: the [queries x keys] attention of one head (or the mean of heads) as a heatmap.

A Shift-clicked token set is outlined; its summed or averaged row (column, for attention to the
tokens) is drawn as one more strip of cells, half a cell below (right of) the matrix.

Wheel or drag a box to zoom in, Home to see it whole. A long input shows its pooled map, with the
exact rows it holds over it; zoomed in to a few dozen queries, their rows are fetched exactly
(explorer.ui.views.pooled_cells)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QCheckBox, QGraphicsRectItem, QHBoxLayout, QPushButton, QWidget

from explorer.core.result import StackAttention
from explorer.core.state.selection import EACH, FROM, MEAN, SUM, Selection
from explorer.core.token_sets import combine
from explorer.ui.views.base import SelectionView, value_text
from explorer.ui.views.colors import BACKGROUND, FOREGROUND, NOT_ALLOWED, SELECTED, heatmap
from explorer.ui.views.controls import HeadBox, HowBox, LayerBox
from explorer.ui.views.pooled_cells import ZOOM_ROWS, PooledCells, block_text, cell_means
from explorer.ui.views.token_axis import TokenAxis

HINT = (
    "Hover a cell to read its value; click it to focus its query (its key when showing attention to a token); "
    "Shift-click adds tokens; wheel or drag a box to zoom, Home to see it whole."
)
STRIP_GAP = 0.5  # cells between the matrix and a token set's combined strip
HOW_WORDS = {SUM: "sum", MEAN: "average"}


def allowed_cells(stack: StackAttention) -> np.ndarray:
    """(queries, keys) bool: False where the model could not attend (a masked key, a causal future)."""
    allowed = np.ones((len(stack.query_tokens), len(stack.key_tokens)), dtype=bool)
    if stack.key_mask is not None:
        allowed &= np.asarray(stack.key_mask, dtype=bool)[None, :]
    if stack.causal:
        allowed &= np.tri(*allowed.shape, dtype=bool)  # key index <= query index
    return allowed


class MatrixView(SelectionView):
    """One ImageItem for the values, one grey RGBA ImageItem over the cells that were not allowed,
    a colour bar, and token labels on both axes (queries down the left, keys along the top)."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(selection, parent)

        toolbar = QHBoxLayout()
        toolbar.addWidget(LayerBox(selection))
        toolbar.addWidget(HeadBox(selection))
        self.how_box = HowBox(selection)
        toolbar.addWidget(self.how_box)
        toolbar.addStretch(1)
        # Masked keys and the causal future are greyed; unticked, their cells show the values
        # the model really holds there (exactly 0).
        self.grey_masked = QCheckBox("Grey out masked cells")
        self.grey_masked.setChecked(True)
        self.grey_masked.setToolTip("Hidden keys and a decoder's future: grey, or their values (exactly 0)")
        self.grey_masked.toggled.connect(self._show_not_allowed)
        toolbar.addWidget(self.grey_masked)
        self.fit_button = QPushButton("Whole matrix")
        self.fit_button.setToolTip("Zoom out to every query and key (Home)")
        self.fit_button.clicked.connect(self.fit)
        toolbar.addWidget(self.fit_button)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(BACKGROUND)
        self.canvas.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.query_axis = TokenAxis("left")
        self.key_axis = TokenAxis("top", rotate_long_labels=True)
        self.plot = self.canvas.addPlot(axisItems={"left": self.query_axis, "top": self.key_axis})
        self.plot.hideAxis("bottom")
        self.plot.showAxis("top")
        self.plot.setLabel("left", "query")
        self.plot.setLabel("top", "key")
        for axis in ("left", "top"):
            self.plot.getAxis(axis).setTextPen(FOREGROUND)
            self.plot.getAxis(axis).setPen(FOREGROUND)
        self.plot.setMenuEnabled(False)
        self.view_box = self.plot.getViewBox()
        self.view_box.invertY(True)  # row 0 (the first query) at the top
        self.view_box.setMouseMode(pg.ViewBox.RectMode)  # a dragged box zooms in; the wheel zooms too
        # Cells fill the plot rather than staying square: a locked aspect floated the matrix in the middle
        # of a tall or wide pane, away from its token labels.

        self.image = pg.ImageItem(axisOrder="row-major")
        self.not_allowed = pg.ImageItem(axisOrder="row-major")  # RGBA, grey where not allowed
        self.not_allowed.setZValue(1)
        self.focus_outline = QGraphicsRectItem()
        self.focus_outline.setPen(pg.mkPen(SELECTED, width=2, cosmetic=True))
        self.focus_outline.setZValue(2)
        self.combined = pg.ImageItem(axisOrder="row-major")  # a token set's combined row, as cells
        self.combined.setColorMap(heatmap())
        self.combined_row: np.ndarray | None = None  # (keys,) or (queries,) as drawn, None when not drawn
        self._set_pen = QPen(pg.mkPen(SELECTED, width=2, cosmetic=True))
        self._set_pen.setStyle(Qt.PenStyle.DashLine)
        self.set_outlines: list[QGraphicsRectItem] = []  # the chosen tokens other than the focused one
        for item in (self.image, self.not_allowed, self.focus_outline, self.combined):
            self.plot.addItem(item)
        self.color_bar = pg.ColorBarItem(colorMap=heatmap(), interactive=False, width=15, colorMapMenu=False)
        self.color_bar.setImageItem(self.image, insert_in=self.plot)
        self.color_bar.getAxis("right").setTextPen(FOREGROUND)
        self.cells = PooledCells(self.plot)  # a long input's exact rows and greyed blocks
        self._zoomed = QTimer(self, singleShot=True, interval=250)  # a zoom settles before rows are fetched
        self._zoomed.timeout.connect(self._zoom_settled)
        self.view_box.sigRangeChanged.connect(lambda *_: self._zoomed.start())

        self.readout = self._assemble(toolbar, self.canvas, HINT)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # values to copy
        self.matrix: np.ndarray | None = None  # (queries, keys) exactly as shown
        self.allowed: np.ndarray | None = None  # (queries, keys) bool
        self.extent = QRectF(0, 0, 1, 1)
        self._tokens_shown: tuple | None = None  # the zoom is kept while the tokens stay the same
        self.long = False  # a long input: pooled map and exact rows
        self._strip_side: str | None = None  # where the combined strip is (FROM: below, TO: right), for ranging
        self.refresh()

    # -- drawing --------------------------------------------------------------------------
    def _rebuild(self) -> None:
        """What depends on the stack only: labels, extent, the cells that were not allowed."""
        stack = self.selection.stack
        self.long = stack is not None and not stack.complete
        if stack is None:
            self.allowed = None
            self.query_axis.set_tokens(())
            self.key_axis.set_tokens(())
            self.not_allowed.clear()
            self.cells.clear()
            self._tokens_shown = None
            return
        queries, keys = len(stack.query_tokens), len(stack.key_tokens)
        self.query_axis.set_tokens(stack.query_tokens)
        self.key_axis.set_tokens(stack.key_tokens)
        self.extent = QRectF(0, 0, keys, queries)  # one unit per cell
        self.allowed = None if self.long else allowed_cells(stack)  # a long input's: by block (PooledCells)
        if self.allowed is not None:
            overlay = np.zeros((queries, keys, 4), dtype=np.uint8)  # (Q, K, RGBA)
            overlay[~self.allowed] = NOT_ALLOWED
            self.not_allowed.setImage(overlay, levels=(0, 255), rect=self.extent)
        self._show_not_allowed()
        tokens = (stack.name, stack.query_tokens, stack.key_tokens)
        # new tokens: the whole matrix; the same ones (rows fetched, a head ablated): as zoomed
        if tokens != self._tokens_shown:
            self._tokens_shown, self._strip_side = tokens, None
            self.view_box.setLimits(xMin=-keys, xMax=2 * keys, yMin=-queries, yMax=2 * queries)
            self.fit()

    def fit(self) -> None:
        """Zoom out to the whole matrix (and a token set's strip)."""
        strip = self._strip_side is not None
        self.view_box.setRange(self.extent.united(self.strip_rect()) if strip else self.extent, padding=0)

    def _show_not_allowed(self) -> None:
        grey = self.grey_masked.isChecked()
        self.not_allowed.setVisible(self.allowed is not None and not self.allowed.all() and grey)
        self.cells.set_grey(self.selection.stack if self.long else None, grey)

    def _redraw(self) -> None:
        selection = self.selection
        self.matrix = selection.matrix()
        if self.long:
            self._redraw_long()
            return
        self.cells.clear()
        if self.matrix is None:
            self.image.clear()
            self.combined.clear()
            self.combined_row = None
            self.focus_outline.setVisible(False)
            for outline in self.set_outlines:
                outline.setVisible(False)
            self.plot.setTitle("")
            return
        shown = self.matrix[self.allowed] if self.allowed is not None else self.matrix
        high = float(shown.max()) if shown.size else 1.0
        self.image.setImage(self.matrix, autoLevels=False, rect=self.extent)
        self.color_bar.setLevels((0.0, high if high > 0 else 1.0))
        head = "mean of heads" if selection.head is None else selection.stack.head_label(selection.head)
        title = f"{selection.stack_name} · layer {selection.layer} · {head}"
        self._draw_focus()
        self._draw_combined(high)
        if self.combined_row is not None:
            title += f" · {'below' if selection.direction == FROM else 'right'}: {self._set_words()}"
            if selection.how == SUM:  # not the colour bar's scale
                title += f" (0 to {value_text(self.combined_row.max())})"
        self.plot.setTitle(title, color=FOREGROUND)

    def _redraw_long(self) -> None:
        """A long input: the pooled map as cell means, the exact rows over it, one colour scale."""
        selection, stack = self.selection, self.selection.stack
        layer, head = selection.layer, selection.head
        high = self.cells.high(stack, layer, head, self.view_box.viewRect())  # what is in sight
        self.image.setImage(cell_means(stack, layer, head), autoLevels=False, rect=self.cells.pooled_rect(stack))
        self.color_bar.setLevels((0.0, high))
        self.cells.draw_rows(stack, layer, head, high)
        self.combined.clear()
        self.combined_row = None
        self._draw_focus()
        words = "mean of heads" if head is None else stack.head_label(head)
        self.plot.setTitle(f"{selection.stack_name} · layer {layer} · {words} · pooled in blocks of {stack.block} "
                           f"tokens, {len(stack.rows)} row{'s' * (len(stack.rows) != 1)} exact", color=FOREGROUND)

    def _zoom_settled(self) -> None:
        """A long input: colours for what is in sight, and the exact rows of a few dozen queries."""
        if not self.long or self.selection.stack is None:
            return
        self._redraw_long()
        self._fetch_rows()

    def _fetch_rows(self) -> None:
        """Zoomed in to a few dozen queries of a long input: ask for their exact rows."""
        if not self.long or self.selection.stack is None:
            return
        (_, _), (top, bottom) = self.view_box.viewRange()
        queries = len(self.selection.stack.query_tokens)
        first, end = max(0, math.floor(top)), min(queries, math.ceil(bottom))
        if 0 < end - first <= ZOOM_ROWS:
            self.selection.show_rows(range(first, end))

    def _draw_focus(self) -> None:
        queries, keys = self.extent.height(), self.extent.width()
        token = self.selection.token
        from_query = self.selection.direction == FROM
        self.query_axis.set_highlight(token if from_query else None)
        self.key_axis.set_highlight(None if from_query else token)
        if token is None:
            self.focus_outline.setVisible(False)
            return
        rect = QRectF(0, token, keys, 1) if from_query else QRectF(token, 0, 1, queries)
        self.focus_outline.setRect(rect)
        self.focus_outline.setVisible(True)
        others = sorted(self.selection.chosen - {token})
        while len(self.set_outlines) < len(others):
            outline = QGraphicsRectItem()
            outline.setPen(self._set_pen)
            outline.setZValue(2)
            self.plot.addItem(outline)
            self.set_outlines.append(outline)
        for i, outline in enumerate(self.set_outlines):
            outline.setVisible(i < len(others))
            if i < len(others):
                t = others[i]
                outline.setRect(QRectF(0, t, keys, 1) if from_query else QRectF(t, 0, 1, queries))

    def _draw_combined(self, high: float) -> None:
        """The chosen set's summed or averaged row as a strip of cells beside the matrix. An
        average shares the matrix's colours; a sum (up to the set's size) gets its own scale."""
        selection = self.selection
        side = selection.direction if selection.chosen and selection.how != EACH else None
        if side is None:
            self.combined_row = None
            self.combined.clear()
        else:
            self.combined_row = combine(self.matrix, selection.tokens, selection.how, side)  # (K,) or (Q,)
            top = float(self.combined_row.max()) if selection.how == SUM else high
            cells = self.combined_row[None, :] if side == FROM else self.combined_row[:, None]  # (1, K) or (Q, 1)
            self.combined.setImage(cells, levels=(0.0, top if top > 0 else 1.0), rect=self.strip_rect())
        if side != self._strip_side:  # make room for the strip, or give it back
            self._strip_side = side
            self.view_box.setRange(self.extent if side is None else self.extent.united(self.strip_rect()), padding=0)

    def strip_rect(self) -> QRectF:
        """Where the combined strip lies, in cells."""
        queries, keys = self.extent.height(), self.extent.width()
        if self.selection.direction == FROM:
            return QRectF(0, queries + STRIP_GAP, keys, 1)
        return QRectF(keys + STRIP_GAP, 0, 1, queries)

    def _set_words(self) -> str:
        selection = self.selection
        kind = "queries" if selection.direction == FROM else "keys"
        return f"{HOW_WORDS[selection.how]} of {kind} {selection.token_names()}"

    # -- the mouse ------------------------------------------------------------------------
    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """(query, key) under a scene position, or None outside the matrix."""
        if self.selection.stack is None or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view_box.mapSceneToView(scene_pos)
        query, key = math.floor(point.y()), math.floor(point.x())
        queries, keys = int(self.extent.height()), int(self.extent.width())
        return (query, key) if 0 <= query < queries and 0 <= key < keys else None

    def cell_text(self, query: int, key: int) -> str:
        stack, selection = self.selection.stack, self.selection
        row = self.matrix[query] if self.matrix is not None else selection.row(query)
        if row is None:  # a long input's row not held: its pooled cell
            return block_text(stack, selection.layer, selection.head, query, key)
        text = (f"query {query} {stack.query_tokens[query]!r} → key {key} {stack.key_tokens[key]!r}: "
                f"{value_text(row[key])}")
        allowed = self.allowed[query, key] if self.allowed is not None else (
            (stack.key_mask is None or stack.key_mask[key]) and not (stack.causal and key > query))
        if not allowed:
            text += "  (not allowed: masked key or causal future)"
        return text

    def strip_at(self, scene_pos: QPointF) -> int | None:
        """The index along the combined strip under a scene position (a key for FROM, a query
        for TO), or None."""
        if self.combined_row is None or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view_box.mapSceneToView(scene_pos)
        if not self.strip_rect().contains(point):
            return None
        index = math.floor(point.x() if self.selection.direction == FROM else point.y())
        return index if 0 <= index < len(self.combined_row) else None

    def strip_text(self, index: int) -> str:
        stack = self.selection.stack
        other = f"key {index} {stack.key_tokens[index]!r}" if self.selection.direction == FROM else (
            f"query {index} {stack.query_tokens[index]!r}")
        return f"{self._set_words()} → {other}: {value_text(self.combined_row[index])}"

    def _on_hover(self, scene_pos: QPointF) -> None:
        cell, along = self.cell_at(scene_pos), self.strip_at(scene_pos)
        if cell is not None:
            self.readout.setText(self.cell_text(*cell))
        elif along is not None:
            self.readout.setText(self.strip_text(along))
        else:
            self.readout.setText(HINT)

    def _on_click(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is None or event.button() != Qt.MouseButton.LeftButton:
            return
        query, key = cell
        token = query if self.selection.direction == FROM else key
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.selection.toggle_token(token)
        else:
            self.selection.set_token(token)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Home:
            self.fit()
        else:
            super().keyPressEvent(event)
