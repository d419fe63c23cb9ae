"""Colours the views share: one qualitative colour per head, one colour map for heatmaps."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor

# matplotlib's tab10, then the light halves of tab20: twenty colours that stay apart.
HEAD_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip

HEATMAP = "viridis"  # bundled with pyqtgraph, no matplotlib needed

# Cells the model could not attend (masked keys, a causal stack's future): a grey that
# no colour of the heat map uses, so that "not allowed" never reads as "small".
NOT_ALLOWED = (170, 170, 170, 255)
BACKGROUND = "w"
FOREGROUND = "k"
SELECTED = "#d62728"


def head_color(head: int) -> QColor:
    return QColor(HEAD_COLORS[head % len(HEAD_COLORS)])


def heatmap() -> pg.ColorMap:
    return pg.colormap.get(HEATMAP)
