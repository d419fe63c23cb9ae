"""Image files (and pasted images) to RGB arrays, read with Qt's own image plugins.

Qt reads PNG, JPEG, BMP, GIF, WebP, TIFF... whatever its `imageformats` plugins offer. Every
way reading can fail ends in one `ImageReadError` whose message names the file and says what
is wrong with it: not an image, empty, truncated or corrupt, or too large to decode safely.
The size check reads only the header, so a file claiming 60000 x 60000 pixels is refused
before any memory is allocated for it; Qt's own allocation limit backs that up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage, QImageReader, QPainter

MAX_MEGABYTES = 256  # decoded size (4 bytes a pixel) above which an image is refused
MAX_PIXELS = MAX_MEGABYTES * 1024 * 1024 // 4


class ImageReadError(ValueError):
    """A file could not be read as an image; the message says why, naming the file."""


def image_suffixes() -> tuple[str, ...]:
    """The file suffixes Qt's image readers take here ("png", "jpg", "webp"...)."""
    return tuple(bytes(f).decode() for f in QImageReader.supportedImageFormats())


def read_image(path: str | Path) -> QImage:
    """Decode the file at `path`; raise ImageReadError saying why it cannot be."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ImageReadError(f"There is no file {path}." if not path.exists() else f"{name} is a folder, not an image.")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{name} is empty (0 bytes).")
    QImageReader.setAllocationLimit(MAX_MEGABYTES)  # process-wide; Qt's default is the same, set here to be sure
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # a phone photo's EXIF rotation
    if not reader.canRead():
        formats = ", ".join(s.upper() for s in ("png", "jpeg", "bmp", "gif", "webp") if s in image_suffixes())
        raise ImageReadError(f"{name} is not an image this app can read (it reads {formats} and more).")
    size = reader.size()
    if size.isValid() and size.width() * size.height() > MAX_PIXELS:
        raise ImageReadError(
            f"{name} is too large to open safely: {size.width()} x {size.height()} pixels "
            f"would take over {MAX_MEGABYTES} MB decoded."
        )
    image = reader.read()
    if image.isNull():
        kind = bytes(reader.format()).decode().upper()
        raise ImageReadError(
            f"{name} looks like {f'a {kind} file' if kind else 'an image'} but could not be decoded: "
            f"it may be truncated or corrupt ({reader.errorString()})."
        )
    return image


def to_rgb(image: QImage) -> np.ndarray:
    """(height, width, 3) uint8 of a QImage; transparent parts are laid on white."""
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB888)
        flat.fill(0xFFFFFF)
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(image.height(), -1)
    pixels = rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3)  # rows are padded to 4 bytes
    return pixels.copy()  # the QImage owns `rows`


def read_rgb(path: str | Path) -> np.ndarray:
    """(height, width, 3) uint8 of the image file at `path`; ImageReadError (a ValueError) when it cannot be read."""
    return to_rgb(read_image(path))
