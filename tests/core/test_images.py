"""Image preprocessing per the ImageSpec, and the pixel <-> patch <-> token mapping."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from explorer.contract import ImageSpec
from explorer.shared.images import (
    crop_box,
    patches_to_pixels,
    pixel_to_token,
    pixels_to_patches,
    preprocess,
    resize_for,
    source_to_input,
    token_to_box,
    token_to_patch,
)

SPEC = ImageSpec(size=(12, 16), patch_size=4, channels=3, mean=(0.5, 0.4, 0.3), std=(0.5, 0.25, 0.2))


def test_every_pixel_maps_to_the_token_of_its_patch():
    rows, cols = SPEC.grid  # 3 x 4
    yy, xx = np.mgrid[0:12, 0:16]
    tokens = pixel_to_token(yy, xx, SPEC)
    for y in range(12):
        for x in range(16):
            assert tokens[y, x] == 1 + (y // 4) * cols + (x // 4)  # [CLS] is token 0
    assert set(np.unique(tokens)) == set(range(1, 1 + rows * cols))


def test_pixels_outside_the_image_have_no_token_and_no_class_token_shifts_by_one():
    assert pixel_to_token(np.array([-1, 12, 0]), np.array([0, 0, 16]), SPEC).tolist() == [-1, -1, -1]
    no_cls = dataclasses.replace(SPEC, class_token=False)
    assert pixel_to_token(5, 9, no_cls) == pixel_to_token(5, 9, SPEC) - 1


def test_token_boxes_hold_exactly_the_pixels_of_their_token():
    yy, xx = np.mgrid[0:12, 0:16]
    tokens = pixel_to_token(yy, xx, SPEC)
    boxes = token_to_box(np.arange(1 + SPEC.num_patches), SPEC)
    assert boxes[0].tolist() == [-1, -1, -1, -1]  # [CLS] has no place in the image
    for token in range(1, 1 + SPEC.num_patches):
        top, left, bottom, right = boxes[token]
        inside = (yy >= top) & (yy < bottom) & (xx >= left) & (xx < right)
        np.testing.assert_array_equal(inside, tokens == token)
    row, col = token_to_patch(np.array([0, 1, 12, 13]), SPEC)
    assert row.tolist() == [-1, 0, 2, -1] and col.tolist() == [-1, 0, 3, -1]


def test_patch_maps_and_pixel_masks_convert_both_ways():
    values = np.arange(SPEC.num_patches, dtype=float)
    image = patches_to_pixels(values, SPEC)
    assert image.shape == SPEC.size
    yy, xx = np.mgrid[0:12, 0:16]
    np.testing.assert_array_equal(image, values[pixel_to_token(yy, xx, SPEC) - 1])

    mask = np.zeros(SPEC.size, bool)
    mask[5, 9] = True  # patch row 1, col 2
    mask[11, 0] = True  # patch row 2, col 0
    assert np.flatnonzero(pixels_to_patches(mask, SPEC)).tolist() == [1 * 4 + 2, 2 * 4 + 0]
    batch = np.stack([mask, ~mask])
    assert pixels_to_patches(batch, SPEC).shape == (2, SPEC.num_patches)


def test_preprocess_normalises_per_channel_into_the_models_layout():
    rgb = np.zeros((12, 16, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 255, 102, 0  # 1.0, 0.4, 0.0
    pixel_values = preprocess(rgb, SPEC)
    assert pixel_values.shape == (1, 3, 12, 16) and pixel_values.dtype == np.float32
    np.testing.assert_allclose(pixel_values[0, :, 0, 0], [(1 - 0.5) / 0.5, 0.0, (0 - 0.3) / 0.2], atol=1e-6)
    np.testing.assert_allclose(pixel_values.std(axis=(2, 3)), 0, atol=1e-6)


def test_resize_at_the_same_size_changes_nothing():
    image = np.random.default_rng(0).uniform(size=(12, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(resize_for(image, SPEC), image, atol=1e-6)


def test_shrinking_averages_the_pixels_it_covers():
    small = np.random.default_rng(1).uniform(size=(12, 16, 3))
    big = small.repeat(3, axis=0).repeat(3, axis=1)  # each pixel a 3 x 3 block
    np.testing.assert_allclose(resize_for(big, SPEC), small, atol=1e-6)
    # A fine checkerboard must average out, not alias into stripes.
    checker = (np.indices((48, 64)).sum(axis=0) % 2).astype(np.float32)
    np.testing.assert_allclose(resize_for(checker, SPEC)[..., 0], 0.5, atol=0.05)


def test_grey_and_rgba_images_are_accepted():
    grey = np.full((24, 32), 128, np.uint8)
    rgba = np.dstack([np.full((24, 32, 3), 128, np.uint8), np.zeros((24, 32), np.uint8)])
    np.testing.assert_allclose(preprocess(grey, SPEC), preprocess(rgba, SPEC))
    with pytest.raises(ValueError, match="channels"):
        preprocess(np.zeros((8, 8, 2), np.uint8), SPEC)


def test_center_crop_keeps_the_middle_of_a_wide_image():
    spec = dataclasses.replace(SPEC, size=(8, 8), patch_size=4, resize="center-crop")
    wide = np.zeros((20, 60, 3), np.float32)
    wide[:, 20:40] = 1.0  # only the middle third is white
    assert crop_box(wide.shape[:2], spec) == (0.0, 20.0, 20.0, 20.0)
    np.testing.assert_allclose(resize_for(wide, spec), 1.0, atol=1e-6)
    stretched = resize_for(wide, dataclasses.replace(spec, resize="stretch"))
    assert stretched[:, 0].max() < 0.5 and stretched[:, 4].min() > 0.5


def test_source_pixels_map_into_the_input():
    spec = dataclasses.replace(SPEC, size=(8, 8), patch_size=4, resize="center-crop")
    y, x = source_to_input(np.array([0.0, 20.0]), np.array([20.0, 40.0]), (20, 60), spec)
    np.testing.assert_allclose(y, [0, 8])
    np.testing.assert_allclose(x, [0, 8])
    y, x = source_to_input(10.0, 30.0, (20, 60), dataclasses.replace(spec, resize="stretch"))
    assert (y, x) == (4.0, 4.0)


def test_enlarging_interpolates_between_neighbours():
    spec = dataclasses.replace(SPEC, size=(4, 8), patch_size=4)
    ramp = np.array([[0.0, 1.0]] * 2, np.float32)  # 2 x 2: a dark and a light column
    out = resize_for(ramp, spec)[0, :, 0]
    assert np.all(np.diff(out) >= 0) and out[0] == 0 and out[-1] == 1  # monotone, ends kept
    assert 0 < out[3] < 1 and 0 < out[4] < 1  # the middle is blended
    np.testing.assert_allclose(out + out[::-1], 1.0, atol=1e-6)  # symmetric about the middle
