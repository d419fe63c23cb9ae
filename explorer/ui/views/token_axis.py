"""An axis that names tokens: token i spans [i, i + 1) and is labelled at i + 0.5."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

MAX_LABEL_CHARS = 16
LABEL_GAP = 6  # pixels between two labels side by side


def short_label(token: str) -> str:
    return token if len(token) <= MAX_LABEL_CHARS else token[: MAX_LABEL_CHARS - 1] + "…"


class TokenAxis(pg.AxisItem):
    """Labels every token that has room, and leaves out evenly spaced ones when they crowd.

    The spacing is worked out from the font and the axis length each time the axis is drawn,
    so zooming in shows more labels. A `highlight`ed token is always labelled.
    """

    def __init__(self, orientation: str, **kwargs):
        super().__init__(orientation, **kwargs)
        font = QFont()
        font.setPointSizeF(8.5)
        # room for the labels is set from the tokens, not grown while drawing (which takes repaints)
        self.setStyle(tickFont=font, tickLength=3, autoExpandTextSpace=False, hideOverlappingLabels=False)
        self._labels: tuple[str, ...] = ()
        self._label_extent = 1.0  # pixels one label needs along the axis
        self._highlight: int | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def set_tokens(self, tokens: tuple[str, ...]) -> None:
        self._labels = tuple(short_label(t) for t in tokens)
        metrics = QFontMetricsF(self.style["tickFont"])
        widest = max((metrics.horizontalAdvance(t) for t in self._labels), default=0.0)
        if self.orientation in ("left", "right"):
            self._label_extent = metrics.height()
            self.setStyle(tickTextWidth=math.ceil(widest) + 4)
        else:
            self._label_extent = widest + LABEL_GAP
            self.setStyle(tickTextHeight=math.ceil(metrics.height()))
        self._redraw()

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

    def _redraw(self) -> None:
        self.picture = None  # AxisItem caches its drawing
        self.update()
