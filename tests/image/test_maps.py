"""The numpy side of the image page, and preprocessing against what the export side trained on."""

from __future__ import annotations

import numpy as np

from explorer.contract import ImageSpec
from explorer.shared import images
from explorer.ui.image import maps

SPEC = ImageSpec(size=(8, 12), patch_size=4, channels=3, mean=(0.5, 0.4, 0.3), std=(0.5, 0.25, 0.2))


def test_patch_mask_hides_exactly_the_named_patches_never_cls():
    mask = images.patch_mask({0, 5}, SPEC)
    assert mask.shape == (1, 1 + SPEC.num_patches) and mask.dtype == np.int64
    assert np.flatnonzero(mask[0] == 0).tolist() == [1, 6]


def test_the_input_picture_is_the_preprocessed_pixels_shown_back():
    rgb = np.random.default_rng(0).integers(0, 256, (8, 12, 3), dtype=np.uint8)
    np.testing.assert_array_equal(images.input_picture(images.preprocess(rgb, SPEC), SPEC), rgb)


def test_hatching_covers_hidden_patches_only_and_tiles_keep_order():
    rgba = maps.hatch_picture(frozenset({4}), SPEC, cell=8)  # patch 4: row 1, column 1
    covered = rgba[..., 3] > 0
    assert covered[8:16, 8:16].all() and covered.sum() == 64
    pictures = np.arange(3 * 2 * 2 * 3, dtype=np.uint8).reshape(3, 2, 2, 3)
    composed = maps.tiles(pictures, columns=2, gap=1)
    assert composed.shape == (5, 5, 3)
    np.testing.assert_array_equal(composed[:2, 3:], pictures[1])
    np.testing.assert_array_equal(composed[3:, :2], pictures[2])


def test_preprocessing_matches_the_export_side(tmp_path):
    """The bundled ViT trains on ViTRecipe's images through export.train.vit.to_pixel_values."""
    from explorer.ui.image_file import read_rgb
    from export.data.shapes import write_samples
    from export.train.vit import ViTRecipe, to_pixel_values

    recipe = ViTRecipe()
    spec = ImageSpec(size=(recipe.model.image_size,) * 2, patch_size=recipe.model.patch_size, channels=3,
                     mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    write_samples(tmp_path, recipe.data)
    sample = sorted(tmp_path.glob("*.png"))[0]
    rgb = read_rgb(sample)  # drawn at the input size and enlarged 4x
    small = rgb[::4, ::4].astype(np.float32) / 255.0  # (32, 32, 3): the training pixels
    expected = to_pixel_values(small[None], spec).numpy()
    np.testing.assert_allclose(images.preprocess(rgb, spec), expected, atol=1e-6)
