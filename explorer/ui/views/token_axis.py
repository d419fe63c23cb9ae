"""An axis that names tokens: token i spans [i, i + 1) and is labelled at i + 0.5."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPen

MAX_LABEL_CHARS = 16
LABEL_GAP = 6  # pixels between two labels side by side
ROTATED_GAP = 2  # pixels between two upright labels
ROTATE_OVER = 2.0  # a top/bottom axis stands its labels upright when the widest is this many lines wide
_MEASURE_BOX = QRectF(0, 0, 100, 100)  # as pyqtgraph measures a label
_ALIGN = {  # where a label sits against its tick, as pyqtgraph places it
    "left": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
    "right": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
    "top": Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
    "bottom": Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
}


def short_label(token: str) -> str:
    return token if len(token) <= MAX_LABEL_CHARS else token[: MAX_LABEL_CHARS - 1] + "…"


class TokenAxis(pg.AxisItem):
    """Labels every token that has room, and leaves out evenly spaced ones when they crowd.

    The spacing is worked out from the font and the axis length each time the axis is drawn,
    so zooming in shows more labels. A `highlight`ed token is always labelled.

    Drawing follows pyqtgraph's `generateDrawSpecs` (same ticks, same label boxes) without its
    per-label work: each distinct label is measured once and kept, so a new input of 64 tokens,
    most of them seen before, costs dictionary lookups instead of a painter query per label.
    """

    def __init__(self, orientation: str, rotate_long_labels: bool = False, **kwargs):
        """`rotate_long_labels`: on a top or bottom axis, words are drawn upright (reading upwards),
        so that a row of them needs a line's height each instead of its width: more are shown."""
        super().__init__(orientation, **kwargs)
        self.rotate_long_labels = rotate_long_labels and orientation in ("top", "bottom")
        self.rotated = False  # whether the current labels are drawn upright
        font = QFont()
        font.setPointSizeF(8.5)
        # room for the labels is set from the tokens, not grown while drawing (which takes repaints)
        self.setStyle(tickFont=font, tickLength=3, autoExpandTextSpace=False, hideOverlappingLabels=False)
        self._metrics = QFontMetricsF(font)
        self._advances: dict[str, float] = {}  # label -> its width in pixels, for the spacing
        self._sizes: dict[str, tuple[float, float]] = {}  # label -> (width, height) of its box, as drawn
        self._labels: tuple[str, ...] = ()
        self._label_extent = 1.0  # pixels one label needs along the axis
        self._highlight: int | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def set_tokens(self, tokens: tuple[str, ...]) -> None:
        labels = tuple(short_label(t) for t in tokens)
        if labels == self._labels:
            return  # the same input run again (a head ablated, a key hidden): nothing to redraw
        self._labels = labels
        widest = max((self._advance(label) for label in labels), default=0.0)
        self.rotated = self.rotate_long_labels and widest > ROTATE_OVER * self._metrics.height()
        if self.orientation in ("left", "right"):
            self._label_extent = self._metrics.height()
            self.setStyle(tickTextWidth=math.ceil(widest) + 4)
        elif self.rotated:
            self._label_extent = self._metrics.height() + ROTATED_GAP
            self.setStyle(tickTextHeight=math.ceil(widest) + 4)
        else:
            self._label_extent = widest + LABEL_GAP
            self.setStyle(tickTextHeight=math.ceil(self._metrics.height()))
        self._redraw()

    def _advance(self, label: str) -> float:
        advance = self._advances.get(label)
        if advance is None:
            advance = self._advances[label] = self._metrics.horizontalAdvance(label)
        return advance

    def _size(self, label: str) -> tuple[float, float]:
        """The box pyqtgraph would measure for `label` (its height cut to 0.8, as pyqtgraph does)."""
        size = self._sizes.get(label)
        if size is None:
            box = self._metrics.boundingRect(_MEASURE_BOX, Qt.AlignmentFlag.AlignCenter, label)
            size = self._sizes[label] = (box.width(), box.height() * 0.8)
        return size

    def set_highlight(self, token: int | None) -> None:
        if token != self._highlight:
            self._highlight = token
            self._redraw()

    def label_step(self, min_val: float, max_val: float, size: float) -> int:
        """Label every `step`-th token so that labels do not overlap."""
        if size <= 0 or max_val <= min_val:
            return max(1, len(self._labels))
        pixels_per_token = size / (max_val - min_val)
        return max(1, math.ceil(self._label_extent / pixels_per_token))

    def tickValues(self, minVal: float, maxVal: float, size: float):
        n = len(self._labels)
        if n == 0:
            return []
        low, high = min(minVal, maxVal), max(minVal, maxVal)
        step = self.label_step(low, high, size)
        first = max(0, math.ceil((low - 0.5) / step) * step)
        last = min(n - 1, math.floor(high - 0.5))
        tokens = set(range(first, last + 1, step))
        if self._highlight is not None and 0 <= self._highlight < n:
            # the highlighted label replaces its neighbours rather than overlapping them
            tokens = {t for t in tokens if abs(t - self._highlight) >= step} | {self._highlight}
        return [(step, [t + 0.5 for t in sorted(tokens)])]

    def tickStrings(self, values, scale, spacing):
        return [self._labels[int(v)] if 0 <= int(v) < len(self._labels) else "" for v in values]

    def generateDrawSpecs(self, p):
        """(axis line, ticks, labels) as pyqtgraph's AxisItem lays them out for one level of ticks
        and no grid; labels that would stick out of the axis are left out, as there."""
        if not self._labels or self.grid is not False or not self.style["showValues"]:
            return super().generateDrawSpecs(p)
        bounds = self.mapRectFromParent(self.geometry())
        vertical = self.orientation in ("left", "right")
        if self.orientation == "left":
            span = (bounds.topRight() + QPointF(-1, -1), bounds.bottomRight() + QPointF(-1, 1))
            tick_at, direction = bounds.right(), -1
        elif self.orientation == "right":
            span = (bounds.topLeft() + QPointF(1, -1), bounds.bottomLeft() + QPointF(1, 1))
            tick_at, direction = bounds.left(), 1
        elif self.orientation == "top":
            span = (bounds.bottomLeft() + QPointF(-1, -1), bounds.bottomRight() + QPointF(1, -1))
            tick_at, direction = bounds.bottom(), -1
        else:
            span = (bounds.topLeft() + QPointF(-1, 1), bounds.topRight() + QPointF(1, 1))
            tick_at, direction = bounds.top(), 1
        ends = [self.mapToDevice(point) for point in span]
        if None in ends:
            return None
        length = math.hypot(ends[1].x() - ends[0].x(), ends[1].y() - ends[0].y())
        if length == 0:
            return None
        levels = self.tickValues(self.range[0], self.range[1], length)
        if not levels:
            return super().generateDrawSpecs(p)
        _, values = levels[0]

        # data -> axis coordinates, as pyqtgraph maps them
        low, high = self.range
        if high == low:
            scale, offset = 1.0, 0.0
        elif vertical:
            scale = -bounds.height() / (high - low)
            offset = low * scale - bounds.height()
        else:
            scale = bounds.width() / (high - low)
            offset = low * scale
        edge_a, edge_b = low * scale - offset, high * scale - offset
        along = np.asarray(values) * scale - offset  # (n,) positions along the axis
        inside = (along >= min(edge_a, edge_b)) & (along <= max(edge_a, edge_b))

        tick_pen = QPen(self.tickPen())
        if tick_pen.brush().style() == Qt.BrushStyle.SolidPattern:
            color = tick_pen.color()
            color.setAlpha(255)  # pyqtgraph's alpha for the first tick level
            tick_pen.setColor(color)
        tick_length = self.style["tickLength"]
        tick_end = tick_at + tick_length * direction
        label_at = tick_at + (max(0, tick_length) + self.style["tickTextOffset"][0 if vertical else 1]) * direction
        strings = self.tickStrings(values, self.autoSIPrefixScale * self.scale, None)
        room = self.boundingRect()
        flags = _ALIGN[self.orientation] | Qt.TextFlag.TextDontClip
        tick_specs, text_specs = [], []
        for x, shown, text in zip(along.tolist(), inside.tolist(), strings, strict=True):
            if not shown:
                continue
            if vertical:
                tick_specs.append((tick_pen, QPointF(tick_at, x), QPointF(tick_end, x)))
            else:
                tick_specs.append((tick_pen, QPointF(x, tick_at), QPointF(x, tick_end)))
            width, height = self._size(text)
            if self.rotated:
                width, height = height, self._advance(text)  # the upright label's box on screen
            if self.orientation == "left":
                box = QRectF(label_at - width, x - height / 2, width, height)
            elif self.orientation == "right":
                box = QRectF(label_at, x - height / 2, width, height)
            elif self.orientation == "top":
                box = QRectF(x - width / 2, label_at - height, width, height)
            else:
                box = QRectF(x - width / 2, label_at, width, height)
            if room & box == box:  # pyqtgraph's own test of "inside", rounding included
                text_specs.append((box, flags, text))
        return (self.pen(), span[0], span[1]), tick_specs, text_specs

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802, N803 - pyqtgraph's names
        if not self.rotated:
            return super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
        super().drawPicture(p, axisSpec, tickSpecs, [])  # the line and ticks; leaves font, pen and clip set
        # Upright text reads upwards and starts at the axis: turned -90 degrees, "left" is the bottom.
        align = Qt.AlignmentFlag.AlignLeft if self.orientation == "top" else Qt.AlignmentFlag.AlignRight
        for box, _, text in textSpecs:
            p.save()
            p.translate(box.center())
            p.rotate(-90)
            turned = QRectF(-box.height() / 2, -box.width() / 2, box.height(), box.width())
            p.drawText(turned, int(align | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextDontClip), text)
            p.restore()
        return None

    def _redraw(self) -> None:
        self.picture = None  # AxisItem caches its drawing
        self.update()
