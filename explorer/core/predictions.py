"""What a masked language model predicts at each [MASK]: the top-k tokens and their probabilities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TOP_K = 5


@dataclass(frozen=True)
class MaskPrediction:
    """The `k` most likely tokens at one [MASK] position, most likely first."""

    position: int
    ids: tuple[int, ...]
    tokens: tuple[str, ...]
    probabilities: tuple[float, ...]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64 so that small probabilities keep their digits."""
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def top_k(logits: np.ndarray, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """(ids, probabilities) of the `k` largest of softmax(`logits`) over a (vocab,) row, most likely first;
    ties go to the lower id, as a stable sort of the negated logits gives."""
    order = np.argsort(-logits, kind="stable")[:k]  # (k,)
    return order, softmax(logits)[order]


def mask_predictions(
    logits: np.ndarray,
    ids: tuple[int, ...],
    mask_id: int,
    id_to_token: Callable[[int], str],
    k: int = TOP_K,
) -> list[MaskPrediction]:
    """One prediction per position of `ids` that holds `mask_id`; `logits` is (T, vocab)."""
    predictions = []
    for position in np.flatnonzero(np.asarray(ids) == mask_id):
        best, probabilities = top_k(logits[position], k)
        predictions.append(MaskPrediction(
            int(position),
            tuple(int(i) for i in best),
            tuple(id_to_token(int(i)) for i in best),
            tuple(float(p) for p in probabilities),
        ))
    return predictions
