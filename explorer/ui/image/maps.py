"""What the image page draws, as numpy: one value per patch for the chosen map, and pictures
coloured by such values. No Qt here, so that the maths is tested on its own.

A map is one row (or column) of attention restricted to the patch tokens: where a token
looks (FROM: its row over the keys) or who looks at it (TO: its column over the queries),
for one head or the mean of a layer's heads, or the same of the attention rollout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.contract import ImageSpec
from explorer.core.result import StackAttention
from explorer.core.state.selection import FROM
from explorer.shared.images import first_patch
from explorer.shared.rollout import rollout

ATTENTION = "attention"
ROLLOUT = "rollout"
MODES = (ATTENTION, ROLLOUT)


@dataclass(frozen=True)
class MapChoice:
    """Which map: attention of `layer` and `head` (None: mean of heads), or the rollout of all layers."""

    mode: str = ATTENTION
    layer: int = 0
    head: int | None = None
    token: int = 0  # [CLS] where the model has one
    direction: str = FROM
    head_fusion: str = "mean"  # rollout only
    discard_ratio: float = 0.0  # rollout only


def patch_slice(spec: ImageSpec) -> slice:
    """The patch tokens' part of a sequence: all but [CLS] and the extra tokens."""
    return slice(first_patch(spec), None)


def token_matrix(stack: StackAttention, choice: MapChoice) -> np.ndarray:
    """(T, T): the chosen layer's head (or mean of heads), or the rollout."""
    if choice.mode == ROLLOUT:
        return rollout(stack.attentions, choice.head_fusion, choice.discard_ratio)
    return stack.head(choice.layer, choice.head)


def patch_values(matrix: np.ndarray, token: int, direction: str, spec: ImageSpec) -> np.ndarray:
    """(patches,): `token`'s row of a (T, T) matrix (FROM) or its column (TO), over the patch tokens."""
    line = matrix[token] if direction == FROM else matrix[:, token]
    return line[patch_slice(spec)]


def head_values(stack: StackAttention, layer: int, token: int, direction: str, spec: ImageSpec) -> np.ndarray:
    """(heads, patches): every head's map of `token` at `layer`, for the small multiples."""
    per_layer = stack.attentions[layer]  # (H, T, T)
    lines = per_layer[:, token, :] if direction == FROM else per_layer[:, :, token]
    return lines[:, patch_slice(spec)]


def colour_index(values: np.ndarray, peak: float | None = None) -> np.ndarray:
    """Values -> 0..255 indices into a colour table, 255 at `peak` (default: the values' maximum)."""
    peak = float(np.max(values)) if peak is None else peak
    scaled = np.asarray(values, np.float64) / (peak if peak > 0 else 1.0)
    return np.clip(np.rint(scaled * 255), 0, 255).astype(np.uint8)


def upsample(grid: np.ndarray, factor: int) -> np.ndarray:
    """(rows, cols, ...) -> (rows * factor, cols * factor, ...), each cell a factor x factor block."""
    return grid.repeat(factor, axis=0).repeat(factor, axis=1)


def heat_picture(values: np.ndarray, spec: ImageSpec, lut: np.ndarray, factor: int, peak: float | None = None):
    """(patches,) -> (rows * factor, cols * factor, 3) uint8, each patch one colour."""
    grid = lut[colour_index(values, peak)].reshape(*spec.grid, lut.shape[-1])  # (rows, cols, 3)
    return upsample(grid, factor)


def blend(picture: np.ndarray, values: np.ndarray, spec: ImageSpec, lut: np.ndarray, opacity: float) -> np.ndarray:
    """The model-input picture (H, W, 3) uint8 with a patch map laid over it at `opacity`; same shape."""
    heat = heat_picture(values, spec, lut, spec.patch_size)  # (H', W', 3), H' <= H where patches do not tile
    out = picture.astype(np.float32)
    h, w = heat.shape[:2]
    out[:h, :w] = (1 - opacity) * out[:h, :w] + opacity * heat
    return np.rint(out).astype(np.uint8)


def hatch_picture(hidden: frozenset[int], spec: ImageSpec, cell: int = 8) -> np.ndarray:
    """(rows * cell, cols * cell, 4) uint8 RGBA: diagonal grey stripes over hidden patches, clear elsewhere."""
    grid = np.zeros(spec.num_patches, bool)
    grid[list(hidden)] = True
    covered = upsample(grid.reshape(spec.grid), cell)  # (rows * cell, cols * cell)
    yy, xx = np.indices(covered.shape)
    stripe = (yy + xx) % cell < cell // 3
    rgba = np.zeros(covered.shape + (4,), np.uint8)
    rgba[covered] = (225, 225, 225, 190)
    rgba[covered & stripe] = (60, 60, 60, 230)
    return rgba


def tiles(pictures: np.ndarray, columns: int, gap: int, fill: int = 255) -> np.ndarray:
    """(n, h, w, 3) -> one (rows * (h + gap) - gap, columns * (w + gap) - gap, 3) image, row by row."""
    n, h, w, c = pictures.shape
    rows = -(-n // columns)
    out = np.full((rows, h + gap, columns, w + gap, c), fill, np.uint8)
    padded = np.full((rows * columns, h, w, c), fill, np.uint8)
    padded[:n] = pictures
    out[:, :h, :, :w] = padded.reshape(rows, columns, h, w, c).transpose(0, 2, 1, 3, 4)  # (rows, h, columns, w, c)
    return out.reshape(rows * (h + gap), columns * (w + gap), c)[: rows * (h + gap) - gap, : columns * (w + gap) - gap]


def input_factor(spec: ImageSpec, at_least: int) -> int:
    """Integer enlargement that makes the model's input at least `at_least` pixels on its short side."""
    return max(1, -(-at_least // min(spec.size)))

