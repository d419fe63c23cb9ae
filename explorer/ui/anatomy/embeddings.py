"""Embeddings and positions: the input's tokens -> embedding rows -> (+ positions) -> the first layer's input,
and how alike the input's embeddings are.

Text: token ids, rows of the embedding matrix, sinusoidal or learned positions, and a token's nearest
neighbours in the vocabulary. Images (a ViT): each patch's pixels, their linear patch embedding with
the [CLS] token before them, the learned positions, and those positions' similarity laid out on the
patch grid, where a trained ViT shows the 2-D structure it learned.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListWidget, QSplitter, QVBoxLayout, QWidget

from explorer.core import anatomy
from explorer.core.state.selection import Selection
from explorer.ui.anatomy.heatmaps import HeatmapGrid

NEIGHBOURS = 10
NO_VOCABULARY = ("A ViT has no vocabulary: its tokens are projected pixels, not rows of a table, "
                 "so there are no nearest neighbours to list.")
SIMILARITY = "cosine similarity of the input's embeddings"
POSITION_MAPS = "each position vs all, on the grid"
PATCH_PIXELS = "patch pixels"  # each row channel by channel: (c, y, x) as the model flattens them


class EmbeddingsPanel(QWidget):
    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection
        self.steps: anatomy.EmbeddingSteps | anatomy.PatchEmbeddingSteps | None = None
        self._result = self._meta = self._weights = self._pixels = None  # the shown run and its model
        self._encoders: dict = {}
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.steps_grid = HeatmapGrid()
        self.similarity_grid = HeatmapGrid()
        self.token_box = QComboBox()
        self.token_box.currentIndexChanged.connect(self._show_neighbours)
        self.neighbours = QListWidget()
        self.vocabulary = QWidget()  # a text model's nearest neighbours; hidden for images
        side_layout = QVBoxLayout(self.vocabulary)
        side_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Nearest in the vocabulary to"))
        row.addWidget(self.token_box, 1)
        side_layout.addLayout(row)
        side_layout.addWidget(self.neighbours, 1)
        lower = QSplitter()
        lower.addWidget(self.similarity_grid)
        lower.addWidget(self.vocabulary)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.steps_grid)
        splitter.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

    def set_result(self, result, meta, weights: anatomy.Initializers | None, encoders: dict,
                   pixel_values: np.ndarray | None = None) -> None:
        """The run to show; `pixel_values` (1, C, H, W) is what an image model was fed for it."""
        self._result, self._meta, self._weights, self._encoders = result, meta, weights, encoders
        self._pixels = pixel_values

    def redraw(self) -> None:
        self.steps_grid.clear()
        self.similarity_grid.clear()
        self.neighbours.clear()
        self.token_box.clear()
        self.steps = None
        stack = self.selection.stack
        meta = self._meta
        self.vocabulary.setVisible(meta is None or meta.image is None)
        if self._result is None or stack is None or self._weights is None:
            self.summary.setText("Run the model to see its embeddings.")
            return
        if meta.image is not None and self._pixels is None:
            self.summary.setText("Run the model on an image to see its patch embeddings.")
            return
        try:
            if meta.image is not None:
                steps = anatomy.patch_embedding_steps(
                    self._weights, meta, self._result.outputs, stack.name, self._pixels, stack.query_tokens
                )
            else:
                ids_input = meta.stacks[stack.name].queries
                steps = anatomy.embedding_steps(
                    self._weights, meta, self._result.outputs, stack.name,
                    self._result.token_ids[ids_input], self._result.tokens[ids_input],
                )
        except (LookupError, KeyError) as exc:
            self.summary.setText(f"The embedding steps cannot be shown for this model: {exc}")
            return
        self.steps = steps
        if isinstance(steps, anatomy.PatchEmbeddingSteps):
            self._draw_patches(steps, meta)
        else:
            self._draw_tokens(steps, meta)

    # -- text ---------------------------------------------------------------------------------
    def _draw_tokens(self, s: anatomy.EmbeddingSteps, meta) -> None:
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
        table = self._position_table(s, meta)
        if table is not None:
            g.add(f"{s.positions_kind} positions: all positions × dimensions", table, 1, 0, signed=True,
                  column_span=7)
        similarity = anatomy.cosine_similarity(s.vectors)  # (T, T)
        self.similarity_grid.add(SIMILARITY, similarity, 0, 0, labels, labels, signed=True, levels=(-1.0, 1.0),
                                 show_rows=True)
        self.token_box.addItems(list(labels))

    def _position_table(self, s: anatomy.EmbeddingSteps, meta) -> np.ndarray | None:
        """Every position the model takes × dimensions, where a table is added at all."""
        longest = max(meta.max_positions.values(), default=len(s.ids))
        recipe = anatomy.text_recipe(meta, meta.stacks[self.selection.stack_name].queries)
        if recipe.positions is None:
            return None
        return anatomy.position_table(self._weights, recipe, longest, s.positions.shape[1])[0]

    def _show_neighbours(self, index: int) -> None:
        self.neighbours.clear()
        if not isinstance(self.steps, anatomy.EmbeddingSteps) or index < 0:
            return
        meta = self._meta
        matrix = self._weights.get(meta.embedding)  # (vocab, D)
        encoder = self._encoders.get(meta.stacks[self.selection.stack_name].queries)
        for token_id, similarity in anatomy.nearest_tokens(matrix, self.steps.ids[index], NEIGHBOURS):
            name = encoder.id_to_token(token_id) if encoder is not None else str(token_id)
            self.neighbours.addItem(f"{name}  (id {token_id})  cosine {similarity:.3f}")

    # -- images -------------------------------------------------------------------------------
    def _draw_patches(self, s: anatomy.PatchEmbeddingSteps, meta) -> None:
        spec = meta.image
        labels = s.tokens
        size = s.patches.shape[1]
        cls = ", the learned [CLS] token before them" if s.cls is not None else ""
        self.summary.setText(
            f"x_i = patch i's {spec.channels}·{spec.patch_size}·{spec.patch_size} = {size} normalised pixels · "
            f"W_patchᵀ + b (the linear patch embedding){cls}; "
            f"a_i = x_i + learned position i: the vector that enters layer 0. Recomputed from the file's weights "
            f"vs the model's hidden_states[0]: max |Δ| = {s.difference:.1e}. {NO_VOCABULARY}"
        )
        pixels = s.patches if s.cls is None else np.vstack([np.full((1, size), np.nan), s.patches])  # (T, C*p*p)
        g = self.steps_grid
        g.add(PATCH_PIXELS, pixels, 0, 0, labels, signed=True, show_rows=True)
        g.add("[CLS]; pixels · Wᵀ + b", s.vectors, 0, 1, labels, signed=True)
        g.add("+ learned positions", s.positions, 0, 2, labels, signed=True)
        g.add("= sum", s.summed, 0, 3, labels, signed=True)
        g.add("hidden_states[0] (model)", s.first_layer_input, 0, 4, labels, signed=True)
        similar = self.similarity_grid
        similar.add(SIMILARITY, anatomy.cosine_similarity(s.vectors), 0, 0, labels, labels, signed=True,
                    levels=(-1.0, 1.0), show_rows=True)
        similar.add("cosine similarity of the learned positions", anatomy.cosine_similarity(s.positions), 0, 1,
                    labels, labels, signed=True, levels=(-1.0, 1.0))
        first_patch = len(s.tokens) - s.projected.shape[0]  # 1 with a [CLS] token
        maps = anatomy.position_similarity_maps(s.positions[first_patch:], spec.grid)  # (R, C, R, C)
        similar.add(POSITION_MAPS, anatomy.mosaic(maps), 0, 2, signed=True, levels=(-1.0, 1.0), square_cells=True,
                    describe=_mosaic_cell(spec.grid))


def _mosaic_cell(grid: tuple[int, int], gap: int = 1):
    """describe(r, c) for anatomy.mosaic's picture of (R, C, R, C) maps: which two positions a cell compares."""
    rows, cols = grid

    def describe(r: int, c: int) -> str | None:
        (map_row, row), (map_col, col) = divmod(r, rows + gap), divmod(c, cols + gap)
        if row >= rows or col >= cols:
            return None  # the gap between two maps
        return f"position r{map_row}c{map_col} vs r{row}c{col}"

    return describe
