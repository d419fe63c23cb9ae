"""Saving what a widget shows: PNG through QImage, SVG through QSvgGenerator.

pyqtgraph's own SVG exporter fails with this Qt (pyqtgraph issue 3485), so both formats
paint the widget with `QWidget.render`: lines and text stay vectors in the SVG, heatmaps
become embedded images.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget


def save_png(widget: QWidget, path: str | Path, scale: float = 2.0) -> Path:
    """Paint `widget` into a PNG `scale` times its size on screen (2 for sharp figures)."""
    path = Path(path)
    size = widget.size()
    image = QImage(round(size.width() * scale), round(size.height() * scale), QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(scale)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    widget.render(painter, QPoint())  # PySide needs the offset with a painter
    painter.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path


def save_svg(widget: QWidget, path: str | Path, title: str = "Attention Explorer") -> Path:
    """Paint `widget` into an SVG file of its size on screen."""
    path = Path(path)
    size = widget.size()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle(title)
    painter = QPainter()
    if not painter.begin(generator):  # the generator opens the file here
        raise OSError(f"could not write {path}")
    widget.render(painter, QPoint())  # PySide needs the offset with a painter
    painter.end()
    return path


def save_image(widget: QWidget, path: str | Path) -> Path:
    """PNG or SVG, chosen by the file's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".svg":
        return save_svg(widget, path)
    if suffix == ".png":
        return save_png(widget, path)
    raise ValueError(f"can save .png or .svg, not {suffix or 'a file without a suffix'!r}")
