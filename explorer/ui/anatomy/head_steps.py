"""One head, step by step (BertViz's neuron view), and the multi-head step, with the model's numbers.

One head: q of the chosen query; k of every key; q·k; ÷ sqrt(d_k); the mask; softmax -> alpha;
alpha·v; their sum b. Rows of the key-wise heatmaps line up, one row per key.
Multi-head: every head's b_h for every token, their concatenation, and concat @ W_O^T + bias.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from explorer.core import anatomy
from explorer.core.long_path import needs_every_row
from explorer.core.state.selection import FROM, Selection
from explorer.ui.anatomy.heatmaps import HeatmapGrid
from explorer.ui.views.controls import HeadBox, LayerBox


class OneHeadPanel(QWidget):
    """The steps of the selected stack, layer and head for one query token (the focused one, else 0)."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection
        self.result = None
        self.spec = None
        self.steps: anatomy.HeadSteps | None = None
        self.model_alpha: np.ndarray | None = None  # (K,) the model's own attention row, to compare
        self.query = QSpinBox()
        self.query.setPrefix("query token ")
        self.query.valueChanged.connect(lambda q: self.selection.set_token(q, FROM))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(LayerBox(selection))
        controls.addWidget(HeadBox(selection))
        controls.addWidget(self.query)
        controls.addStretch(1)
        self.grid = HeatmapGrid()
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.grid, 1)

    def set_result(self, result, spec_of) -> None:
        """`spec_of(stack_name)` gives the stack's StackSpec from the model's metadata."""
        self.result, self._spec_of = result, spec_of

    def redraw(self) -> None:
        self.grid.clear()
        self.steps = self.model_alpha = None
        selection, result = self.selection, self.result
        stack = selection.stack
        if result is None or stack is None:
            self.summary.setText("Run the model to see its steps.")
            return
        if not stack.complete:
            self.summary.setText(needs_every_row("Step by step", stack))
            return
        head = 0 if selection.head is None else selection.head  # the mean of heads has no q and k of its own
        query = selection.token if selection.token is not None and selection.direction == FROM else 0
        with QSignalBlocker(self.query):
            self.query.setRange(0, len(stack.query_tokens) - 1)
            self.query.setValue(query)
        try:
            steps = anatomy.head_steps(
                result.outputs, stack.name, self._spec_of(stack.name), selection.layer, head, query, stack.key_mask
            )
        except anatomy.MissingInternalsError as exc:
            self.summary.setText(str(exc))
            return
        self.steps, self.model_alpha = steps, stack.attentions[selection.layer, head, query]
        self._draw(steps, stack.query_tokens[query], stack.key_tokens, stack.head_label(head))

    def _draw(self, s: anatomy.HeadSteps, query_token: str, keys: tuple[str, ...], head: str) -> None:
        d_k = s.query.shape[0]
        gap = float(np.abs(s.alpha - self.model_alpha).max())
        spec = self._spec_of(self.selection.stack_name)
        causal, window = spec.causal, spec.window(self.selection.layer)
        masks = "key mask + causal mask" if causal else "mask"
        scaling = f"÷ √{d_k}" if spec.scale is None else f"× {spec.scale:.4g}"
        capped = "" if spec.softcap is None else f", capped at ±{spec.softcap:g} (c·tanh(s/c))"
        self.summary.setText(
            f"<b>{self.selection.stack_name} · layer {self.selection.layer} · {head}</b>, query "
            f"{self.query.value()} {query_token!r}: alpha = softmax(q·k {scaling}{capped} + {masks}); "
            f"b = Σ alpha·v. Recomputed alpha vs the model's attention: max |Δ| = {gap:.1e}."
            + (" The causal mask hides every key after the query: a decoder reads only what came before."
               if causal else "")
            + ("" if window is None else f" In this layer it also hides every key {window} or more tokens back "
                                         "(a sliding window).")
        )
        key_rows = tuple(keys)
        dims = tuple(str(i) for i in range(d_k))
        g = self.grid
        g.add("q", s.query[None, :], 0, 0, (query_token,), dims, signed=True)
        g.add("k (each key)", s.keys, 1, 0, key_rows, dims, signed=True, show_rows=True)
        g.add("q·k", s.scores[:, None], 1, 1, key_rows, signed=True)
        g.add(scaling + (" capped" if capped else ""), s.scaled[:, None], 1, 2, key_rows, signed=True)
        column = 3
        g.add("key mask" if causal else "mask", s.key_mask[:, None].astype(float), 1, column, key_rows,
              levels=(0.0, 1.0))
        if causal:  # a step of its own: the future is masked whatever a person hides
            column += 1
            g.add("causal mask", s.causal[:, None].astype(float), 1, column, key_rows, levels=(0.0, 1.0))
        g.add("softmax α", s.alpha[:, None], 1, column + 1, key_rows)
        g.add("α·v", s.weighted_values, 1, column + 2, key_rows, dims, signed=True)
        g.add("b = Σ α·v", s.output[None, :], 2, column + 2, (query_token,), dims, signed=True)


class MultiHeadPanel(QWidget):
    """Every head's output for every token, concatenated, and multiplied by W_O."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection
        self.result = self.meta = None
        self.weights: anatomy.Initializers | None = None
        self.steps: anatomy.MultiHeadSteps | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(LayerBox(selection))
        controls.addStretch(1)
        self.grid = HeatmapGrid()
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.grid, 1)

    def set_result(self, result, meta, weights: anatomy.Initializers | None) -> None:
        self.result, self.meta, self.weights = result, meta, weights

    def redraw(self) -> None:
        self.grid.clear()
        self.steps = None
        stack = self.selection.stack
        if self.result is None or stack is None or self.weights is None:
            self.summary.setText("Run the model to see its heads put together.")
            return
        layer = self.selection.layer
        try:
            steps = anatomy.multi_head_steps(self.result.outputs, self.meta, stack.name, layer, self.weights)
        except (anatomy.MissingInternalsError, LookupError, KeyError) as exc:
            self.summary.setText(f"The multi-head step cannot be shown: {exc}")
            return
        self.steps = steps
        heads, _, head_dim = steps.head_outputs.shape
        self.summary.setText(
            f"<b>{stack.name} · layer {layer}</b>: b_h = α_h V_h for each of the {heads} heads "
            f"({head_dim} numbers per token each), side by side = concat ({steps.concat.shape[1]}), "
            f"then output = concat · W_Oᵀ + bias ({steps.output.shape[1]} per token; before the residual and norm)."
        )
        tokens = stack.query_tokens
        for h in range(heads):
            self.grid.add(f"head {h}", steps.head_outputs[h], 0, h, tokens, signed=True, show_rows=h == 0)
        self.grid.add("concat", steps.concat, 1, 0, tokens, signed=True, column_span=heads, show_rows=True)
        self.grid.add("W_Oᵀ", steps.w_o.T, 2, 0, signed=True, column_span=heads)  # its own row: D rows, not tokens
        self.grid.add("concat · W_Oᵀ + bias", steps.output, 3, 0, tokens, signed=True, column_span=heads,
                      show_rows=True)
