"""The image with its patch grid and a per-patch heatmap laid over it.

A handful of items whatever the number of patches: one ImageItem for the picture, one for
the heatmap (per-patch cells, its opacity a slider), one RGBA ImageItem hatching the hidden
patches, one PlotCurveItem for the whole grid (connect="pairs"), one rectangle around the
focused patch and one for a rectangle being dragged. View coordinates are the model input's
pixels, so a click maps to a patch with `images.pixel_to_token`.

Mouse: click a patch to focus it; Alt-click to hide it (or show it again); drag a rectangle
to hide every patch it touches.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from explorer.contract import ImageSpec
from explorer.shared import images
from explorer.ui.image import maps
from explorer.ui.views.colors import BACKGROUND, SELECTED, heatmap

GRID_PEN = (255, 255, 255, 150)
HEAT_FACTOR = 8  # heatmap pixels a patch side: sharp cell edges however the view is scaled


class _PatchBox(pg.ViewBox):
    """A ViewBox that reports clicks and dragged rectangles in view coordinates instead of panning."""

    def __init__(self, overlay: PatchOverlay):
        super().__init__(invertY=True, lockAspect=True, enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self._overlay = overlay

    def mouseClickEvent(self, event) -> None:  # noqa: N802 - pyqtgraph's name
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mouseClickEvent(event)
        event.accept()
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        self._overlay.click_at(self.mapToView(event.pos()), hide=alt)

    def mouseDragEvent(self, event, axis=None) -> None:  # noqa: N802 - pyqtgraph's name
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(event, axis)
        event.accept()
        rect = QRectF(self.mapToView(event.buttonDownPos()), self.mapToView(event.pos())).normalized()
        self._overlay.drag_to(rect, finished=event.isFinish())


class PatchOverlay(QWidget):
    """Shows one image; `set_values` lays a patch map over it, `set_hidden` hatches patches."""

    patch_clicked = Signal(int)  # token index of a clicked patch
    patch_toggled = Signal(int)  # patch number (without [CLS]) Alt-clicked: hide it, or show it again
    patches_dragged = Signal(object)  # frozenset of patch numbers a dragged rectangle touched: hide them
    hovered = Signal(int)  # token under the mouse; -1 outside the image

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.spec: ImageSpec | None = None
        self.values: np.ndarray | None = None  # (patches,) the map drawn, exactly as given
        self.hidden: frozenset[int] = frozenset()
        self._lut = heatmap().getLookupTable(nPts=256, alpha=False)  # (256, 3) uint8

        self.canvas = pg.GraphicsView(background=BACKGROUND)
        self.view_box = _PatchBox(self)
        self.canvas.setCentralItem(self.view_box)
        self.picture = pg.ImageItem(axisOrder="row-major")
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.hatch = pg.ImageItem(axisOrder="row-major")
        self.grid = pg.PlotCurveItem(pen=pg.mkPen(GRID_PEN, width=1, cosmetic=True), connect="pairs")
        self.focus = QGraphicsRectItem()
        self.focus.setPen(pg.mkPen(SELECTED, width=3, cosmetic=True))
        self.dragged = QGraphicsRectItem()
        self.dragged.setPen(pg.mkPen("#333", width=1.5, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.dragged.setVisible(False)
        for z, item in enumerate((self.picture, self.heat, self.hatch, self.grid, self.focus, self.dragged)):
            item.setZValue(z)
            self.view_box.addItem(item)
        self.heat.setOpacity(0.6)
        self.canvas.scene().sigMouseMoved.connect(self._on_mouse_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)

    # -- what is shown ----------------------------------------------------------------------------
    def set_image(self, picture: np.ndarray, spec: ImageSpec) -> None:
        """An (h, w, 3) uint8 picture of what the model sees, at any resolution; drawn over the input's pixels."""
        self.spec = spec
        height, width = spec.size
        bounds = QRectF(0, 0, width, height)
        self.picture.setImage(picture, levels=(0, 255), rect=bounds)
        rows, cols = spec.grid
        p = spec.patch_size
        xs = np.arange(cols + 1) * p
        ys = np.arange(rows + 1) * p
        x = np.concatenate([np.repeat(xs, 2), np.tile([0, cols * p], rows + 1)]).astype(float)  # verticals, then rows
        y = np.concatenate([np.tile([0, rows * p], cols + 1), np.repeat(ys, 2)]).astype(float)
        self.grid.setData(x, y)
        self.view_box.setRange(bounds, padding=0.01)

    def set_values(self, values: np.ndarray | None, peak: float | None = None) -> None:
        """One value per patch (patches,), coloured up to `peak` (default: their maximum); None clears."""
        self.values = None if values is None else np.asarray(values)
        if values is None or self.spec is None:
            self.heat.clear()
            return
        rows, cols = self.spec.grid
        self.heat.setImage(
            maps.heat_picture(self.values, self.spec, self._lut, HEAT_FACTOR, peak),
            levels=(0, 255), rect=QRectF(0, 0, cols * self.spec.patch_size, rows * self.spec.patch_size),
        )

    def set_hidden(self, hidden: frozenset[int]) -> None:
        self.hidden = frozenset(hidden)
        if not self.hidden or self.spec is None:
            self.hatch.clear()
            return
        rows, cols = self.spec.grid
        p = self.spec.patch_size
        self.hatch.setImage(maps.hatch_picture(self.hidden, self.spec), levels=(0, 255),
                            rect=QRectF(0, 0, cols * p, rows * p))

    def set_focus(self, token: int | None) -> None:
        """Outline the patch of `token`; [CLS] and None outline nothing."""
        if self.spec is None or token is None:
            self.focus.setVisible(False)
            return
        top, left, bottom, right = (int(v) for v in images.token_to_box(token, self.spec))
        self.focus.setVisible(top >= 0)
        self.focus.setRect(QRectF(left, top, right - left, bottom - top))

    def set_opacity(self, opacity: float) -> None:
        self.heat.setOpacity(opacity)

    def set_grid_visible(self, visible: bool) -> None:
        self.grid.setVisible(visible)

    # -- the mouse ------------------------------------------------------------------------------
    def token_at(self, point: QPointF) -> int:
        """Token of the patch under a point in view (input pixel) coordinates; -1 outside."""
        if self.spec is None:
            return -1
        return int(images.pixel_to_token(np.floor(point.y()), np.floor(point.x()), self.spec))

    def patch_center(self, patch: int) -> QPointF:
        """Scene position of a patch's centre (patch numbers count from 0, without [CLS])."""
        row, col = divmod(patch, self.spec.grid[1])
        p = self.spec.patch_size
        return self.view_box.mapViewToScene(QPointF((col + 0.5) * p, (row + 0.5) * p))

    def click_at(self, point: QPointF, hide: bool = False) -> None:
        token = self.token_at(point)
        if token < 0:
            return
        if hide:
            self.patch_toggled.emit(token - maps.patch_slice(self.spec).start)
        else:
            self.patch_clicked.emit(token)

    def drag_to(self, rect: QRectF, finished: bool) -> None:
        self.dragged.setRect(rect)
        self.dragged.setVisible(not finished)
        if finished and self.spec is not None:
            self.patches_dragged.emit(frozenset(self.patches_in(rect)))

    def patches_in(self, rect: QRectF) -> list[int]:
        """Patch numbers of every patch a view rectangle touches."""
        height, width = self.spec.size
        yy, xx = np.mgrid[0:height, 0:width]
        inside = (yy + 1 > rect.top()) & (yy < rect.bottom()) & (xx + 1 > rect.left()) & (xx < rect.right())
        rows, cols = self.spec.grid
        p = self.spec.patch_size
        return np.flatnonzero(images.pixels_to_patches(inside[: rows * p, : cols * p], self.spec)).tolist()

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        inside = self.view_box.sceneBoundingRect().contains(scene_pos)
        self.hovered.emit(self.token_at(self.view_box.mapSceneToView(scene_pos)) if inside else -1)
