"""Reading image files through Qt: what it reads, and a clear message for everything it cannot."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ui.image_file import ImageReadError, image_suffixes, read_rgb


def _file(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def test_png_and_bmp_read_back_exactly_and_jpeg_closely(tmp_path, png):
    rgb = np.random.default_rng(0).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    np.testing.assert_array_equal(read_rgb(png(tmp_path / "a.png", rgb)), rgb)
    bmp = png(tmp_path / "a.bmp", rgb)
    np.testing.assert_array_equal(read_rgb(bmp), rgb)
    flat = np.full((16, 16, 3), (200, 40, 90), np.uint8)
    jpeg = png(tmp_path / "a.jpg", flat)
    assert np.abs(read_rgb(jpeg).astype(int) - flat).max() <= 8
    assert {"png", "jpeg", "bmp", "gif"} <= set(image_suffixes())


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: _file(d / "notes.txt", b"hello"), "not an image"),
        (lambda d: _file(d / "empty.png", b""), "empty"),
        ("huge", "too large"),
        (lambda d: d / "missing.png", "no file"),
    ],
)
def test_what_cannot_be_read_says_why(tmp_path, png, make, words):
    path = png.huge(tmp_path / "huge.png") if make == "huge" else make(tmp_path)
    with pytest.raises(ImageReadError, match=words) as caught:
        read_rgb(path)
    assert path.name in str(caught.value)


def test_a_truncated_png_is_named_as_truncated_or_corrupt(tmp_path, png):
    whole = png(tmp_path / "whole.png", np.random.default_rng(1).integers(0, 256, (30, 30, 3), dtype=np.uint8))
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[:150])
    with pytest.raises(ImageReadError, match="truncated or corrupt"):
        read_rgb(cut)
