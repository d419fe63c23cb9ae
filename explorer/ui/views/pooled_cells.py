"""What the matrix view draws of a long input (explorer.core.long_path): each head's pooled map, and
over it the exact rows the run holds.

A pooled cell covers `block` x `block` tokens and holds the model's attention mass from those queries
(their mean) to those keys (summed). It is drawn as that mass over the cell's key count, the mean
attention of one of its cells, so that pooled cells and exact rows share one colour scale; the
readout gives both numbers. Zooming in to a window of at most ZOOM_ROWS queries asks for their rows
(Selection.show_rows), which the next run returns exactly.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from explorer.core.result import StackAttention
from explorer.ui.views.base import value_text
from explorer.ui.views.colors import NOT_ALLOWED, heatmap

ZOOM_ROWS = 48  # a zoomed-in window of at most this many queries is fetched exactly


def block_sizes(length: int, block: int) -> np.ndarray:
    """(ceil(length / block),) float32: how many tokens each block holds (the last may be partial)."""
    edges = np.minimum(np.arange(0, length + block, block), length)
    return np.diff(edges[: -(-length // block) + 1]).astype(np.float32)


def cell_means(stack: StackAttention, layer: int, head: int | None) -> np.ndarray:
    """(query blocks, key blocks): each pooled cell's mass over its key count."""
    return stack.pooled_head(layer, head) / block_sizes(len(stack.key_tokens), stack.block)[None, :]


def not_allowed_blocks(stack: StackAttention) -> np.ndarray:
    """(query blocks, key blocks) bool: blocks the model could not attend at all (every key hidden, or
    wholly in a causal stack's future)."""
    block, queries, keys = stack.block, len(stack.query_tokens), len(stack.key_tokens)
    query_blocks, key_blocks = -(-queries // block), -(-keys // block)
    masked = np.zeros((query_blocks, key_blocks), dtype=bool)
    if stack.key_mask is not None:
        hidden = np.ones(key_blocks * block, dtype=bool)  # past the last key: nothing to attend
        hidden[:keys] = ~np.asarray(stack.key_mask, dtype=bool)
        masked |= hidden.reshape(key_blocks, block).all(axis=1)[None, :]
    if stack.causal:
        last_query = np.minimum((np.arange(query_blocks) + 1) * block, queries) - 1
        masked |= (np.arange(key_blocks) * block)[None, :] > last_query[:, None]
    return masked


def row_runs(rows: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(first query, end, index of the first in `rows`) of each run of consecutive rows."""
    runs = []
    for index, query in enumerate(rows):
        if runs and query == runs[-1][1]:
            runs[-1] = (runs[-1][0], query + 1, runs[-1][2])
        elif not runs or query > runs[-1][1]:
            runs.append((query, query + 1, index))
    return runs


class PooledCells:
    """The exact rows over the pooled map (which the view's own image shows), and the grey over the
    blocks the model could not attend."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.greyed = pg.ImageItem(axisOrder="row-major")
        self.greyed.setZValue(1)
        plot.addItem(self.greyed)
        self.row_images: list[pg.ImageItem] = []
        self._map = heatmap()

    def pooled_rect(self, stack: StackAttention) -> QRectF:
        """Where the pooled map lies, in tokens: whole blocks, so the last ones reach past the end."""
        block = stack.block
        return QRectF(0, 0, -(-len(stack.key_tokens) // block) * block, -(-len(stack.query_tokens) // block) * block)

    def set_grey(self, stack: StackAttention | None, visible: bool) -> None:
        masked = None if stack is None else not_allowed_blocks(stack)
        if masked is None or not masked.any():
            self.greyed.setVisible(False)
            return
        overlay = np.zeros((*masked.shape, 4), dtype=np.uint8)  # (q blocks, k blocks, RGBA)
        overlay[masked] = NOT_ALLOWED
        self.greyed.setImage(overlay, levels=(0, 255), rect=self.pooled_rect(stack))
        self.greyed.setVisible(visible)

    def draw_rows(self, stack: StackAttention | None, layer: int, head: int | None, high: float) -> None:
        """Each run of exact rows as one image, coloured on the scale (0, high)."""
        runs = row_runs(stack.rows) if stack is not None and not stack.complete else []
        while len(self.row_images) < len(runs):
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(self._map)
            image.setZValue(1.5)  # over the grey: a held row shows its values, exactly 0 where not allowed
            self.plot.addItem(image)
            self.row_images.append(image)
        keys = len(stack.key_tokens) if stack is not None else 0
        for i, image in enumerate(self.row_images):
            image.setVisible(i < len(runs))
            if i < len(runs):
                first, end, index = runs[i]
                values = stack.head(layer, head)[index : index + end - first]  # (rows, keys)
                image.setImage(values, levels=(0.0, high), rect=QRectF(0, first, keys, end - first))

    def high(self, stack: StackAttention, layer: int, head: int | None, sight: QRectF | None = None) -> float:
        """The top of the colour scale: the largest cell mean or exact value the model could attend,
        among those in `sight` (in tokens; None: all), so that a zoomed-in window away from an attention
        sink still shows its pattern."""
        block, queries, keys = stack.block, len(stack.query_tokens), len(stack.key_tokens)
        q0, q1, k0, k1 = 0, queries, 0, keys
        if sight is not None:
            q0, q1 = max(0, int(sight.top())), min(queries, int(np.ceil(sight.bottom())))
            k0, k1 = max(0, int(sight.left())), min(keys, int(np.ceil(sight.right())))
        blocks = np.s_[q0 // block : -(-q1 // block), k0 // block : -(-k1 // block)]
        means = cell_means(stack, layer, head)[blocks][~not_allowed_blocks(stack)[blocks]]
        held = [i for i, query in enumerate(stack.rows) if q0 <= query < q1]
        exact = stack.head(layer, head)[held, k0:k1]
        top = max(float(means.max()) if means.size else 0.0, float(exact.max()) if exact.size else 0.0)
        return top if top > 0 else 1.0

    def clear(self) -> None:
        self.greyed.setVisible(False)
        for image in self.row_images:
            image.setVisible(False)


def block_text(stack: StackAttention, layer: int, head: int | None, query: int, key: int) -> str:
    """The readout of a pooled cell under (query, key)."""
    block = stack.block
    i, j = query // block, key // block
    q0, q1 = i * block, min((i + 1) * block, len(stack.query_tokens)) - 1
    k0, k1 = j * block, min((j + 1) * block, len(stack.key_tokens)) - 1
    mass = stack.pooled_head(layer, head)[i, j]
    return (f"queries {q0}–{q1} → keys {k0}–{k1}: {value_text(mass)} of each query's attention on average "
            f"(pooled; zoom in to {ZOOM_ROWS} queries or fewer for exact values)")
