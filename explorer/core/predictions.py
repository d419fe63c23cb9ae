"""What a language model predicts: the top-k at each [MASK] of a masked LM, and the next token of a
decoder (at the last position or any other) under temperature, top-k and top-p."""

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


# -- a decoder's next token ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sampling:
    """How a decoder's next token is drawn: logits divided by `temperature`, then only the `top_k`
    most likely (0: all) and, of those, the fewest whose probabilities reach `top_p` (1: all).
    Generating, `greedy` takes the most likely token; else one is drawn with `seed`."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    greedy: bool = True
    seed: int = 0

    def __post_init__(self):
        if not self.temperature > 0:
            raise ValueError(f"temperature must be above 0, not {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top-k must be 0 (all tokens) or more, not {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top-p must be in (0, 1], not {self.top_p}")


def sampling_distribution(logits: np.ndarray, sampling: Sampling = Sampling()) -> np.ndarray:
    """(vocab,) float64 probabilities of the next token under `sampling`, from a (vocab,) row of
    logits: exactly softmax(logits / temperature) where nothing is cut, renormalised over what
    top-k and top-p keep, 0 elsewhere."""
    probabilities = softmax(np.asarray(logits, np.float64) / sampling.temperature)
    order = np.argsort(-probabilities, kind="stable")  # most likely first; ties to the lower id
    keep = np.ones(len(order), bool)
    if sampling.top_k:
        keep[sampling.top_k:] = False
    if sampling.top_p < 1:
        before = np.cumsum(probabilities[order]) - probabilities[order]  # mass of the tokens ahead of each
        keep &= before < sampling.top_p  # the fewest whose mass reaches top_p (the most likely always stays)
    kept = np.zeros_like(probabilities)
    kept[order[keep]] = probabilities[order[keep]]
    return kept / kept.sum()


@dataclass(frozen=True)
class NextTokens:
    """What a decoder predicts after the token at `position`: its `k` most likely next tokens under
    the sampling shown, and the token that really comes next with its probability (None after
    the last token)."""

    position: int
    ids: tuple[int, ...]
    tokens: tuple[str, ...]
    probabilities: tuple[float, ...]
    actual: tuple[str, float] | None = None


def next_tokens(
    logits: np.ndarray,  # (vocab,): the logits at `position`
    ids: tuple[int, ...],
    position: int,
    id_to_token: Callable[[int], str],
    sampling: Sampling = Sampling(),
    k: int = TOP_K,
) -> NextTokens:
    """The prediction after the token at `position` of the token ids `ids`, from its logits."""
    probabilities = sampling_distribution(logits, sampling)
    best = np.argsort(-probabilities, kind="stable")[:k]
    best = best[probabilities[best] > 0]  # top-k / top-p may keep fewer than k
    actual = None
    if position + 1 < len(ids):
        following = int(ids[position + 1])
        actual = (id_to_token(following), float(probabilities[following]))
    return NextTokens(position, tuple(int(i) for i in best), tuple(id_to_token(int(i)) for i in best),
                      tuple(float(probabilities[i]) for i in best), actual)
