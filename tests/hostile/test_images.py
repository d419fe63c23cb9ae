"""Image files built to break decoding and preprocessing, through the whole way a dropped file goes:
read, prepared for the ViT, run. Each is either read and run, or refused with its sentence while
the picture that was shown stays shown."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PySide6.QtGui import QImage

from explorer.core.state.app_state import AppState
from explorer.core.state.runs import Picture
from explorer.ui.image_file import ImageReadError, read_rgb

from .conftest import Outcome


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path, width: int = 60_000, height: int = 60_000):
    """A few hundred bytes whose header promises width x height RGB pixels (over 10 GB decoded)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))
    return path


def saved(path, image: QImage):
    assert image.save(str(path)), path
    return path


def qimage(width: int, height: int, format_: QImage.Format, fill: int = 0x336699) -> QImage:
    image = QImage(width, height, format_)
    image.fill(fill)
    return image


REFUSED = {
    # name: (make the file, the sentence)
    "empty": (lambda d: _write(d / "empty.png", b""), "empty.png is empty (0 bytes)."),
    "words": (lambda d: _write(d / "notes.png", b"not a picture\n" * 30), "notes.png is not an image this app"),
    "cut-short": (lambda d: _write(d / "cut.png", _real_png(d)[:80]),
                  "cut.png looks like an image but could not be decoded: it may be truncated or corrupt"),
    "bomb": (lambda d: png_bomb(d / "bomb.png"), "bomb.png is too large to open safely: 60000 x 60000 pixels"),
    "folder": (lambda d: (d / "pictures.png").mkdir() or d / "pictures.png", "pictures.png is a folder, not an"),
    "missing": (lambda d: d / "gone.png", "There is no file"),
    "onnx-as-image": (lambda d: _write(d / "model.jpg", b"\x08\x07\x12\x07pytorch" + bytes(100)), "model.jpg is"),
}


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _real_png(folder) -> bytes:
    return saved(folder / "real.png", qimage(32, 32, QImage.Format.Format_RGB32)).read_bytes()


READ = {
    # name: (make the file, its (height, width) as read)
    "one-pixel": (lambda d: saved(d / "dot.png", qimage(1, 1, QImage.Format.Format_RGB32)), (1, 1)),
    "grayscale": (lambda d: saved(d / "grey.png", qimage(20, 10, QImage.Format.Format_Grayscale8, 0x80)), (10, 20)),
    "sixteen-bit": (lambda d: saved(d / "deep.png", qimage(12, 12, QImage.Format.Format_RGBX64)), (12, 12)),
    "transparent": (lambda d: saved(d / "clear.png", qimage(8, 8, QImage.Format.Format_ARGB32, 0x00000000)), (8, 8)),
    "a-ribbon": (lambda d: saved(d / "ribbon.png", qimage(3000, 2, QImage.Format.Format_RGB32)), (2, 3000)),
    "palette": (lambda d: saved(d / "palette.png", qimage(16, 16, QImage.Format.Format_Indexed8, 0)), (16, 16)),
    "bmp": (lambda d: saved(d / "old.bmp", qimage(9, 7, QImage.Format.Format_RGB32)), (7, 9)),
}


@pytest.fixture
def vit_state(qapp, vit_path):
    state = AppState()
    outcome = Outcome(state)
    assert state.open_now(vit_path)
    state.set_picture(Picture("first", np.full((24, 24, 3), 200, np.uint8)))
    assert state.shown is not None
    return state, outcome


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_file_that_is_no_image_is_refused_and_the_picture_stays(vit_state, tmp_path, case):
    make, expected = REFUSED[case]
    state, outcome = vit_state
    shown, picture = state.shown, state.picture
    with pytest.raises(ImageReadError) as refused:
        read_rgb(make(tmp_path))
    assert expected in str(refused.value), refused.value
    assert state.shown is shown and state.picture is picture and outcome.run_failures == []


@pytest.mark.parametrize("case", sorted(READ))
def test_an_odd_but_real_image_is_read_prepared_and_run(vit_state, tmp_path, case):
    make, size = READ[case]
    state, outcome = vit_state
    pixels = read_rgb(make(tmp_path))
    assert pixels.shape == (*size, 3) and pixels.dtype == np.uint8
    state.set_picture(Picture(case, pixels))
    assert outcome.run_failures == []
    logits = state.shown.logits
    assert logits.shape == (len(state.model.meta.labels),) and np.isfinite(logits).all()
    rows = state.shown.stacks["encoder"].attentions.sum(-1)
    np.testing.assert_allclose(rows, 1, atol=1e-5)


def test_hiding_every_patch_leaves_the_class_token_alone_and_finite(vit_state):
    state, outcome = vit_state
    tokens = state.shown.stacks["encoder"].attentions.shape[-1]
    state.set_hidden(frozenset(range(tokens - 1)))
    assert outcome.run_failures == [] and np.isfinite(state.shown.logits).all()
