"""The shape image generator: deterministic, labelled, masked, cluttered; and its sample PNGs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from export.data.shapes import CLASSES, ShapesConfig, generate, hard_config, shape_masks, write_png, write_samples

CONFIG = ShapesConfig(size=32, radius=(0.16, 0.3))  # smaller images than training, shapes as big in pixels


def test_a_batch_is_a_pure_function_of_its_seed():
    a, b, c = generate(16, (3, 0, 7), CONFIG), generate(16, (3, 0, 7), CONFIG), generate(16, (3, 0, 8), CONFIG)
    for field in ("images", "labels", "masks"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.images, c.images)


def test_batches_have_the_documented_shapes_and_ranges():
    batch = generate(64, 1, CONFIG)
    assert batch.images.shape == (64, 32, 32, 3) and batch.images.dtype == np.float32
    assert batch.labels.shape == (64,) and batch.masks.shape == (64, 32, 32) and batch.masks.dtype == bool
    assert batch.images.min() >= 0 and batch.images.max() <= 1
    assert set(batch.labels.tolist()) == set(range(len(CLASSES)))


def test_the_mask_marks_one_solid_colour_compact_shape():
    batch = generate(64, 2, dataclasses.replace(CONFIG, pixel_noise=0.0, antialias=1))
    for image, mask in zip(batch.images, batch.masks, strict=True):
        assert mask.sum() >= 10
        assert np.ptp(image[mask], axis=0).max() == 0  # one colour wherever the shape lies
        rows, cols = np.nonzero(mask)  # one compact shape: within its largest circumcircle
        assert max(np.ptp(rows), np.ptp(cols)) <= 2 * CONFIG.radius[1] * CONFIG.size


def around(mask: np.ndarray, reach: int = 1) -> np.ndarray:
    """Pixels within `reach` steps of the mask, outside it."""
    grown = mask.copy()
    for _ in range(reach):
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            grown |= np.roll(grown, (dy, dx), axis=(0, 1))
    return grown & ~mask


def contrasts(config: ShapesConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per image: RGB distance and brightness (luma) difference between the shape and a band around it."""
    plain = dataclasses.replace(config, pixel_noise=0.0, texture=0.0, lines=0, dots=0, blobs=0, antialias=1)
    batch = generate(64, 3, plain)
    rgb, luma = [], []
    for image, mask in zip(batch.images, batch.masks, strict=True):
        colour, outside = image[mask][0], image[around(mask, 2) & ~around(mask, 1)].mean(axis=0)
        rgb.append(np.linalg.norm(outside - colour))
        luma.append(abs((outside - colour) @ np.array([0.299, 0.587, 0.114])))
    return np.array(rgb), np.array(luma)


def test_the_shape_stands_out_from_what_surrounds_it():
    rgb, luma = contrasts(dataclasses.replace(CONFIG, min_luma_contrast=0.0))
    assert rgb.min() > 0.25  # min_contrast 0.45 against the background under the shape, which has a gradient
    brighter_rgb, brighter_luma = contrasts(dataclasses.replace(CONFIG, min_luma_contrast=0.25))
    assert brighter_rgb.min() > 0.25
    assert brighter_luma.min() > 0.1 > luma.min() and brighter_luma.mean() > luma.mean() + 0.05


def test_antialiased_edges_blend_the_shape_into_the_background():
    sharp = generate(8, 9, dataclasses.replace(CONFIG, pixel_noise=0.0, antialias=1))
    smooth = generate(8, 9, dataclasses.replace(CONFIG, pixel_noise=0.0, antialias=4))
    np.testing.assert_array_equal(sharp.labels, smooth.labels)
    for image, mask, hard in zip(smooth.images, smooth.masks, sharp.masks, strict=True):
        assert (mask != hard).mean() < 0.02  # the same shape, give or take edge pixels
        inner = mask & ~around(~mask)  # pixels whose neighbours are all on the shape
        assert np.ptp(image[inner], axis=0).max() == 0
        colour = image[inner][0]
        edge = image[mask & around(~mask)]  # shape pixels next to the background
        assert not np.allclose(edge, colour)  # some of them are blended


def test_rotation_can_be_turned_off():
    upright = dataclasses.replace(CONFIG, rotation=0.0, radius=(0.3, 0.3), antialias=1)
    batch = generate(64, 10, upright)
    for label, mask in zip(batch.labels, batch.masks, strict=True):
        if CLASSES[label] == "square":  # axis-aligned: its rows are all the same width
            widths = mask.sum(axis=1)
            assert len(set(widths[widths > 0].tolist())) == 1


def test_shape_classes_nest_as_their_geometry_says():
    yy, xx = np.mgrid[-1.2:1.2:241j, -1.2:1.2:241j]
    u, v = np.broadcast_to(xx, (1,) + xx.shape), np.broadcast_to(yy, (1,) + yy.shape)
    area = {name: shape_masks(np.array([i]), u, v)[0] for i, name in enumerate(CLASSES)}
    for name in ("square", "triangle", "star", "ring", "cross"):
        assert not (area[name] & ~area["circle"]).any(), f"{name} leaves its circumcircle"
    assert (area["ring"] | area["circle"]).sum() == area["circle"].sum() > area["ring"].sum()
    assert area["triangle"].sum() < area["square"].sum() < area["circle"].sum()
    assert len({int(a.sum()) for a in area.values()}) == len(CLASSES)  # six different shapes


def test_every_class_is_drawn_about_as_often():
    counts = np.bincount(generate(600, 4, CONFIG).labels, minlength=len(CLASSES))
    assert counts.min() > 0.7 * 600 / len(CLASSES)  # 100 expected, sd about 9


def test_distractors_are_smaller_than_any_target_shape():
    smallest_target = CONFIG.radius[0] * CONFIG.size
    assert CONFIG.dot_radius_px[1] < smallest_target / 2
    assert CONFIG.blob_radius_px[1] < smallest_target


def test_clutter_adds_pixels_of_other_colours_outside_the_shape():
    plain = dataclasses.replace(CONFIG, lines=0, dots=0, blobs=0, texture=0.0, pixel_noise=0.0)
    cluttered = dataclasses.replace(plain, lines=8, dots=12, blobs=6)

    def roughness(config):  # mean colour change between neighbouring background pixels
        batch = generate(32, 5, config)
        step = np.abs(np.diff(batch.images, axis=2)).sum(axis=-1)
        background = ~(batch.masks[:, :, 1:] | batch.masks[:, :, :-1])
        return step[background].mean()

    assert roughness(cluttered) > 2 * roughness(plain)


def test_hard_images_are_smaller_and_busier():
    hard = hard_config(CONFIG)
    assert hard.radius[1] < CONFIG.radius[1] and hard.lines > CONFIG.lines and hard.texture > CONFIG.texture
    assert generate(32, 6, hard).masks.sum() < generate(32, 6, CONFIG).masks.sum()


def read_png(path) -> np.ndarray:
    """Decode with Qt, an independent PNG reader."""
    from PySide6.QtGui import QImage

    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def test_png_writer_round_trips_through_an_independent_reader(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(read_png(write_png(tmp_path / "x.png", rgb)), rgb)


@pytest.mark.parametrize("count", [12])
def test_samples_cover_every_class_with_easy_and_hard_images(tmp_path, count):
    paths = write_samples(tmp_path, CONFIG, count=count, scale=2)
    assert len(paths) == count
    names = [p.stem for p in paths]
    for name in CLASSES:
        assert sum(name in n for n in names) == 2
    assert sum(n.endswith("-hard") for n in names) == count // 2
    assert read_png(paths[0]).shape == (64, 64, 3)
    assert write_samples(tmp_path / "again", CONFIG, count=count, scale=2)[5].read_bytes() == paths[5].read_bytes()
