"""The page of a Vision Transformer: the image and its patches, and the attention between them.

Images come in by drop, paste, the Open dialog or the strip of samples. Each is preprocessed
as the model's image spec says and run off the GUI thread through the workspace's
RunController; the result comes back through the shared Selection (which chooses layer, head
and focused token for every view) and `show_result`.

Patch masks: hidden patches are fed as `patch_mask` 0, so no token attends to them. While any
is hidden the page keeps the run without them (the baseline) to show predictions and the map
before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

from explorer.core.model import LoadedModel
from explorer.core.result import RunResult, StackAttention
from explorer.core.runner import Runner
from explorer.shared import images
from explorer.ui.image import maps
from explorer.ui.image.controls import MapControls
from explorer.ui.image.heads import HeadTiles
from explorer.ui.image.overlay import PatchOverlay
from explorer.ui.image.predictions import Predictions
from explorer.ui.image.strip import ImageStrip, Picture, read_pictures, to_qimage
from explorer.ui.image_file import ImageReadError, image_suffixes, read_rgb, to_rgb
from explorer.ui.run_controller import RunController
from explorer.ui.views.colors import heatmap
from explorer.ui.views.controls import HeadBox, LayerBox
from explorer.ui.views.selection import FROM, Selection

SIDE = 150  # pixels of the side pictures (original, model input, before hiding)
HINT = "Click a patch to see where it looks · Alt-click or drag a rectangle to hide patches · drop or paste images"


@dataclass
class ImageRun:
    """One image as run: the picture, what the model was fed, the patches hidden, and the answers."""

    picture: Picture
    hidden: frozenset[int] = frozenset()
    pixel_values: np.ndarray | None = None  # (1, C, H, W), filled on the worker thread
    baseline: RunResult | None = None  # the run with nothing hidden and every head kept
    head_masks: dict | None = None  # per stack (layers, heads), or None when every head is kept
    result: RunResult | None = None
    rollouts: dict = field(default_factory=dict)  # (id of the stack, fusion, discard) -> (T, T)

    @property
    def altered(self) -> bool:
        """Patches hidden or heads ablated: the page then shows the baseline beside the result."""
        return bool(self.hidden) or self.head_masks is not None


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

    def __init__(self, selection: Selection, runs: RunController, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection
        self.runs = runs
        self.model: LoadedModel | None = None
        self.runner: Runner | None = None
        self.current: ImageRun | None = None  # what is drawn
        self._pending: ImageRun | None = None  # what the newest request runs
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
        cls_button = QPushButton("[CLS]")
        cls_button.setToolTip("Show where the class token looks")
        cls_button.clicked.connect(lambda: self.selection.set_token(0, FROM))
        self.clear_hidden = QPushButton("Show all patches")
        self.clear_hidden.clicked.connect(lambda: self.set_hidden(frozenset()))

        top = QHBoxLayout()
        for widget in (open_button, paste_button, LayerBox(selection), HeadBox(selection), cls_button):
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
        self.runs.failed.connect(self._on_run_failed)
        for keys, slot in ((QKeySequence.StandardKey.Paste, self.paste), ("Right", lambda: self.strip.step(1)),
                           ("Left", lambda: self.strip.step(-1)), ("Ctrl+Shift+O", self.open_dialog)):
            QShortcut(QKeySequence(keys), self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # -- the model --------------------------------------------------------------------------------
    def set_model(self, model: LoadedModel | None, runner: Runner | None) -> None:
        """Show an image model (None: none), with no image yet."""
        self.model, self.runner = model, runner
        self.current = self._pending = None
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
        """The name of the image of the newest run."""
        run = self._pending or self.current
        return run.picture.name if run is not None else ""

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
        if self.runner is not None:
            self._request(ImageRun(picture, head_masks=self._head_feeds()))

    def set_hidden(self, hidden: frozenset[int]) -> None:
        """Hide these patches (as keys, patch_mask 0) and re-run the shown image."""
        base = self.current
        if base is None or frozenset(hidden) == base.hidden:
            return
        self._request(
            ImageRun(base.picture, frozenset(hidden), base.pixel_values, base.baseline, self._head_feeds())
        )

    def rerun_with_heads(self) -> None:
        """Heads were ablated or kept again in the model view: run the shown image with them."""
        base = self.current
        if base is None or self.runner is None:
            return
        self._request(ImageRun(base.picture, base.hidden, base.pixel_values, base.baseline, self._head_feeds()))

    def _head_feeds(self) -> dict | None:
        masks = self.selection.head_masks
        return masks.feeds() if masks is not None else None

    def _hidden(self) -> frozenset[int]:
        return self.current.hidden if self.current is not None else frozenset()

    def _request(self, run: ImageRun, now: bool = False) -> None:
        runner, spec = self.runner, self.spec
        self._pending = run

        def job() -> RunResult:
            if run.pixel_values is None:
                run.pixel_values = images.preprocess(run.picture.pixels, spec)  # (1, C, H, W)
            if not run.altered:
                return runner.run_pixels(run.pixel_values)
            if run.baseline is None:  # altered before the plain run came back: make it here
                run.baseline = runner.run_pixels(run.pixel_values)
            patch_mask = images.patch_mask(run.hidden, spec) if run.hidden else None
            return runner.run_pixels(run.pixel_values, head_masks=run.head_masks, patch_mask=patch_mask)

        if now:
            self.runs.run_now(job)
        else:
            self.runs.request(job)

    def run_now(self, picture: Picture) -> None:
        """Run on this thread and draw before returning: for benchmarks and scripts."""
        self._request(ImageRun(picture), now=True)

    # -- showing ----------------------------------------------------------------------------------
    def show_result(self, result: RunResult) -> None:
        """The workspace drew `result` (the newest run): draw the image, the maps and the predictions."""
        run = self._pending
        if self.model is None or run is None:
            return
        run.result = result
        if not run.altered:
            run.baseline = result
        new_image = self.current is None or self.current.picture is not run.picture
        self.current = run
        self._show_parts(True)
        if new_image:
            self._draw_picture()
        self.overlay.set_hidden(run.hidden)
        self.clear_hidden.setEnabled(bool(run.hidden))
        after = images.top_classes(result.logits, self.model.meta.labels)
        before = images.top_classes(run.baseline.logits, self.model.meta.labels) if run.altered else None
        self.predictions.set_rankings(after, before)
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

    def map_of(self, result: RunResult, choice: maps.MapChoice, run: ImageRun) -> np.ndarray:
        """(patches,) the chosen map of one run (the rollout is cached per run and settings)."""
        stack = self.shown_stack(result)
        if choice.mode == maps.ROLLOUT:
            key = (id(stack), choice.head_fusion, choice.discard_ratio)
            if key not in run.rollouts:
                run.rollouts = {k: v for k, v in run.rollouts.items() if k[0] == id(stack)} | {
                    key: maps.token_matrix(stack, choice)
                }
            matrix = run.rollouts[key]
        else:
            matrix = maps.token_matrix(stack, choice)
        return maps.patch_values(matrix, choice.token, choice.direction, self.spec)

    def draw_maps(self) -> None:
        run = self.current
        if run is None or run.result is None or not self.selection.stacks:
            return
        choice = self.choice()
        spec = self.spec
        values = self.map_of(run.result, choice, run)
        self.overlay.set_values(values)
        self.overlay.set_focus(choice.token)
        stack = self.shown_stack(run.result)
        head_maps = maps.head_values(stack, choice.layer, choice.token, choice.direction, spec)
        picture = images.input_picture(run.pixel_values, spec)
        self.heads.set_maps(picture, head_maps, spec, choice.head)
        if run.altered:
            before = self.map_of(run.baseline, choice, run)
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
        if self.model is not None:
            self.set_message(message)

    def _show_parts(self, shown: bool) -> None:
        self._parts.setVisible(shown)
        self.empty.setVisible(not shown)
