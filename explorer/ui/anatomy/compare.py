"""Two inputs side by side: the shown head's attention for each, and their signed difference
(first - second) on a diverging colour map centred on zero.

Text models take a second sentence with the same token count; image models (a ViT) a second
image, from the gallery of samples or a file, always with as many patches as the first.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from explorer.core.assets import sample_images
from explorer.core.compare import Comparison, ShapeMismatchError, check_same_length, compare
from explorer.core.long_path import needs_every_row
from explorer.core.state.app_state import AppState
from explorer.core.state.runs import Picture
from explorer.shared import images
from explorer.ui.anatomy.heatmaps import HeatmapGrid
from explorer.ui.image.strip import ImageStrip, read_pictures
from explorer.ui.image_file import ImageReadError, image_suffixes, read_rgb

SECOND_TEXT = "The dog sat on the rug because it was tired."
PICK_IMAGE = "Pick a second image from the gallery, or open one."
TYPE_TEXT = "Type a second input and press Compare."


def _is_image_model(runner) -> bool:
    return runner is not None and runner.kind.takes_images


class ComparePanel(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = state.selection
        self.runner = None
        self.first = None  # the workspace's RunResult
        self.first_name = ""  # its image's name, for an image model
        self.second = None  # the second input's RunResult
        self.second_name = ""
        self.comparison: Comparison | None = None
        self.runs = state.new_lane("compare")
        self.runs.result_ready.connect(self.set_second)
        self.runs.failed.connect(self._failed)

        self.text = QLineEdit(SECOND_TEXT)
        self.text.setPlaceholderText("A second input to compare with the first…")
        self.text.returnPressed.connect(self.run_second)
        button = QPushButton("Compare")
        button.clicked.connect(self.run_second)
        self.text_row = QWidget()
        row = QHBoxLayout(self.text_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Second input:"))
        row.addWidget(self.text, 1)
        row.addWidget(button)

        self.gallery = ImageStrip()
        self.gallery.setToolTip("Click an image to compare it with the one the workspace shows")
        self.gallery.picked.connect(self.run_picture)
        open_button = QPushButton("Open image…")
        open_button.clicked.connect(self.open_dialog)
        self.image_row = QWidget()
        row = QHBoxLayout(self.image_row)
        row.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        left.addWidget(QLabel("Second image:"))
        left.addWidget(open_button)
        left.addStretch(1)
        row.addLayout(left)
        row.addWidget(self.gallery, 1)
        self.image_row.setVisible(False)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.grid = HeatmapGrid()
        layout = QVBoxLayout(self)
        layout.addWidget(self.text_row)
        layout.addWidget(self.image_row)
        layout.addWidget(self.message)
        layout.addWidget(self.grid, 1)

    def set_runner(self, runner) -> None:
        self.runs.cancel()
        self.runner, self.second, self.second_name = runner, None, ""
        self.grid.clear()
        image_model = _is_image_model(runner)
        self.text_row.setVisible(not image_model)
        self.image_row.setVisible(image_model)
        self.gallery.set_own([])
        self.gallery.set_samples(read_pictures(sample_images()) if image_model else [])
        self.message.setText(PICK_IMAGE if image_model else "")

    def set_first(self, result, name: str = "") -> None:
        self.first, self.first_name = result, name

    # -- the second input ---------------------------------------------------------------------
    def run_second(self) -> None:
        """Run the text model on the typed text."""
        if self.runner is None or _is_image_model(self.runner):
            return
        runner, text, head_masks = self.runner, self.text.text(), self._head_feeds()
        self.runs.request(lambda: runner.run_text(text, head_masks))

    def run_picture(self, picture: Picture) -> None:
        """Run the image model on `picture`, prepared as the model's image spec says."""
        if not _is_image_model(self.runner):
            return
        runner, spec, head_masks = self.runner, self.runner.model.meta.image, self._head_feeds()
        self.second_name = picture.name
        self.runs.request(lambda: runner.run_pixels(images.preprocess(picture.pixels, spec), head_masks))

    def open_files(self, paths: list[Path]) -> bool:
        """Compare with the first readable image of `paths`. A file that is not one gives its message
        and keeps what was shown. True when an image was read."""
        if not _is_image_model(self.runner):
            return False
        problems = []
        for path in paths:
            try:
                picture = Picture(Path(path).name, read_rgb(path), Path(path))
            except ImageReadError as exc:
                problems.append(str(exc))
                continue
            self.gallery.set_own([picture])  # picks it: the run follows
            return True
        self.message.setText(" ".join(problems))
        return False

    def open_dialog(self) -> None:
        patterns = " ".join(f"*.{s}" for s in image_suffixes())
        path, _ = QFileDialog.getOpenFileName(self, "Second image", "", f"Images ({patterns});;All files (*)")
        if path:
            self.open_files([Path(path)])

    def _head_feeds(self) -> dict | None:
        """The heads ablated for the first input are ablated for the second too."""
        masks = self.selection.head_masks
        return masks.feeds() if masks is not None else None

    def set_second(self, result) -> None:
        self.second = result
        self.redraw()

    def _failed(self, message: str) -> None:
        self.second = None
        self.grid.clear()
        self.message.setText(message)

    # -- drawing ------------------------------------------------------------------------------
    def redraw(self) -> None:
        self.grid.clear()
        self.comparison = None
        stack = self.selection.stack
        if self.first is None or stack is None:
            self.message.setText("Run the model to compare.")
            return
        if self.second is None:
            self.message.setText(PICK_IMAGE if _is_image_model(self.runner) else TYPE_TEXT)
            return
        other = self.second.stacks.get(stack.name)
        if not (stack.complete and other.complete):
            self.message.setText(needs_every_row("Comparing two inputs", stack if not stack.complete else other))
            return
        try:
            check_same_length(len(stack.query_tokens), len(other.query_tokens))
            check_same_length(len(stack.key_tokens), len(other.key_tokens))
            self.comparison = compare(self.selection.matrix(), other.head(self.selection.layer, self.selection.head))
        except ShapeMismatchError as exc:
            self.message.setText(str(exc))
            return
        head = "mean of heads" if self.selection.head is None else f"head {self.selection.head}"
        names = ""
        if self.second_name:  # images: which two
            names = f" First: {self.first_name or 'the shown image'}; second: {self.second_name}."
        self.message.setText(
            f"{stack.name} · layer {self.selection.layer} · {head}.{names} Difference = first − second; "
            f"colours centred on zero, ±{self.comparison.limit:.3g}."
        )
        c, high = self.comparison, max(float(self.comparison.first.max()), float(self.comparison.second.max()))
        self.grid.add("first", c.first, 0, 0, stack.query_tokens, stack.key_tokens, levels=(0.0, high),
                      show_rows=True)
        self.grid.add("second", c.second, 0, 1, other.query_tokens, other.key_tokens, levels=(0.0, high),
                      show_rows=True)
        self.grid.add("first − second", c.difference, 0, 2, stack.query_tokens, stack.key_tokens, signed=True,
                      levels=c.levels, show_rows=True)

    def shutdown(self) -> None:
        self.runs.cancel()


