"""Attention rollout (Abnar & Zuidema 2020): how much each input token flows into each output token.

Attention alone shows one layer. Rollout follows the mixing through all layers, counting
the residual connection as half of each layer's output:

    A_l   = heads of layer l fused into one (tokens x tokens) matrix (mean, max or min)
    A_l   = A_l with its lowest weights zeroed (optional, see `discard_lowest`)
    A'_l  = 0.5 * A_l + 0.5 * I, rows renormalised to sum to 1
    R     = A'_L @ ... @ A'_2 @ A'_1

Row i of R says how much of token i's final representation comes from each input token;
for a ViT, row 0 over columns 1: is the [CLS] token's map over the patches.
numpy only: no Qt, no torch.
"""

from __future__ import annotations

import numpy as np

HEAD_FUSIONS = ("mean", "max", "min")


def fuse_heads(attentions: np.ndarray, head_fusion: str = "mean") -> np.ndarray:
    """(layers, heads, T, T) -> (layers, T, T) by the mean, max or min over heads."""
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f"unknown head fusion {head_fusion!r}; expected one of {HEAD_FUSIONS}")
    return getattr(np, head_fusion)(attentions, axis=1)


def discard_lowest(fused: np.ndarray, discard_ratio: float, keep_first_column: bool = True) -> np.ndarray:
    """Zero the lowest `discard_ratio` of each layer's weights; (layers, T, T) -> a new array.

    The rule, per layer: the candidates are all T x T weights except the first column
    (attention *to* [CLS], never discarded when `keep_first_column`). With
    k = floor(discard_ratio * number of candidates), every candidate at or below the k-th
    smallest is set to 0 (so ties at the cut all go; with distinct weights exactly k go).
    This is vit-explain's rule (jacobgil/vit-explain, vit_rollout.py) with one fix: it ranks
    all T x T weights and then spares only the single (0, 0) entry, although its comment says
    it keeps the class token; here the whole [CLS] column is kept. (Its row renormalisation
    also lacks keepdim, which divides columns instead of rows: its issue 16. `with_residual`
    normalises rows, as the paper says.)
    """
    if not 0.0 <= discard_ratio < 1.0:
        raise ValueError(f"discard_ratio must be in [0, 1), got {discard_ratio}")
    out = np.array(fused, copy=True)
    candidates = out[:, :, 1:] if keep_first_column else out  # a view: zeroing it zeroes `out`
    count = int(discard_ratio * candidates[0].size)
    if count == 0:
        return out
    cut = np.partition(candidates.reshape(len(out), -1), count - 1, axis=1)[:, count - 1]  # (layers,)
    candidates[candidates <= cut[:, None, None]] = 0.0
    return out


def with_residual(fused: np.ndarray) -> np.ndarray:
    """A' = 0.5 * A + 0.5 * I with rows renormalised; (layers, T, T)."""
    mixed = 0.5 * fused + 0.5 * np.eye(fused.shape[-1], dtype=fused.dtype)
    return mixed / mixed.sum(axis=-1, keepdims=True)


def rollout(
    attentions: np.ndarray, head_fusion: str = "mean", discard_ratio: float = 0.0, keep_first_column: bool = True
) -> np.ndarray:
    """Rollout R = A'_L ... A'_1 of one input's attentions (layers, heads, T, T); returns (T, T).

    `keep_first_column` spares attention to token 0 ([CLS]) from the discard; see `discard_lowest`.
    """
    attentions = np.asarray(attentions)
    if attentions.ndim != 4 or attentions.shape[-1] != attentions.shape[-2]:
        raise ValueError(f"expected attentions shaped (layers, heads, T, T), got {attentions.shape}")
    fused = fuse_heads(attentions.astype(np.result_type(attentions.dtype, np.float32), copy=False), head_fusion)
    if discard_ratio:
        fused = discard_lowest(fused, discard_ratio, keep_first_column)
    layers = with_residual(fused)
    result = layers[0]
    for layer in layers[1:]:
        result = layer @ result  # later layers mix what earlier layers produced
    return result


def class_token_map(attentions: np.ndarray, head_fusion: str = "mean", discard_ratio: float = 0.0) -> np.ndarray:
    """The [CLS] row of the rollout over the patches (the [CLS] column dropped): shape (T - 1,)."""
    return rollout(attentions, head_fusion, discard_ratio)[0, 1:]
