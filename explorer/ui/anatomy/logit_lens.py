"""The logit lens tab: for the focused token (else the last), the top 5 next tokens read from the
residual stream after each layer through the model's final norm and unembedding."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from explorer.core.anatomy import Initializers, MissingInternalsError
from explorer.core.logit_lens import LogitLens, run_hidden_states
from explorer.core.predictions import TOP_K
from explorer.core.state.app_state import AppState
from explorer.core.state.selection import FROM


class LogitLensPanel(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.lens: LogitLens | None = None
        self._lens_of = None  # the model `lens` was read from
        self.result = None
        self.weights: Initializers | None = None  # the open file's, shared with the other tabs
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, TOP_K)
        self.table.setHorizontalHeaderLabels([f"#{i + 1}" for i in range(TOP_K)])
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.rows = []  # the LensRows shown

    def set_result(self, result, weights: Initializers | None) -> None:
        self.result, self.weights = result, weights

    def redraw(self) -> None:
        state, self.rows = self.state, []
        self.table.setRowCount(0)
        if self.result is None or state.model is None or state.kind is None or not state.kind.predicts_next:
            self.status.setText("The logit lens reads a decoder language model's residual stream.")
            return
        try:
            if self._lens_of is not state.model:
                self.lens, self._lens_of = LogitLens(self.weights, state.model.meta), state.model
            stack = next(iter(state.model.meta.stacks))
            hidden = run_hidden_states(self.result, stack)
        except MissingInternalsError as exc:
            self.status.setText(f"No logit lens for this model: {exc}.")
            return
        ids_input = state.model.meta.sequence_inputs[0][0]
        tokens = self.result.tokens[ids_input]
        selection = state.selection
        position = selection.token if selection.token is not None and selection.direction == FROM else len(tokens) - 1
        self.rows = self.lens.rows(hidden, position)
        id_to_token = state.runner.encoders[ids_input].id_to_token
        self.status.setText(f"After {tokens[position]!r} ({position}): the top {TOP_K} next tokens read from the "
                            "residual stream after each layer, through the final norm and unembedding; the last "
                            "row is the model's own prediction. Click a token to read another position.")
        self.table.setRowCount(len(self.rows))
        self.table.setVerticalHeaderLabels(["embeddings" if r.layer == 0 else f"layer {r.layer - 1}"
                                            for r in self.rows])
        for row, lens_row in enumerate(self.rows):
            for column, (token_id, p) in enumerate(zip(lens_row.ids, lens_row.probabilities, strict=True)):
                self.table.setItem(row, column, QTableWidgetItem(f"{id_to_token(token_id)}  {p:.3f}"))
