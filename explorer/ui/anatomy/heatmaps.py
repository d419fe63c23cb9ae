"""Small aligned heatmaps in one canvas, each one ImageItem, with the value under the mouse read out.

Plots placed in the same grid row with as many rows share them (tokens, keys), so that row i
of every matrix lines up, as in BertViz's neuron view.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer.ui.views.colors import BACKGROUND, FOREGROUND, heatmap
from explorer.ui.views.matrix_view import value_text
from explorer.ui.views.token_axis import TokenAxis

DIVERGING = "CET-D1"  # blue - white - red, bundled with pyqtgraph: for signed values centred on zero


def diverging() -> pg.ColorMap:
    return pg.colormap.get(DIVERGING)


def symmetric_levels(matrix: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest |value|: zero sits in the middle of a diverging map."""
    finite = np.abs(matrix[np.isfinite(matrix)])
    limit = float(finite.max()) if finite.size else 1.0
    return (-limit, limit) if limit > 0 else (-1.0, 1.0)


@dataclass
class Panel:
    """One heatmap of the grid: its plot, its image and the numbers it shows."""

    title: str
    plot: pg.PlotItem
    image: pg.ImageItem
    matrix: np.ndarray  # (rows, columns) exactly as shown
    row_names: tuple[str, ...]
    column_names: tuple[str, ...]
    describe: Callable[[int, int], str | None] | None = None  # the cell's name where rows and columns do not say it


class HeatmapGrid(QWidget):
    """A GraphicsLayoutWidget of titled heatmaps, and a line that reads the cell under the mouse."""

    def __init__(self, hint: str = "Hover a cell to read its value.", parent: QWidget | None = None):
        super().__init__(parent)
        self.hint = hint
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(BACKGROUND)
        self.readout = QLabel(hint)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.readout)
        self.panels: dict[str, Panel] = {}
        # per grid row and row count, the first plot: the others with as many rows follow its y
        self._row_leaders: dict[tuple[int, int], pg.PlotItem] = {}
        self.canvas.scene().sigMouseMoved.connect(self._on_hover)

    def clear(self) -> None:
        self.canvas.clear()
        self.panels.clear()
        self._row_leaders.clear()
        self.readout.setText(self.hint)

    def add(
        self,
        title: str,
        matrix: np.ndarray,
        row: int,
        column: int,
        row_names: tuple[str, ...] = (),
        column_names: tuple[str, ...] = (),
        signed: bool = False,
        levels: tuple[float, float] | None = None,
        column_span: int = 1,
        show_rows: bool = False,
        square_cells: bool = False,
        describe: Callable[[int, int], str | None] | None = None,
    ) -> Panel:
        """Draw `matrix` (rows, columns) at grid cell (row, column). `signed` values get the diverging
        map centred on zero; others the views' heat map from 0 (or `levels`). NaN cells stay blank.
        `describe(r, c)` names a cell for the readout (None: a blank cell)."""
        matrix = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
        rows, columns = matrix.shape
        names_axis = TokenAxis("left")  # leaves labels out evenly where rows are too thin for all
        plot = self.canvas.addPlot(row=row, col=column, colspan=column_span, title=title,
                                   axisItems={"left": names_axis})
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.hideAxis("bottom")
        if show_rows and row_names:
            names_axis.set_tokens(tuple(row_names))
            names_axis.setTextPen(FOREGROUND)
        else:
            plot.hideAxis("left")
        plot.titleLabel.setAttr("color", FOREGROUND)
        view_box = plot.getViewBox()
        view_box.invertY(True)
        image = pg.ImageItem(axisOrder="row-major")
        if levels is None:
            levels = symmetric_levels(matrix) if signed else (0.0, max(float(np.nanmax(matrix)), 1e-12))
        image.setColorMap(diverging() if signed else heatmap())
        image.setImage(matrix, levels=levels)
        plot.addItem(image)
        view_box.setRange(xRange=(0, columns), yRange=(0, rows), padding=0)
        if square_cells:
            view_box.setAspectLocked(True)  # a picture-like matrix (small maps of a grid) keeps its shape
        leader = self._row_leaders.setdefault((row, rows), plot)
        if leader is not plot:
            plot.setYLink(leader)
        # wide matrices get room in proportion, narrow ones (one column) stay narrow
        if column_span == 1:
            self.canvas.ci.layout.setColumnStretchFactor(column, max(1, min(columns, 64)))
        panel = Panel(title, plot, image, matrix, tuple(row_names), tuple(column_names), describe)
        self.panels[title] = panel
        return panel

    def panel_at(self, scene_pos: QPointF) -> tuple[Panel, int, int] | None:
        """The heatmap and (row, column) under a scene position, or None."""
        for panel in self.panels.values():
            view_box = panel.plot.getViewBox()
            if not view_box.sceneBoundingRect().contains(scene_pos):
                continue
            point = view_box.mapSceneToView(scene_pos)
            r, c = math.floor(point.y()), math.floor(point.x())
            rows, columns = panel.matrix.shape
            if 0 <= r < rows and 0 <= c < columns:
                return panel, r, c
        return None

    def cell_text(self, panel: Panel, r: int, c: int) -> str:
        if panel.describe is not None:
            name = panel.describe(r, c)
            return self.hint if name is None else f"{panel.title} — {name}: {value_text(panel.matrix[r, c])}"
        row = f" {panel.row_names[r]!r}" if r < len(panel.row_names) else ""
        column = f" {panel.column_names[c]!r}" if c < len(panel.column_names) else ""
        return f"{panel.title} — row {r}{row}, column {c}{column}: {value_text(panel.matrix[r, c])}"

    def _on_hover(self, scene_pos: QPointF) -> None:
        hit = self.panel_at(scene_pos)
        self.readout.setText(self.hint if hit is None else self.cell_text(*hit))
