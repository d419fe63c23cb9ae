"""The logit lens: what a language model would predict from each layer's residual stream, read
through its own final norm and unembedding (the metadata's `unembedding` names them). At the last
layer it is the model's own prediction; earlier layers show where that prediction forms.

Needs the run's `hidden_states.<stack>` (the first layer's input, then each layer's output, the
last one before the final norm) and the file's weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer import contract
from explorer.core.anatomy import Initializers, MissingInternalsError, normalise
from explorer.core.predictions import TOP_K, top_k


@dataclass(frozen=True)
class LensRow:
    """The `k` tokens most likely from the residual stream after `layer` (0: the embeddings)."""

    layer: int
    ids: tuple[int, ...]
    probabilities: tuple[float, ...]


class LogitLens:
    """The unembedding of one open model, its weights read once."""

    def __init__(self, weights: Initializers, meta: contract.ModelMetadata):
        if meta.unembedding is None:
            raise MissingInternalsError("the model's metadata names no unembedding (a decoder LM's final norm "
                                        "and output embedding): export it again with attention-export hf")
        self.spec = meta.unembedding
        weight = weights.get(self.spec.weight).astype(np.float32)
        self.weight = weight.T if self.spec.transposed else weight  # (vocab, d_model)
        self.bias = None if self.spec.bias is None else weights.get(self.spec.bias).astype(np.float32)
        self.weights = weights

    def logits(self, residual: np.ndarray) -> np.ndarray:
        """(..., vocab) logits of (..., d_model) residual-stream vectors."""
        x = residual.astype(np.float32)
        if self.spec.norm is not None:
            x = normalise(x, self.spec.norm, self.weights)
        out = x @ self.weight.T
        out = out if self.bias is None else out + self.bias
        cap = self.spec.softcap
        return out if cap is None else np.tanh(out / np.float32(cap)) * np.float32(cap)

    def rows(self, hidden_states: np.ndarray, position: int, k: int = TOP_K) -> list[LensRow]:
        """One row per layer of a run's (layers + 1, T, d_model) hidden states, at `position`."""
        logits = self.logits(hidden_states[:, position])  # (layers + 1, vocab)
        rows = []
        for layer, row in enumerate(logits):
            ids, probabilities = top_k(row, k)
            rows.append(LensRow(layer, tuple(int(i) for i in ids), tuple(float(p) for p in probabilities)))
        return rows


def run_hidden_states(result, stack: str) -> np.ndarray:
    """The run's (layers + 1, T, d_model) hidden states of `stack`, or MissingInternalsError."""
    name = contract.stack_output("hidden_states", stack)
    if name not in result.outputs:
        raise MissingInternalsError(f"the model gives no {name} output: its residual stream cannot be read")
    return result.outputs[name]
