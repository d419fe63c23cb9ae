"""Model view: every layer x head as a thumbnail, and a last column for the mean of each layer.

All thumbnails are composed with numpy into one RGB array drawn by one ImageItem: a 12 x 12
model at 512 tokens would otherwise be 144 images of 512 x 512. Each head is block-averaged
down to at most THUMBNAIL pixels a side and coloured against its own maximum, so that a
head's pattern shows whatever its scale. Cell (layer, column) spans [column, column + 1) x
[layer, layer + 1) in view coordinates, so a click maps to a head by flooring.

Cells the model could not attend (hidden keys, a causal stack's future) are drawn grey in
every thumbnail, as in the matrix view, so that "not allowed" never reads as "small"; a switch
shows their values (exactly 0) instead. A hidden key greys every pixel its block touches, so
that one hidden key among 512 still shows; the future greys only blocks wholly in the future,
so that the diagonal, where a decoder looks most, keeps its values.

Ctrl-click a head (or use its context menu) to ablate it: its `head_mask` entry becomes 0,
the model runs again, and the head is drawn crossed out. Its thumbnail still shows its
pattern, which the contract reports before the head mask.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QCheckBox, QGraphicsRectItem, QHBoxLayout, QMenu, QVBoxLayout, QWidget

from explorer.core.result import StackAttention
from explorer.core.state.selection import Selection
from explorer.ui.views.base import SelectionView
from explorer.ui.views.colors import BACKGROUND, FOREGROUND, NOT_ALLOWED, SELECTED, heatmap
from explorer.ui.views.pooled_cells import block_sizes
from explorer.ui.views.pooled_cells import not_allowed_blocks as pooled_not_allowed

THUMBNAIL = 64  # most pixels a side of one head's thumbnail
MIN_THUMBNAIL = 24  # short inputs are enlarged to at least this, so the gaps stay thin
GAP = 2  # background pixels around each thumbnail
GAP_COLOR = (255, 255, 255)
MEAN_COLUMN = "mean"
ABLATED_COLOR = "#111111"
CROSS_INSET = 0.12  # of a cell: the cross over an ablated head stops short of its edges


def block_edges(length: int, size: int = THUMBNAIL) -> np.ndarray:
    """(blocks + 1,) int: the boundaries of at most `size` near-equal blocks over `length` items."""
    return np.linspace(0, length, min(length, size) + 1).round().astype(int)


def block_means(attentions: np.ndarray, size: int = THUMBNAIL) -> np.ndarray:
    """(layers, heads, Q, K) -> (layers, heads, q, k) with q, k <= size: the mean of each block."""
    *_, queries, keys = attentions.shape
    out = attentions
    for axis, length in ((3, keys), (2, queries)):  # the contiguous axis first: it shrinks the data most cheaply
        edges = block_edges(length, size)
        if len(edges) - 1 == length:
            continue  # already small enough
        sums = np.add.reduceat(out, edges[:-1], axis=axis)
        counts = np.diff(edges).astype(np.float32)
        out = sums / (counts[:, None] if axis == 2 else counts)
    return out


def not_allowed_blocks(stack: StackAttention, size: int = THUMBNAIL) -> np.ndarray:
    """(q, k) bool over the blocks of `block_means`: True where a block holds a hidden key, or
    lies wholly in a causal stack's future (its first key after its last query)."""
    query_edges = block_edges(len(stack.query_tokens), size)
    key_edges = block_edges(len(stack.key_tokens), size)
    masked = np.zeros((len(query_edges) - 1, len(key_edges) - 1), dtype=bool)  # (q, k)
    if stack.key_mask is not None:
        hidden = ~np.asarray(stack.key_mask, dtype=bool)  # (K,)
        masked |= np.logical_or.reduceat(hidden, key_edges[:-1])[None, :]  # (1, k)
    if stack.causal:
        masked |= key_edges[None, :-1] >= query_edges[1:, None]  # (q, k): first key past the last query
    return masked


def wholly(masked: np.ndarray, size: int = THUMBNAIL) -> np.ndarray:
    """(Q, K) bool -> (q, k) over the blocks of `block_means`: True where every cell of the block is."""
    for axis in (1, 0):
        masked = np.logical_and.reduceat(masked, block_edges(masked.shape[axis], size)[:-1], axis=axis)
    return masked


def compose(stack: StackAttention, grey_masked: bool = True) -> np.ndarray:
    """(layers * cell_q, (heads + 1) * cell_k, 3) uint8: every head's thumbnail and each layer's
    mean; with `grey_masked`, NOT_ALLOWED's grey where the model could not attend."""
    if stack.complete:
        thumbs, masked = block_means(stack.attentions), not_allowed_blocks(stack)  # (L, H, q, k), (q, k)
    else:  # a long input: its pooled maps, as cell means (explorer.ui.views.pooled_cells)
        sizes = block_sizes(len(stack.key_tokens), stack.block)
        thumbs = block_means(stack.pooled / sizes)
        masked = wholly(pooled_not_allowed(stack))
    thumbs = np.concatenate([thumbs, thumbs.mean(axis=1, keepdims=True)], axis=1)  # (L, H + 1, q, k)
    layers, columns, q, k = thumbs.shape
    grow = max(1, math.ceil(MIN_THUMBNAIL / max(q, k)))
    if grow > 1:
        thumbs = thumbs.repeat(grow, axis=2).repeat(grow, axis=3)
        masked = masked.repeat(grow, axis=0).repeat(grow, axis=1)
        q, k = q * grow, k * grow
    peak = thumbs.max(axis=(2, 3), keepdims=True)  # (L, H + 1, 1, 1)
    scaled = thumbs / np.where(peak > 0, peak, 1.0)
    lut = heatmap().getLookupTable(nPts=256, alpha=False)  # (256, 3) uint8
    rgb = lut[(scaled * 255).astype(np.uint8)]  # (L, H + 1, q, k, 3)
    if grey_masked:
        rgb[:, :, masked] = NOT_ALLOWED[:3]
    cells = np.empty((layers, q + 2 * GAP, columns, k + 2 * GAP, 3), dtype=np.uint8)
    cells[...] = GAP_COLOR
    cells[:, GAP : GAP + q, :, GAP : GAP + k] = rgb.transpose(0, 2, 1, 3, 4)
    return cells.reshape(layers * (q + 2 * GAP), columns * (k + 2 * GAP), 3)


class ModelView(SelectionView):
    """Click a thumbnail, or move with the arrow keys, to open that head in the other views."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(selection, parent)

        # As in the matrix view: hidden keys and a decoder's future grey, or their values (exactly 0).
        self.grey_masked = QCheckBox("Grey out masked cells")
        self.grey_masked.setChecked(True)
        self.grey_masked.setToolTip("Hidden keys and a decoder's future: grey, or their values (exactly 0)")
        self.grey_masked.toggled.connect(self._rebuild)
        toolbar = QHBoxLayout()
        toolbar.addStretch(1)
        toolbar.addWidget(self.grey_masked)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(BACKGROUND)
        self.canvas.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot = self.canvas.addPlot()
        self.plot.hideAxis("bottom")
        self.plot.showAxis("top")
        self.plot.setLabel("left", "layer")
        self.plot.setLabel("top", "head")
        for axis in ("left", "top"):
            self.plot.getAxis(axis).setTextPen(FOREGROUND)
            self.plot.getAxis(axis).setPen(FOREGROUND)
            self.plot.getAxis(axis).setStyle(tickLength=0)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.view_box = self.plot.getViewBox()
        self.view_box.invertY(True)  # layer 0 at the top
        self.view_box.setMouseEnabled(x=False, y=False)
        self.view_box.setAspectLocked(True)

        self.image = pg.ImageItem(axisOrder="row-major")
        self.outline = QGraphicsRectItem()
        self.outline.setPen(pg.mkPen(SELECTED, width=3, cosmetic=True))
        self.outline.setZValue(1)
        self.crosses = pg.PlotDataItem(connect="pairs", pen=pg.mkPen(ABLATED_COLOR, width=3, cosmetic=True))
        self.crosses.setZValue(2)
        self.plot.addItem(self.image)
        self.plot.addItem(self.outline)
        self.plot.addItem(self.crosses)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toolbar)
        layout.addWidget(self.canvas, 1)
        self.canvas.scene().sigMouseClicked.connect(self._on_click)
        selection.heads_changed.connect(self._draw_ablated)
        # per stack name: (stack, greyed or not, its composed image)
        self._composed: dict[str, tuple[StackAttention, bool, np.ndarray]] = {}
        self.composed: np.ndarray | None = None  # the RGB array shown
        self.refresh()

    def _rebuild(self) -> None:
        stack = self.selection.stack
        if stack is None:
            self.composed = None
            self.image.clear()
            return
        name = self.selection.stack_name
        grey = self.grey_masked.isChecked()
        cached = self._composed.get(name)
        if cached is None or cached[0] is not stack or cached[1] != grey:
            cached = (stack, grey, compose(stack, grey))
            # keep the thumbnails of the other stacks of this run only
            held = self.selection.stacks
            self._composed = {n: c for n, c in self._composed.items() if held.get(n) is c[0]}
            self._composed[name] = cached
        self.composed = cached[2]
        columns = stack.heads + 1
        extent = QRectF(0, 0, columns, stack.layers)
        self.image.setImage(self.composed, levels=(0, 255), rect=extent)
        self.plot.getAxis("left").setTicks([[(layer + 0.5, str(layer)) for layer in range(stack.layers)]])
        head_ticks = [(head + 0.5, str(head)) for head in range(stack.heads)] + [(stack.heads + 0.5, MEAN_COLUMN)]
        self.plot.getAxis("top").setTicks([head_ticks])
        self.view_box.setRange(extent, padding=0)

    def _redraw(self) -> None:
        stack = self.selection.stack
        if stack is None:
            self.outline.setVisible(False)
            return
        column = stack.heads if self.selection.head is None else self.selection.head
        self.outline.setRect(QRectF(column, self.selection.layer, 1, 1))
        self.outline.setVisible(True)
        self._draw_ablated()

    def ablated_heads(self) -> list[tuple[int, int]]:
        """(layer, head) of the shown stack's ablated heads: the ones drawn crossed out."""
        masks, name = self.selection.head_masks, self.selection.stack_name
        return masks.ablated(name) if masks is not None and name in masks.shapes else []

    def _draw_ablated(self) -> None:
        x, y = [], []
        a, b = CROSS_INSET, 1 - CROSS_INSET
        for layer, head in self.ablated_heads():  # two strokes per head, a cross
            x += [head + a, head + b, head + a, head + b]
            y += [layer + a, layer + b, layer + b, layer + a]
        self.crosses.setData(np.array(x, float), np.array(y, float))

    def cell_center(self, layer: int, head: int | None) -> QPointF:
        """Scene position of a thumbnail's centre; head None is the layer's mean."""
        column = self.selection.stack.heads if head is None else head
        return self.view_box.mapViewToScene(QPointF(column + 0.5, layer + 0.5))

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int | None] | None:
        """(layer, head or None for the mean) under a scene position."""
        stack = self.selection.stack
        if stack is None or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view_box.mapSceneToView(scene_pos)
        layer, column = math.floor(point.y()), math.floor(point.x())
        if not (0 <= layer < stack.layers and 0 <= column <= stack.heads):
            return None
        return layer, None if column == stack.heads else column

    def _on_click(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is None:
            return
        layer, head = cell
        if event.button() == Qt.MouseButton.RightButton and head is not None:
            self.head_menu(layer, head).popup(QCursor.pos())
        elif event.button() == Qt.MouseButton.LeftButton:
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier and head is not None:
                self.selection.toggle_head(layer, head)
            else:
                self.selection.open_head(layer, head)

    def head_menu(self, layer: int, head: int) -> QMenu:
        """Ablate the head, keep only it in its layer, or keep every head again."""
        menu = QMenu(self)
        ablated = (layer, head) in self.ablated_heads()
        menu.addAction(f"{'Keep' if ablated else 'Ablate'} head {head} of layer {layer}\tCtrl+click",
                       lambda: self.selection.toggle_head(layer, head))
        menu.addAction(f"Keep only head {head} in layer {layer}", lambda: self.selection.keep_only_head(layer, head))
        menu.addAction("Reset all heads", self.selection.reset_heads).setEnabled(bool(self.ablated_heads()))
        return menu

    def keyPressEvent(self, event) -> None:
        moves = {
            Qt.Key.Key_Up: (-1, 0),
            Qt.Key.Key_Down: (1, 0),
            Qt.Key.Key_Left: (0, -1),
            Qt.Key.Key_Right: (0, 1),
        }
        move = moves.get(event.key())
        if move is None:
            super().keyPressEvent(event)
        else:
            self.selection.move(*move)
