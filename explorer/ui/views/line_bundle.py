"""Many straight lines in a few colours as one graphics item, painted in device pixels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QPainter, QPen


class LineBundle(pg.GraphicsObject):
    """Groups of line segments, each group one pen, painted in the order given.

    Qt paints lines through a scaling transform (as a plot's view applies) several times
    slower than lines given in device pixels, so `paint` maps the end points with numpy
    and draws with the painter's transform reset. The mapped (n, 4) float64 array has the
    memory layout of n QLineF (two QPointF of two doubles), so Qt reads it in place through
    QPainter's (pointer, count) overload, as pyqtgraph draws its curves, instead of a
    QLineF object being made per line.
    """

    def __init__(self, antialias: bool = False):
        super().__init__()
        self._groups: list[tuple[QPen, np.ndarray]] = []  # (pen, (n, 4) x0, y0, x1, y1 in data coordinates)
        self._bounds = QRectF()
        self._antialias = antialias

    def set_groups(self, groups: list[tuple[QPen, np.ndarray]], bounds: QRectF) -> None:
        """Replace the lines; `bounds` is a rectangle (data coordinates) that holds them all."""
        self.prepareGeometryChange()
        self._groups = [(pen, ends) for pen, ends in groups if len(ends)]
        self._bounds = QRectF(bounds)
        self.update()

    @property
    def groups(self) -> list[tuple[QPen, np.ndarray]]:
        return self._groups

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, *args) -> None:
        if not self._groups:
            return
        t = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, self._antialias)
        for pen, ends in self._groups:
            x, y = ends[:, 0::2], ends[:, 1::2]  # (n, 2) each: start and end
            device = np.empty(ends.shape, np.float64)  # (n, 4) C-contiguous: n QLineF
            device[:, 0::2] = t.m11() * x + t.m21() * y + t.dx()
            device[:, 1::2] = t.m12() * x + t.m22() * y + t.dy()
            painter.setPen(pen)
            painter.drawLines(shiboken6.wrapInstance(device.ctypes.data, QLineF), len(device))
        painter.restore()
