"""The images to step through: those dropped, opened or pasted, then the bundled samples.

One QListWidget in icon mode, a row of thumbnails; the current one is what the page shows.
Items hold decoded pictures, so stepping back and forth never reads a file twice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from explorer.core.state.runs import Picture
from explorer.ui.image_file import ImageReadError, read_rgb

THUMBNAIL = 56


def read_pictures(paths: list[Path]) -> list[Picture]:
    """The images among `paths` that decode; a broken one is left out (a gallery's samples are not
    the person's problem), the others still show."""
    pictures = []
    for path in paths:
        try:
            pictures.append(Picture(path.name, read_rgb(path), path))
        except ImageReadError:
            continue
    return pictures


def to_qimage(rgb: np.ndarray) -> QImage:
    """(h, w, 3) uint8 -> a QImage that owns a copy of the pixels."""
    rgb = np.ascontiguousarray(rgb)
    height, width, _ = rgb.shape
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ImageStrip(QListWidget):
    picked = Signal(object)  # the Picture chosen

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFixedHeight(THUMBNAIL + 46)
        self.setToolTip("Click an image to run the model on it; Left/Right step through them")
        self.currentRowChanged.connect(self._on_row)
        self._own = 0  # items dropped, opened or pasted, before the samples

    def pictures(self) -> list[Picture]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def set_samples(self, samples: list[Picture]) -> None:
        """The gallery after the person's own images."""
        while self.count() > self._own:
            self.takeItem(self._own)
        for picture in samples:
            self.addItem(self._item(picture, sample=True))

    def set_own(self, pictures: list[Picture]) -> None:
        """The person's images (a new drop replaces the last one's), shown first; picks the first."""
        for _ in range(self._own):
            self.takeItem(0)
        for row, picture in enumerate(pictures):
            self.insertItem(row, self._item(picture, sample=False))
        self._own = len(pictures)
        if pictures:
            self.pick(0)

    def pick(self, row: int) -> None:
        """Choose item `row`; emits `picked` even when it already was the current one."""
        if not 0 <= row < self.count():
            return
        if row == self.currentRow():
            self._on_row(row)
        else:
            self.setCurrentRow(row)

    def step(self, delta: int) -> None:
        if self.count():
            self.pick((self.currentRow() + delta) % self.count())

    def _item(self, picture: Picture, sample: bool) -> QListWidgetItem:
        icon = QPixmap.fromImage(to_qimage(picture.pixels)).scaled(
            THUMBNAIL, THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        item = QListWidgetItem(QIcon(icon), picture.name)
        item.setData(Qt.ItemDataRole.UserRole, picture)
        item.setToolTip(f"{picture.name}{' (sample)' if sample else ''}")
        return item

    def _on_row(self, row: int) -> None:
        if 0 <= row < self.count():
            self.picked.emit(self.item(row).data(Qt.ItemDataRole.UserRole))
