"""Images for a vision model: preprocessing per the contract's ImageSpec, and pixel <-> patch mapping.

Preprocessing: an RGB array of any size -> crop (for "center-crop") -> resize to the spec's
size (area averaging when shrinking, bilinear when enlarging) ->
[0, 1] -> (x - mean) / std per channel -> (1, C, H, W) float32, the model's `pixel_values`.

Patches are numbered row-major; patch n is token n + first_patch(spec), after [CLS] (where the
model has one) and any extra tokens (DeiT's distillation token, DINOv2's registers).
Pixel coordinates here are the model input's (after crop and resize); `source_to_input`
maps a pixel of the original image there. numpy only: no Qt.
"""

from __future__ import annotations

import numpy as np

from explorer.contract import ImageSpec


def crop_box(source_shape: tuple[int, int], spec: ImageSpec) -> tuple[float, float, float, float]:
    """(top, left, height, width) of the part of a (height, width) source image the model sees."""
    height, width = source_shape
    if spec.resize == "stretch":
        return 0.0, 0.0, float(height), float(width)
    target_h, target_w = spec.size
    scale = min(height / target_h, width / target_w)  # source pixels per input pixel
    crop_h, crop_w = target_h * scale, target_w * scale
    return (height - crop_h) / 2, (width - crop_w) / 2, crop_h, crop_w


def _resize_weights(start: float, length: float, source: int, out: int) -> np.ndarray:
    """(out, source) weights that resample source pixels [start, start + length) onto `out` pixels.

    Shrinking averages the source pixels each output pixel covers (an area filter, so a
    block-enlarged image comes back exactly); enlarging interpolates linearly.
    """
    scale = length / out  # source pixels per output pixel
    left = start + np.arange(out)[:, None] * scale  # (out, 1) footprint of each output pixel
    pixel = np.arange(source)[None, :]  # (1, source), pixel j spans [j, j + 1)
    if scale > 1:
        weights = np.clip(np.minimum(pixel + 1, left + scale) - np.maximum(pixel, left), 0.0, None)
    else:
        weights = np.clip(1.0 - np.abs(pixel + 0.5 - (left + scale / 2)), 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def as_rgb_float(image: np.ndarray, channels: int = 3) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) uint8 or [0, 1] float -> (H, W, channels) float32."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {image.shape}")
    pixels = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    if pixels.shape[-1] == 4:
        pixels = pixels[..., :3]  # alpha is not an input
    if pixels.shape[-1] == 1 and channels == 3:
        pixels = np.repeat(pixels, 3, axis=-1)
    if pixels.shape[-1] != channels:
        raise ValueError(f"the model takes {channels} channels, the image has {pixels.shape[-1]}")
    return pixels


def resize_for(image: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """Crop and resize an image to the spec's size; (H, W, C) float32 in [0, 1]."""
    pixels = as_rgb_float(image, spec.channels)
    top, left, height, width = crop_box(pixels.shape[:2], spec)
    rows = _resize_weights(top, height, pixels.shape[0], spec.size[0])  # (h, H)
    cols = _resize_weights(left, width, pixels.shape[1], spec.size[1])  # (w, W)
    tall = np.tensordot(rows, pixels, axes=(1, 0))  # (h, W, C): rows first, then columns, never all at once
    return np.matmul(cols, tall).astype(np.float32)  # (h, w, C)


def normalise(pixels: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """[0, 1] (..., C) values -> (x - mean) / std per channel."""
    mean = np.asarray(spec.mean, np.float32)
    std = np.asarray(spec.std, np.float32)
    return (pixels - mean) / std


def preprocess(image: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """An RGB image of any size -> the model's `pixel_values`, (1, C, H, W) float32."""
    pixels = normalise(resize_for(image, spec), spec)  # (H, W, C)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None], dtype=np.float32)


# -- pixels <-> patches ---------------------------------------------------------------------


def first_patch(spec: ImageSpec) -> int:
    """The token index of patch 0: after [CLS] (where the model has one) and the spec's extra tokens."""
    return int(spec.class_token) + len(spec.extra_tokens)


def special_tokens(spec: ImageSpec) -> tuple[str, ...]:
    """The names of the tokens before the patches: "[CLS]" where the model has one, then the extra tokens."""
    return ("[CLS]",) * spec.class_token + spec.extra_tokens


def pixel_to_token(y, x, spec: ImageSpec) -> np.ndarray:
    """Token index of the patch holding input pixel (y, x) (arrays broadcast); -1 outside the image."""
    y, x = np.asarray(y), np.asarray(x)
    height, width = spec.size
    inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
    row = np.floor_divide(y, spec.patch_size).astype(np.int64)
    col = np.floor_divide(x, spec.patch_size).astype(np.int64)
    return np.where(inside, first_patch(spec) + row * spec.grid[1] + col, -1)


def token_to_patch(token, spec: ImageSpec) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) in the patch grid of each token; (-1, -1) for [CLS], extra and out-of-range tokens."""
    patch = np.asarray(token) - first_patch(spec)
    valid = (patch >= 0) & (patch < spec.num_patches)
    row, col = np.divmod(patch, spec.grid[1])
    return np.where(valid, row, -1), np.where(valid, col, -1)


def token_to_box(token, spec: ImageSpec) -> np.ndarray:
    """(..., 4) pixel boxes (top, left, bottom, right), bottom/right exclusive; -1s for [CLS]."""
    row, col = token_to_patch(token, spec)
    p = spec.patch_size
    box = np.stack([row * p, col * p, (row + 1) * p, (col + 1) * p], axis=-1)
    return np.where((row >= 0)[..., None], box, -1)


def patches_to_pixels(values: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """One value per patch, (patches,) row-major -> an (H, W) map at the input's size, for overlays."""
    values = np.asarray(values)
    if values.shape[-1] != spec.num_patches:
        raise ValueError(f"expected {spec.num_patches} patch values, got {values.shape[-1]}")
    grid = values.reshape(values.shape[:-1] + spec.grid)
    return grid.repeat(spec.patch_size, axis=-2).repeat(spec.patch_size, axis=-1)


def pixels_to_patches(mask: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """An (..., H, W) bool map -> (..., patches) bool: does the patch hold any True pixel."""
    mask = np.asarray(mask, bool)
    rows, cols = spec.grid
    p = spec.patch_size
    blocks = mask.reshape(mask.shape[:-2] + (rows, p, cols, p))
    return blocks.any(axis=(-3, -1)).reshape(mask.shape[:-2] + (rows * cols,))


def source_to_input(y, x, source_shape: tuple[int, int], spec: ImageSpec) -> tuple[np.ndarray, np.ndarray]:
    """Map pixel coordinates of the original (height, width) image to the model input's."""
    top, left, height, width = crop_box(source_shape, spec)
    return (np.asarray(y) - top) * spec.size[0] / height, (np.asarray(x) - left) * spec.size[1] / width


# -- what the model saw, what it hid, what it answered ---------------------------------------


def input_picture(pixel_values: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """The model's `pixel_values` (1, C, H, W) back to an (H, W, 3) uint8 picture: the exact input, shown."""
    pixels = pixel_values[0].transpose(1, 2, 0) * np.asarray(spec.std, np.float32) + np.asarray(spec.mean, np.float32)
    pixels = np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8)  # (H, W, C)
    return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels


def cropped_source(image: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """The part of an original (H, W, ...) image that the model sees (all of it unless centre-cropped)."""
    top, left, height, width = crop_box(image.shape[:2], spec)
    rows = slice(int(round(top)), int(round(top + height)))
    cols = slice(int(round(left)), int(round(left + width)))
    return image[rows, cols]


def patch_mask(hidden_patches, spec: ImageSpec) -> np.ndarray:
    """The model's `patch_mask` (1, tokens) int64: 1 everywhere but 0 at the hidden patches
    (row-major patch numbers); the tokens before the patches are never hidden."""
    mask = np.ones((1, first_patch(spec) + spec.num_patches), np.int64)
    hidden = np.asarray(sorted(hidden_patches), np.int64)
    if hidden.size and (hidden.min() < 0 or hidden.max() >= spec.num_patches):
        raise ValueError(f"patch numbers must be in [0, {spec.num_patches}), got {hidden.tolist()}")
    mask[0, first_patch(spec) + hidden] = 0
    return mask


def top_classes(logits: np.ndarray, labels: tuple[str, ...], k: int = 5) -> list[tuple[str, float]]:
    """The k most likely (label, probability) of a classifier's logits (classes,), most likely first."""
    logits = np.asarray(logits, np.float64)
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    order = np.argsort(-probabilities, kind="stable")[:k]
    names = labels if len(labels) == len(logits) else tuple(f"class {i}" for i in range(len(logits)))
    return [(names[i], float(probabilities[i])) for i in order]
