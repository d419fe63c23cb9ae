"""Embeddings and positions: token ids -> embedding rows -> (+ positions) -> the first layer's input,
and how alike the input tokens' embeddings are, with a token's nearest neighbours in the vocabulary."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListWidget, QSplitter, QVBoxLayout, QWidget

from explorer.core import anatomy
from explorer.ui.anatomy.heatmaps import HeatmapGrid
from explorer.ui.views.selection import Selection

NEIGHBOURS = 10


class EmbeddingsPanel(QWidget):
    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection
        self.steps: anatomy.EmbeddingSteps | None = None
        self._context = None  # (result, meta, weights, encoder) of the shown run
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.steps_grid = HeatmapGrid()
        self.similarity_grid = HeatmapGrid()
        self.token_box = QComboBox()
        self.token_box.currentIndexChanged.connect(self._show_neighbours)
        self.neighbours = QListWidget()
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Nearest in the vocabulary to"))
        row.addWidget(self.token_box, 1)
        side_layout.addLayout(row)
        side_layout.addWidget(self.neighbours, 1)
        lower = QSplitter()
        lower.addWidget(self.similarity_grid)
        lower.addWidget(side)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.steps_grid)
        splitter.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

    def set_result(self, result, meta, weights: anatomy.Initializers | None, encoders: dict) -> None:
        self._context = (result, meta, weights, encoders)

    def redraw(self) -> None:
        self.steps_grid.clear()
        self.similarity_grid.clear()
        self.neighbours.clear()
        self.token_box.clear()
        self.steps = None
        stack = self.selection.stack
        if self._context is None or self._context[0] is None or stack is None or self._context[2] is None:
            self.summary.setText("Run a text model to see its embeddings.")
            return
        result, meta, weights, _ = self._context
        spec = meta.stacks[stack.name]
        ids_input = spec.queries
        try:
            steps = anatomy.embedding_steps(
                weights, meta, result.outputs, stack.name, result.token_ids[ids_input], result.tokens[ids_input]
            )
        except (LookupError, KeyError) as exc:
            self.summary.setText(f"The embedding steps cannot be shown for this model: {exc}")
            return
        self.steps = steps
        self._draw(steps, meta, weights)

    def _draw(self, s: anatomy.EmbeddingSteps, meta, weights: anatomy.Initializers) -> None:
        labels = tuple(f"{t} ({i})" for t, i in zip(s.tokens, s.ids, strict=True))
        scale = "" if s.scale == 1.0 else f" × √d_model = {s.scale:.3g}"
        norm = " → LayerNorm" if s.normed is not None else ""
        self.summary.setText(
            f"a_i = embedding[id]{scale} + {s.positions_kind} position{norm}: the vector that enters layer 0. "
            f"Recomputed from the file's weights vs the model's hidden_states[0]: max |Δ| = {s.difference:.1e}."
        )
        g = self.steps_grid
        g.add("token ids", np.asarray(s.ids, float)[:, None], 0, 0, labels, show_rows=True)
        g.add("embedding rows", s.vectors, 0, 1, labels, signed=True)
        if s.scale != 1.0:
            g.add(f"× {s.scale:.3g}", s.vectors * s.scale, 0, 2, labels, signed=True)
        g.add(f"+ {s.positions_kind} positions", s.positions, 0, 3, labels, signed=True)
        g.add("= sum", s.summed, 0, 4, labels, signed=True)
        if s.normed is not None:
            g.add("LayerNorm", s.normed, 0, 5, labels, signed=True)
        g.add("hidden_states[0] (model)", s.first_layer_input, 0, 6, labels, signed=True)
        table = self._position_table(s, meta, weights)
        if table is not None:
            g.add(f"{s.positions_kind} positions: all positions × dimensions", table, 1, 0, signed=True,
                  column_span=7)
        similarity = anatomy.cosine_similarity(s.vectors)  # (T, T)
        self.similarity_grid.add("cosine similarity of the input's embeddings", similarity, 0, 0, labels, labels,
                                 signed=True, levels=(-1.0, 1.0), show_rows=True)
        self.token_box.addItems(list(labels))

    def _position_table(self, s: anatomy.EmbeddingSteps, meta, weights: anatomy.Initializers) -> np.ndarray | None:
        longest = max(meta.max_positions.values(), default=len(s.ids))
        if s.positions_kind == "sinusoidal":
            return anatomy.sinusoidal_table(longest, s.positions.shape[1])
        return weights.get(anatomy.POSITIONS_LEARNED) if anatomy.POSITIONS_LEARNED in weights else None

    def _show_neighbours(self, index: int) -> None:
        self.neighbours.clear()
        if self.steps is None or index < 0:
            return
        result, meta, weights, encoders = self._context
        matrix = weights.get(meta.embedding)  # (vocab, D)
        encoder = encoders.get(meta.stacks[self.selection.stack_name].queries)
        for token_id, similarity in anatomy.nearest_tokens(matrix, self.steps.ids[index], NEIGHBOURS):
            name = encoder.id_to_token(token_id) if encoder is not None else str(token_id)
            self.neighbours.addItem(f"{name}  (id {token_id})  cosine {similarity:.3f}")
