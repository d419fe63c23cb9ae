"""Small multiples: one picture per head of the chosen layer, each with that head's map over
the model's input (as DINO shows its [CLS] heads). All tiles are composed with numpy into one
RGB array drawn by one ImageItem; each tile is coloured against its own maximum so that every
head's pattern shows whatever its scale. Click a tile to choose that head.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from explorer.contract import ImageSpec
from explorer.ui.image import maps
from explorer.ui.views.colors import BACKGROUND, SELECTED, heatmap

TILE = 96  # fewest pixels on a tile's short side
GAP = 4
OPACITY = 0.7


def compose(picture: np.ndarray, head_maps: np.ndarray, spec: ImageSpec, columns: int) -> np.ndarray:
    """The input picture (H, W, 3) with each of (heads, patches) laid over it, tiled `columns` wide."""
    lut = heatmap().getLookupTable(nPts=256, alpha=False)
    factor = maps.input_factor(spec, TILE)
    big = maps.upsample(picture, factor)
    big_spec = dataclasses.replace(spec, size=(spec.size[0] * factor, spec.size[1] * factor),
                                   patch_size=spec.patch_size * factor)
    blended = np.stack([maps.blend(big, values, big_spec, lut, OPACITY) for values in head_maps])  # (H, h, w, 3)
    return maps.tiles(blended, columns, GAP)


class HeadTiles(QWidget):
    head_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.maps: np.ndarray | None = None  # (heads, patches) as drawn
        self.composed: np.ndarray | None = None
        self._tile = (0, 0)  # a tile's (height, width) in composed pixels
        self._columns = 1
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(BACKGROUND)
        self.view_box = self.canvas.addViewBox(invertY=True, lockAspect=True, enableMouse=False)
        self.view_box.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.outline = QGraphicsRectItem()
        self.outline.setPen(pg.mkPen(SELECTED, width=3, cosmetic=True))
        self.outline.setZValue(1)
        self.view_box.addItem(self.image)
        self.view_box.addItem(self.outline)
        self.canvas.scene().sigMouseClicked.connect(self._on_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)

    def set_maps(self, picture: np.ndarray, head_maps: np.ndarray, spec: ImageSpec, head: int | None) -> None:
        self.maps = head_maps
        self._columns = len(head_maps) if len(head_maps) <= 8 else math.ceil(math.sqrt(len(head_maps)) * 1.5)
        self.composed = compose(picture, head_maps, spec, self._columns)
        factor = maps.input_factor(spec, TILE)
        self._tile = (spec.size[0] * factor, spec.size[1] * factor)
        self.image.setImage(self.composed, levels=(0, 255))
        self.view_box.setRange(QRectF(0, 0, self.composed.shape[1], self.composed.shape[0]), padding=0.01)
        self.set_head(head)

    def tile_rect(self, head: int) -> QRectF:
        row, col = divmod(head, self._columns)
        h, w = self._tile
        return QRectF(col * (w + GAP), row * (h + GAP), w, h)

    def set_head(self, head: int | None) -> None:
        self.outline.setVisible(head is not None and self.maps is not None)
        if head is not None and self.maps is not None:
            self.outline.setRect(self.tile_rect(head))

    def _on_click(self, event) -> None:
        if self.maps is None or event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.view_box.mapSceneToView(event.scenePos())
        h, w = self._tile
        col, row = int(point.x() // (w + GAP)), int(point.y() // (h + GAP))
        head = row * self._columns + col
        if point.x() >= 0 and point.y() >= 0 and col < self._columns and head < len(self.maps):
            self.head_clicked.emit(head)
