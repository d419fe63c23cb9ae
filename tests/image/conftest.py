"""Image files to drop, and the main window shown with no sample images (each test brings its own).
The contract models (`vit_path`, ...) and the plain window come from tests/conftest.py."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest


def write_png(path: Path, rgb) -> Path:
    """Save an (h, w, 3) uint8 array as a PNG through Qt."""
    from explorer.ui.image.strip import to_qimage

    assert to_qimage(rgb).save(str(path)), path
    return path


def huge_png(path: Path, side: int = 60_000) -> Path:
    """A valid PNG header claiming side x side pixels, with almost no data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture
def png():
    """png(path, rgb) writes an image file (the suffix picks the format); png.huge(path) a huge-claiming PNG."""
    write_png.huge = huge_png
    return write_png


@pytest.fixture
def pictures(tmp_path):
    """Two small coloured PNGs with a little structure, a text file, and a truncated PNG."""
    import numpy as np

    rng = np.random.default_rng(3)
    first = write_png(tmp_path / "noise.png", rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    second = write_png(tmp_path / "bars.png", np.repeat(np.linspace(0, 255, 24, dtype=np.uint8), 3).reshape(1, 24, 3)
                       .repeat(24, axis=0))
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    truncated = tmp_path / "broken.png"
    truncated.write_bytes(first.read_bytes()[:200])
    return {"first": first, "second": second, "text": text, "truncated": truncated}


@pytest.fixture
def no_sample_images(monkeypatch):
    """Each test brings its own pictures: the workspace offers no bundled samples."""
    import explorer.ui.workspace as workspace_module

    monkeypatch.setattr(workspace_module, "sample_images", lambda: [])


@pytest.fixture
def window(no_sample_images, window, qtbot):
    """The shared main window (made after the samples are gone), shown at a size the image page fits."""
    window.resize(1300, 860)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def settled(qtbot):
    """settled(window): wait until the newest run is drawn on the image page; returns the page."""

    def wait(window, timeout: int = 10_000):
        page = window.workspace.image_page
        runs = window.workspace.runs
        qtbot.waitUntil(lambda: not runs.busy and page.current is not None and page.current is page._pending,
                        timeout=timeout)
        qtbot.wait(1)  # let pyqtgraph range the views before positions are mapped to the screen
        return page

    return wait
