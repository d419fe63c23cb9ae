"""Head view (after BertViz): queries in a left column, keys in a right one, and a line from
each query to each key it attends, in the head's colour, as opaque as the weight.

Drawing: all lines are one `LineBundle`, painted in a handful of pens: per head, the
weights are rounded to `LEVELS` strengths, and each strength is the head's colour mixed
into the white background, drawn opaque with the stronger lines on top. (Qt paints
translucent or antialiased lines far slower than opaque ones, and on white the mixed colour
looks as a translucent line would.) Weights under `MIN_WEIGHT` are not drawn (they would be
all but invisible). Painting time grows with the number of lines times their length in
pixels, so with no token focused the view draws the `MAX_LINES` strongest lines, shared
among the visible heads (a focused token has at most one line per token and head).

A Shift-clicked token set draws each token's lines, or its combined row (sum or mean): the
chosen tokens join at one point just off their column, and the lines leave from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QHBoxLayout, QWidget

from explorer.core.result import StackAttention
from explorer.core.state.selection import EACH, FROM, MEAN, TO, Selection
from explorer.core.token_sets import combine
from explorer.ui.views.base import SelectionView
from explorer.ui.views.colors import BACKGROUND, FOREGROUND, SELECTED, head_color
from explorer.ui.views.controls import DirectionSwitch, HeadToggles, HowBox, LayerBox
from explorer.ui.views.line_bundle import LineBundle
from explorer.ui.views.token_axis import TokenAxis

LEVELS = 8  # opacity steps
MIN_WEIGHT = 0.01
MAX_LINES = 2000
LINE_WIDTH = 2.0
LINES_WIDTH = 320  # most pixels between the two token columns
HEAD_SPREAD = 0.6  # of a token's height, over which the heads' line ends are spread
COLUMN_REACH = 0.12  # the mouse is over a token column within this fraction of the gap
JOIN = 0.08  # a combined token set's lines leave from this far off its column
HINT = "Hover or click a token to follow its attention; Shift-click adds tokens; Esc clears, Up/Down move."


def mixed(color: QColor, strength: float) -> QColor:
    """`color` laid over the (white) background with opacity `strength`, as an opaque colour."""
    return QColor.fromRgbF(*(1.0 - strength * (1.0 - c) for c in color.getRgbF()[:3]))


@dataclass(frozen=True)
class Lines:
    """The lines drawn for one head: line i joins query[i] to key[i] with weight[i]."""

    query: np.ndarray  # (n,) int; a combined set's side: the mean of its indices (float)
    key: np.ndarray  # (n,) int, likewise
    weight: np.ndarray  # (n,) float32, as in the attention array (or combined from it)

    @staticmethod
    def of(matrix: np.ndarray, token: int | None, direction: str, limit: int = MAX_LINES) -> Lines:
        """The lines of one head's (queries, keys) matrix: the `limit` strongest, or one token's."""
        queries, keys = matrix.shape
        if token is None:
            query, key = np.nonzero(matrix >= MIN_WEIGHT)
            weight = matrix[query, key]
            if weight.size > limit:
                strongest = np.argpartition(weight, -limit)[-limit:]
                query, key, weight = query[strongest], key[strongest], weight[strongest]
            return Lines(query, key, weight)
        if direction == FROM:
            query, key, weight = np.full(keys, token), np.arange(keys), matrix[token, :]
        else:
            query, key, weight = np.arange(queries), np.full(queries, token), matrix[:, token]
        strong = weight >= MIN_WEIGHT
        return Lines(query[strong], key[strong], weight[strong])

    @staticmethod
    def of_set(matrix: np.ndarray, tokens: tuple[int, ...], how: str, direction: str) -> Lines:
        """The lines of several tokens: each token's own (EACH), or their combined row (SUM, MEAN)
        drawn from the middle of the set."""
        if how == EACH:
            parts = [Lines.of(matrix, token, direction) for token in tokens]
            fields = ("query", "key", "weight")
            return Lines(*(np.concatenate([getattr(part, name) for part in parts]) for name in fields))
        weight = combine(matrix, tokens, how, direction)  # (K,) for FROM, (Q,) for TO
        others, middle = np.arange(len(weight)), np.full(len(weight), float(np.mean(tokens)))
        query, key = (middle, others) if direction == FROM else (others, middle)
        strong = weight >= MIN_WEIGHT
        return Lines(query[strong], key[strong], weight[strong])


def held_lines(stack: StackAttention, rows: np.ndarray, tokens: tuple[int, ...], direction: str, how: str,
               limit: int) -> Lines:
    """The lines of a long input's head from the rows it holds, (R, K) as `stack.rows` names them: a
    query's own (fetched when focused), or, for a key, what the held rows give it."""
    held = np.asarray(stack.rows)
    index = {query: i for i, query in enumerate(stack.rows)}
    if direction == FROM:
        tokens = tuple(index[t] for t in tokens if t in index)
        if not tokens:  # the row is being fetched
            return Lines(np.zeros(0, int), np.zeros(0, int), np.zeros(0, np.float32))
    lines = Lines.of_set(rows, tokens, how, direction) if len(tokens) > 1 else Lines.of(
        rows, tokens[0] if tokens else None, direction, limit)
    if direction == FROM and len(tokens) > 1 and how != EACH:
        return Lines(np.full(len(lines.key), float(np.mean(held[list(tokens)]))), lines.key, lines.weight)
    return Lines(held[lines.query.astype(int)], lines.key, lines.weight)


class HeadView(SelectionView):
    """The lines of the selected layer's visible heads; a focused token shows only its own."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(selection, parent)

        toolbar = QHBoxLayout()
        toolbar.addWidget(LayerBox(selection))
        self.toggles = HeadToggles(selection)
        toolbar.addWidget(self.toggles, 1)
        self.direction_switch = DirectionSwitch(selection)
        toolbar.addWidget(self.direction_switch)
        self.how_box = HowBox(selection)
        toolbar.addWidget(self.how_box)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(BACKGROUND)
        self.canvas.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.query_axis = TokenAxis("left")
        self.key_axis = TokenAxis("right")
        # the plot between two empty cells that share the room its maximum width leaves
        self.canvas.addItem(pg.GraphicsWidget(), row=0, col=0)
        self.plot = self.canvas.addPlot(row=0, col=1, axisItems={"left": self.query_axis, "right": self.key_axis})
        self.canvas.addItem(pg.GraphicsWidget(), row=0, col=2)
        for column, stretch in ((0, 1), (1, 100), (2, 1)):
            self.canvas.ci.layout.setColumnStretchFactor(column, stretch)
        self.plot.hideAxis("bottom")
        self.plot.showAxis("right")
        for axis in (self.query_axis, self.key_axis):
            axis.setTextPen(FOREGROUND)
            axis.setPen(pg.mkPen(None))
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.view_box = self.plot.getViewBox()
        self.view_box.invertY(True)  # the first token at the top
        self.view_box.setMouseEnabled(x=False, y=True)  # scroll and zoom along the tokens only
        self.view_box.setXRange(0, 1, padding=0)

        self.marker = pg.ScatterPlotItem(size=9, pen=pg.mkPen(None), brush=pg.mkBrush(SELECTED))
        self._join_pen = pg.mkPen(SELECTED, width=1.5)
        self.marker.setZValue(1)
        self.bundle = LineBundle()
        self.plot.addItem(self.bundle)
        self.plot.addItem(self.marker)

        self.readout = self._assemble(toolbar, self.canvas, HINT)
        self.canvas.viewport().installEventFilter(self)
        self.lines: dict[int, Lines] = {}  # per visible head, what is drawn now
        self._pens: list[list[QPen]] = []  # [head][level]
        self.hovered: tuple[int, str] | None = None  # (token, direction) under the mouse
        self.refresh()

    # -- drawing --------------------------------------------------------------------------
    @property
    def focus(self) -> tuple[tuple[int, ...], str, str]:
        """(tokens, direction, how) whose lines are drawn: the token under the mouse, else the
        selected token or set."""
        if self.hovered is not None:
            token, direction = self.hovered
            return (token,), direction, EACH
        return self.selection.tokens, self.selection.direction, self.selection.how

    @property
    def joined(self) -> bool:
        """Whether the lines drawn are a set's combined row."""
        tokens, _, how = self.focus
        return len(tokens) > 1 and how != EACH

    def _rebuild(self) -> None:
        stack = self.selection.stack
        self.hovered = None
        heads = stack.heads if stack else 0
        if len(self._pens) != heads:  # pens depend on the head count only: made once per model
            self._pens = [[pg.mkPen(mixed(head_color(head), (level + 1) / LEVELS), width=LINE_WIDTH)
                           for level in range(LEVELS)] for head in range(heads)]
        self.query_axis.set_tokens(stack.query_tokens if stack else ())
        self.key_axis.set_tokens(stack.key_tokens if stack else ())
        # lines cost time by their length in pixels, and short ones read as well (BertViz's are short)
        self.plot.setMaximumWidth(self.query_axis.maximumWidth() + LINES_WIDTH + self.key_axis.maximumWidth())
        rows = max(len(stack.query_tokens), len(stack.key_tokens)) if stack else 1
        self.view_box.setLimits(yMin=0, yMax=rows, minYRange=min(rows, 4))
        self.view_box.setYRange(0, rows, padding=0)

    def _redraw(self) -> None:
        stack = self.selection.stack
        tokens, direction, how = self.focus
        visible = sorted(self.selection.visible_heads) if stack else []
        limit = MAX_LINES // max(1, len(visible))
        # (Q, K) each; a long input's (rows, keys): the rows it holds, which held_lines names
        matrices = {head: stack.attentions[self.selection.layer, head] for head in visible}
        if stack is not None and not stack.complete:
            self.lines = {head: held_lines(stack, matrix, tokens, direction, how, limit)
                          for head, matrix in matrices.items()}
        elif len(tokens) > 1:
            self.lines = {head: Lines.of_set(matrix, tokens, how, direction) for head, matrix in matrices.items()}
        else:
            token = tokens[0] if tokens else None
            self.lines = {head: Lines.of(matrix, token, direction, limit) for head, matrix in matrices.items()}
        self._draw_lines()
        self._draw_focus(tokens, direction)
        if self.hovered is None:
            self.readout.setText(self._set_text() if self.selection.chosen else HINT)

    def _draw_lines(self) -> None:
        """One group of segments per strength and head, weakest first. Token i spans [i, i + 1);
        each head's lines end at its own height within the token, so that heads joining the
        same pair stay side by side instead of hiding each other."""
        groups = []
        heads = len(self._pens)
        tokens, direction, _ = self.focus
        left = JOIN if self.joined and direction == FROM else 0.0  # a combined set's lines leave off its column
        right = 1.0 - JOIN if self.joined and direction == TO else 1.0
        by_head = {}
        for head, lines in self.lines.items():
            end = 0.5 + HEAD_SPREAD * ((head + 0.5) / heads - 0.5)
            level = np.minimum((lines.weight * LEVELS).astype(int), LEVELS - 1)  # (n,) a sum over 1 is full
            n = len(level)
            ends = np.stack([np.full(n, left), lines.query + end, np.full(n, right), lines.key + end], axis=1)
            by_head[head] = (level, ends)  # (n,), (n, 4)
        for level in range(LEVELS):
            for head, (levels, ends) in by_head.items():
                groups.append((self._pens[head][level], ends[levels == level]))
        if self.joined:  # the chosen tokens meet where their lines leave
            column, join = (0.0, left) if direction == FROM else (1.0, right)
            middle = float(np.mean(tokens)) + 0.5
            groups.append((self._join_pen, np.array([[column, t + 0.5, join, middle] for t in tokens])))
        stack = self.selection.stack
        rows = max(len(stack.query_tokens), len(stack.key_tokens)) if stack else 0
        self.bundle.set_groups(groups, QRectF(0, 0, 1, rows))

    def _draw_focus(self, tokens: tuple[int, ...], direction: str) -> None:
        token = self.hovered[0] if self.hovered is not None else self.selection.token
        self.query_axis.set_highlight(token if direction == FROM else None)
        self.key_axis.set_highlight(token if direction == TO else None)
        column = 0.0 if direction == FROM else 1.0
        self.marker.setData([column] * len(tokens), [t + 0.5 for t in tokens])

    # -- the mouse and the keys -----------------------------------------------------------
    def token_at(self, scene_pos: QPointF) -> tuple[int, str] | None:
        """(token, direction) of the token label or line end under a scene position: a query
        on the left (its attention), a key on the right (the attention it receives)."""
        stack = self.selection.stack
        if stack is None or not self.canvas.sceneRect().contains(scene_pos):
            return None
        point = self.view_box.mapSceneToView(scene_pos)
        index = math.floor(point.y())
        if point.x() < COLUMN_REACH:
            found = (index, FROM) if 0 <= index < len(stack.query_tokens) else None
        elif point.x() > 1 - COLUMN_REACH:
            found = (index, TO) if 0 <= index < len(stack.key_tokens) else None
        else:
            found = None
        return found

    def token_position(self, token: int, direction: str) -> QPointF:
        """Scene position of a token's line end (for tests and scripted clicks)."""
        return self.view_box.mapViewToScene(QPointF(0.0 if direction == FROM else 1.0, token + 0.5))

    def _on_hover(self, scene_pos: QPointF) -> None:
        self._hover(self.token_at(scene_pos))

    def _hover(self, found: tuple[int, str] | None) -> None:
        if found != self.hovered:
            self.hovered = found
            self.readout.setText(HINT if found is None else self._token_text(*found))
            self._redraw()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.canvas.viewport() and event.type() == QEvent.Type.Leave:
            self._hover(None)  # the mouse left the drawing: back to the pinned token
        return False

    def _on_click(self, event) -> None:
        found = self.token_at(event.scenePos())
        if found is None or event.button() != Qt.MouseButton.LeftButton:
            return
        token, direction = found
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.selection.toggle_token(token, direction)
            return
        pinned = (self.selection.token, self.selection.direction)
        alone = not self.selection.chosen  # a plain click on a chosen token keeps it, alone
        self.selection.set_token(None if found == pinned and alone else token, direction)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        stack = self.selection.stack
        if key == Qt.Key.Key_Escape:
            self.selection.set_token(None)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and stack is not None:
            step = -1 if key == Qt.Key.Key_Up else 1
            count = len(self.selection.focus_tokens)
            token = self.selection.token
            token = 0 if token is None else min(max(token + step, 0), count - 1)
            self.selection.set_token(token)
        else:
            super().keyPressEvent(event)

    def _set_text(self) -> str:
        tokens, names = self.selection.tokens, self.selection.token_names()
        how = {EACH: "each one's", MEAN: "their averaged"}.get(self.selection.how, "their summed")
        if self.selection.direction == FROM:
            return f"{len(tokens)} queries {names}: {how} attention over the keys"
        return f"{len(tokens)} keys {names}: {how} attention received"

    def _token_text(self, token: int, direction: str) -> str:
        stack = self.selection.stack
        if direction == FROM:
            return f"query {token} {stack.query_tokens[token]!r}: its attention over the keys"
        if not stack.complete:  # a key's column spans every row; a long input holds some
            return (f"key {token} {stack.key_tokens[token]!r}: the attention it receives from the {len(stack.rows)} "
                    "queries held exactly (the matrix view shows every query's, pooled)")
        return f"key {token} {stack.key_tokens[token]!r}: the attention it receives"
