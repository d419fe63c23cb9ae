"""The page of a Vision Transformer: the image and its patches, and the attention between them.

Images come in by drop, paste, the Open dialog or the strip of samples; the page hands the
picture to the state model, which runs it off the GUI thread (preprocessed as the model's image
spec says). The page draws the newest image run (`current`) and the shared Selection's layer,
head and focused token.

Patch masks: hidden patches are fed as `patch_mask` 0, so no token attends to them. While any
is hidden (or a head is ablated) the run carries its baseline, nothing hidden and every head
kept, so the page shows predictions and the map before and after.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.core.result import RunResult, StackAttention
from explorer.core.state.app_state import AppState
from explorer.core.state.runs import Inputs, Picture, Run
from explorer.core.state.selection import FROM
from explorer.shared import images
from explorer.ui.image import maps
from explorer.ui.image.controls import MapControls
from explorer.ui.image.heads import HeadTiles
from explorer.ui.image.overlay import PatchOverlay
from explorer.ui.image.predictions import Predictions
from explorer.ui.image.strip import ImageStrip, read_pictures, to_qimage
from explorer.ui.image_file import ImageReadError, image_suffixes, read_rgb, to_rgb
from explorer.ui.views.colors import heatmap
from explorer.ui.views.controls import HeadBox, LayerBox

SIDE = 150  # pixels of the side pictures (original, model input, before hiding)
HINT = "Click a patch to see where it looks · Alt-click or drag a rectangle to hide patches · drop or paste images"


def _side_label(tooltip: str) -> QLabel:
    label = QLabel()
    label.setFixedSize(SIDE, SIDE)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("border: 1px solid palette(mid);")
    label.setToolTip(tooltip)
    return label


def _show_rgb(label: QLabel, rgb: np.ndarray | None) -> None:
    if rgb is None:
        label.clear()
        return
    pixmap = QPixmap.fromImage(to_qimage(rgb))
    mode = Qt.TransformationMode.FastTransformation  # nearest: the model's pixels stay visible as pixels
    label.setPixmap(pixmap.scaled(SIDE - 2, SIDE - 2, Qt.AspectRatioMode.KeepAspectRatio, mode))


class ImagePage(QWidget):
    message_changed = Signal(str)  # a notice or error for the status bar ("" clears it)

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.selection = selection = state.selection
        self._drawn: Run | None = None  # the run whose picture is drawn
        self._rollouts: dict = {}  # (id of the stack, fusion, discard) -> (T, T), of the drawn run
        self._lut = heatmap().getLookupTable(nPts=256, alpha=False)

        self.overlay = PatchOverlay()
        self.heads = HeadTiles()
        self.controls = MapControls()
        self.predictions = Predictions()
        self.strip = ImageStrip()
        self.original = _side_label("The original image (the part the model sees)")
        self.model_input = _side_label("The exact input the model saw: resized, cropped and normalised, shown back")
        self.before_map = _side_label("The same map before patches were hidden or heads ablated")
        self.before_caption = QLabel("before hiding")  # shown only with a before map
        self.before_caption.setVisible(False)
        self.info = QLabel(HINT)  # what the map shows, or the patch under the mouse
        self.info.setWordWrap(True)
        self.banner = QLabel()  # an image that could not be read
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fde8e8; color: #7a1f1f; padding: 4px; border-radius: 3px;")
        self.banner.setVisible(False)
        self.empty = QLabel("Drop an image here, paste one (Ctrl+V), or open one.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("font-size: 14pt; color: palette(mid);")

        open_button = QPushButton("Open image…")
        open_button.clicked.connect(self.open_dialog)
        paste_button = QPushButton("Paste")
        paste_button.clicked.connect(self.paste)
        self.cls_button = QPushButton("[CLS]")  # hidden for a model without a class token (SigLIP)
        self.cls_button.setToolTip("Show where the class token looks")
        self.cls_button.clicked.connect(lambda: self.selection.set_token(0, FROM))
        self.clear_hidden = QPushButton("Show all patches")
        self.clear_hidden.clicked.connect(lambda: self.set_hidden(frozenset()))

        top = QHBoxLayout()
        for widget in (open_button, paste_button, LayerBox(selection), HeadBox(selection), self.cls_button):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self.clear_hidden)

        side = QGridLayout()
        side.addWidget(QLabel("original"), 0, 0)
        side.addWidget(self.original, 1, 0)
        side.addWidget(QLabel("model input"), 2, 0)
        side.addWidget(self.model_input, 3, 0)
        side.addWidget(self.before_caption, 4, 0)
        side.addWidget(self.before_map, 5, 0)
        side.addWidget(self.predictions, 0, 1, 6, 1)
        side.setRowStretch(6, 1)
        side_box = QWidget()
        side_box.setLayout(side)

        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(self.overlay)
        upper.addWidget(side_box)
        upper.setStretchFactor(0, 1)
        parts = QSplitter(Qt.Orientation.Vertical)
        parts.addWidget(upper)
        parts.addWidget(self.heads)
        parts.setStretchFactor(0, 3)
        parts.setStretchFactor(1, 1)
        self._parts = parts

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.controls)
        layout.addWidget(self.banner)
        layout.addWidget(self.empty, 1)
        layout.addWidget(parts, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.strip)
        self._show_parts(False)

        self.overlay.patch_clicked.connect(lambda token: self.selection.set_token(token, FROM))
        self.overlay.patch_toggled.connect(lambda patch: self.set_hidden(self._hidden() ^ {patch}))
        self.overlay.patches_dragged.connect(lambda patches: self.set_hidden(self._hidden() | patches))
        self.overlay.hovered.connect(self._on_hover)
        self.heads.head_clicked.connect(lambda head: self.selection.set_head(head))
        self.controls.changed.connect(self.draw_maps)
        self.controls.opacity_changed.connect(self.overlay.set_opacity)
        self.controls.grid_toggled.connect(self.overlay.set_grid_visible)
        self.controls.input_toggled.connect(lambda _: self._draw_picture())
        self.strip.picked.connect(self.run_picture)
        self.selection.changed.connect(self.draw_maps)
        state.run_changed.connect(self._on_run)
        state.run_failed.connect(self._on_run_failed)
        for keys, slot in ((QKeySequence.StandardKey.Paste, self.paste), ("Right", lambda: self.strip.step(1)),
                           ("Left", lambda: self.strip.step(-1)), ("Ctrl+Shift+O", self.open_dialog)):
            QShortcut(QKeySequence(keys), self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # -- the model --------------------------------------------------------------------------------
    @property
    def model(self):
        return self.state.model if self.state.kind is not None and self.state.kind.takes_images else None

    @property
    def current(self) -> Run | None:
        """The image run drawn: the newest one of the open image model."""
        return self.state.run if self.model is not None else None

    @property
    def _pending(self) -> Run | Inputs | None:
        """The newest request: the run drawn once it has come back, else the inputs still running."""
        run, requested = self.current, self.state.requested
        return run if run is not None and run.inputs is requested else requested

    def reset(self) -> None:
        """A new model: no image yet (the workspace then gives it its samples)."""
        self._drawn, self._rollouts = None, {}
        self.set_message("")
        self._show_parts(False)
        self.strip.set_own([])
        self.strip.set_samples([])

    def set_samples(self, paths: list[Path]) -> None:
        """The gallery (the bundled sample images); runs the first."""
        samples = read_pictures(paths)
        self.strip.set_samples(samples)
        if samples:
            self.strip.pick(0)

    def image_name(self) -> str:
        """The name of the picture of the newest run asked for."""
        picture = self.state.picture
        return picture.name if picture is not None else ""

    @property
    def spec(self):
        return self.model.meta.image

    # -- getting images in ------------------------------------------------------------------------
    def open_files(self, paths: list[Path]) -> bool:
        """Read image files into the strip and run the first; unreadable ones are named in a message.
        True when at least one image was read."""
        if self.model is None:
            self.set_message("Open an image model (a vit-classifier .onnx) first, then drop images on it.")
            return False
        pictures, problems = [], []
        for path in paths:
            try:
                pictures.append(Picture(Path(path).name, read_rgb(path), Path(path)))
            except ImageReadError as exc:
                problems.append(str(exc))
        self.set_message(" ".join(problems))
        if pictures:
            self.strip.set_own(pictures)
        return bool(pictures)

    def open_dialog(self) -> None:
        patterns = " ".join(f"*.{s}" for s in image_suffixes())
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", "", f"Images ({patterns});;All files (*)")
        if paths:
            self.open_files([Path(p) for p in paths])

    def paste(self) -> bool:
        """Run on the clipboard's image, or on the image files it holds. True when there was one."""
        data = QGuiApplication.clipboard().mimeData()
        if data is not None and data.hasImage():
            image = QImage(data.imageData())
            if not image.isNull():
                self.strip.set_own([Picture("pasted image", to_rgb(image))])
                self.set_message("")
                return True
        files = [Path(u.toLocalFile()) for u in (data.urls() if data is not None else []) if u.isLocalFile()]
        if files:
            return self.open_files(files)
        self.set_message("The clipboard holds no image to paste.")
        return False

    # -- running ------------------------------------------------------------------------------
    def run_picture(self, picture: Picture) -> None:
        """Run the model on a new picture, nothing hidden."""
        if self.model is not None:
            self.state.set_picture(picture)

    def set_hidden(self, hidden: frozenset[int]) -> None:
        """Hide these patches (as keys, patch_mask 0) and re-run the shown image."""
        if self.current is not None:
            self.state.set_hidden(hidden)

    def _hidden(self) -> frozenset[int]:
        return self.current.hidden if self.current is not None else frozenset()

    def run_now(self, picture: Picture) -> None:
        """Run on this thread and draw before returning: for benchmarks and scripts."""
        self.state.set_picture(picture, now=True)

    # -- showing ----------------------------------------------------------------------------------
    def _on_run(self, run: Run) -> None:
        """The newest run: draw the image, the maps and the predictions."""
        if self.model is None:
            return
        new_image = self._drawn is None or self._drawn.picture is not run.picture
        self._drawn, self._rollouts = run, {}
        self._show_parts(True)
        self.cls_button.setVisible(self.spec.class_token)
        if new_image:
            self._draw_picture()
        self.overlay.set_hidden(run.hidden)
        self.clear_hidden.setEnabled(bool(run.hidden))
        self.predictions.set_rankings(list(run.outcome.classes),
                                      list(run.outcome.baseline_classes) if run.altered else None)
        self.draw_maps()

    def _draw_picture(self) -> None:
        run = self.current
        if run is None:
            return
        spec = self.spec
        shown_input = images.input_picture(run.pixel_values, spec)  # (H, W, 3) what the model saw
        source = images.cropped_source(run.picture.pixels, spec)
        self.overlay.set_image(shown_input if self.controls.input.isChecked() else source, spec)
        _show_rgb(self.original, run.picture.pixels)
        _show_rgb(self.model_input, shown_input)

    def choice(self) -> maps.MapChoice:
        token = self.selection.token
        return maps.MapChoice(
            mode=self.controls.mode.currentText(),
            layer=self.selection.layer,
            head=self.selection.head,
            token=0 if token is None else token,
            direction=self.selection.direction,
            head_fusion=self.controls.fusion.currentText(),
            discard_ratio=round(self.controls.discard.value(), 2),
        )

    def shown_stack(self, result: RunResult) -> StackAttention:
        return result.stacks.get(self.selection.stack_name) or next(iter(result.stacks.values()))

    def map_of(self, result: RunResult, choice: maps.MapChoice) -> np.ndarray:
        """(patches,) the chosen map of one result of the drawn run (the rollout is cached per stack and settings)."""
        stack = self.shown_stack(result)
        if choice.mode == maps.ROLLOUT:
            key = (id(stack), choice.head_fusion, choice.discard_ratio)
            if key not in self._rollouts:
                self._rollouts[key] = maps.token_matrix(stack, choice)
            matrix = self._rollouts[key]
        else:
            matrix = maps.token_matrix(stack, choice)
        return maps.patch_values(matrix, choice.token, choice.direction, self.spec)

    def draw_maps(self) -> None:
        run = self.current
        if run is None or run.result is None or not self.selection.stacks:
            return
        choice = self.choice()
        spec = self.spec
        values = self.map_of(run.result, choice)
        self.overlay.set_values(values)
        self.overlay.set_focus(choice.token)
        stack = self.shown_stack(run.result)
        head_maps = maps.head_values(stack, choice.layer, choice.token, choice.direction, spec)
        picture = images.input_picture(run.pixel_values, spec)
        self.heads.set_maps(picture, head_maps, spec, choice.head)
        if run.altered:
            before = self.map_of(run.baseline, choice)
            _show_rgb(self.before_map, maps.blend(picture, before, spec, self._lut, self.controls.opacity_value()))
        self.before_map.setVisible(run.altered)
        self.before_caption.setVisible(run.altered)
        self.info.setText(self._describe(choice, stack, values))

    def _describe(self, choice: maps.MapChoice, stack: StackAttention, values: np.ndarray) -> str:
        name = stack.query_tokens[choice.token]
        verb = "looks" if choice.direction == FROM else "is looked at"
        where = (f"rollout ({choice.head_fusion} of heads, discard {choice.discard_ratio:.2f})"
                 if choice.mode == maps.ROLLOUT else
                 f"layer {choice.layer}, {'mean of heads' if choice.head is None else f'head {choice.head}'}")
        hidden = f" · {len(self.current.hidden)} patches hidden" if self.current.hidden else ""
        return f"<b>{name}</b>: where it {verb} — {where}; brightest patch {values.max():.3g}{hidden}"

    def _on_hover(self, token: int) -> None:
        run = self.current
        if run is None or self.overlay.values is None:
            return
        if token < 0:
            self.info.setText(self._describe(self.choice(), self.shown_stack(run.result), self.overlay.values))
            return
        patch = token - maps.patch_slice(self.spec).start
        row, col = divmod(patch, self.spec.grid[1])
        hidden = " (hidden)" if patch in run.hidden else ""
        self.info.setText(f"patch {patch} (row {row}, column {col}) · token {token}{hidden} · "
                          f"value {self.overlay.values[patch]:.4g}")

    def set_message(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self.message_changed.emit(text)

    def _on_run_failed(self, message: str) -> None:
        if self.model is not None and self.current is not None:
            self.set_message(message)

    def _show_parts(self, shown: bool) -> None:
        self._parts.setVisible(shown)
        self.empty.setVisible(not shown)
