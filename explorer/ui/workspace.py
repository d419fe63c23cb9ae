"""The page of an open model: the text box, the tokens the model sees, and the attention views.

Typing re-runs the model after a short pause, off the GUI thread; the newest result feeds
the shared Selection, which every view and token strip follows. Token toggles (hidden keys,
[MASK]) and ablated heads re-run at once; with heads ablated the run is compared with the
same input with every head kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from explorer import contract
from explorer.core.ablation import ComparedRun, HeadMasks, run_compared
from explorer.core.assets import sample_images, sample_text
from explorer.core.decoding import GreedyDecoder
from explorer.core.masking import TokenEdits
from explorer.core.model import LoadedModel
from explorer.core.result import RunResult
from explorer.core.runner import Runner
from explorer.ui.decoder_panel import DecoderPanel
from explorer.ui.predictions import OutcomePanel
from explorer.ui.run_controller import RunController
from explorer.ui.token_strip import TokenStrip
from explorer.ui.view_tabs import ViewTabs
from explorer.ui.views.selection import FROM, TO, Selection

if TYPE_CHECKING:
    from explorer.ui.image import ImagePage

DEBOUNCE_MS = 200  # typing pause before a re-run
_SEQUENCE_TITLES = {contract.SRC_IDS: "source", contract.TGT_IDS: "target"}


class Workspace(QWidget):
    result_shown = Signal(object)  # the RunResult now drawn
    message_changed = Signal(str)  # a notice or error for the status bar ("" clears it)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model: LoadedModel | None = None
        self.runner: Runner | None = None
        self.result: RunResult | None = None
        self.image_path: Path | None = None  # the image an image model last ran on
        self.edits: dict[str, TokenEdits] = {}  # per ids input: hidden keys and [MASK]s of the text shown
        self._baseline: tuple[tuple, RunResult] | None = None  # (text and edits, their run with every head kept)
        self.selection = Selection(self)
        self.runs = RunController(self)
        self.runs.result_ready.connect(self.show_result)
        self.runs.failed.connect(self.show_error)

        self.text_box = QPlainTextEdit()
        self.text_box.setPlaceholderText("Type a sentence…")
        self.text_box.setFixedHeight(self.text_box.fontMetrics().lineSpacing() * 3 + 14)
        self.text_box.textChanged.connect(self._schedule_run)
        self._debounce = QTimer(self)  # setters, not keywords: PySide6 6.12 miscounts references through those
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.request_run)

        self.output_label = QLabel()  # a seq2seq model's translation, a ViT's predicted class
        self.output_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output_label.setWordWrap(True)
        self.notice = QLabel()  # the run's notices, such as "input cut at 128 tokens"
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #a33;")
        self.outcome = OutcomePanel()  # [MASK] predictions, outputs before and after ablation
        self.decoder_panel = DecoderPanel()  # seq2seq: greedy decoding step by step
        self.decoder_panel.step_shown.connect(self._show_step)
        self.reset_heads_action = QAction("Reset heads", self)  # for the lead: also in the View menu
        self.reset_heads_action.setShortcut(QKeySequence("Ctrl+R"))
        self.reset_heads_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.reset_heads_action.triggered.connect(self.selection.reset_heads)
        self.addAction(self.reset_heads_action)
        self.outcome.reset_button.clicked.connect(self.selection.reset_heads)

        self.strips: dict[str, TokenStrip] = {}  # per ids input
        self._strip_box = QVBoxLayout()
        self._strip_box.setSpacing(0)

        self.views = ViewTabs(self.selection)
        self.state_message = QLabel()  # instead of the views: "drop an image", "type some text"
        self.state_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_message.setWordWrap(True)
        self.state_message.setStyleSheet("font-size: 15pt; color: palette(mid);")
        self._view_pages = QStackedWidget()
        self._view_pages.addWidget(self.views)
        self._view_pages.addWidget(self.state_message)

        layout = QVBoxLayout(self)
        layout.addWidget(self.text_box)
        layout.addWidget(self.output_label)
        layout.addWidget(self.decoder_panel)
        layout.addWidget(self.outcome)
        layout.addWidget(self.notice)
        layout.addLayout(self._strip_box)
        self._image_page: ImagePage | None = None  # built when first needed, at the left of the split
        self._image_split = QSplitter()
        self._image_split.addWidget(self._view_pages)
        layout.addWidget(self._image_split, 1)
        self.selection.changed.connect(self._sync_strips)
        self.selection.heads_changed.connect(self._on_heads_changed)

    @property
    def image_page(self) -> ImagePage:
        """A ViT's image, patches and maps, beside the views. Built the first time it is asked for
        (an image model opens): text models never pay for its modules and widgets."""
        if self._image_page is None:
            from explorer.ui.image import ImagePage

            page = ImagePage(self.selection, self.runs)
            page.message_changed.connect(self.message_changed)
            page.setVisible(False)  # until an image model opens
            self._image_split.insertWidget(0, page)
            self._image_split.setStretchFactor(0, 3)
            self._image_split.setStretchFactor(1, 2)
            self._image_page = page
        return self._image_page

    # -- the model ---------------------------------------------------------------------------
    def set_model(self, model: LoadedModel, text: str | None = None) -> None:
        """Show `model` and run it at once: on `text`, else on the text box's text where it suits
        the model, else on a sample. An image model runs on a sample image where one is installed."""
        self.runs.cancel()
        same_kind = self.model is not None and self.model.meta.kind == model.meta.kind
        if text is None and not (same_kind and self.text().strip()):
            text = sample_text(model.meta.kind)  # a fresh start, or another kind's text would make no sense
        self.model, self.runner, self.result = model, Runner(model), None
        self.edits, self._baseline = {}, None
        self.selection.set_stacks({})
        with QSignalBlocker(self.selection):  # the run below follows; no run for the reset masks
            self.selection.set_head_masks(HeadMasks(model.meta.stacks))
        self.outcome.clear()
        self.decoder_panel.setVisible(model.meta.kind == "seq2seq")
        self.decoder_panel.set_source(None)
        self._build_strips(model)
        is_text = model.meta.kind != "vit-classifier"
        self.text_box.setVisible(is_text)
        self.output_label.setVisible(model.meta.kind in ("seq2seq", "vit-classifier"))
        self.output_label.clear()
        self._set_notice("")
        if not is_text or self._image_page is not None:
            self.image_page.setVisible(not is_text)
            self.image_page.set_model(None if is_text else model, None if is_text else self.runner)
        if not is_text:
            samples = sample_images()
            if samples:
                self.image_page.set_samples(samples)
            else:
                self._show_state("This is an image model: drop an image on the window to see its attention.")
            return
        self.text_box.setPlaceholderText(
            "Type a sentence to translate…" if model.meta.kind == "seq2seq" else "Type a sentence…"
        )
        if text is not None:
            self.set_text(text)
        self.request_run()  # at once: no typing to wait for

    def _build_strips(self, model: LoadedModel) -> None:
        for strip in self.strips.values():
            self._strip_box.removeWidget(strip)
            strip.hide()  # at once: deleteLater waits for the event loop
            strip.deleteLater()
        self.strips = {}
        for ids_input, _ in model.meta.sequence_inputs:
            if ids_input == contract.PIXEL_VALUES:
                continue  # image patches: the views name them; no strip of 65 patch labels
            strip = TokenStrip(_SEQUENCE_TITLES.get(ids_input, "") if len(model.meta.sequence_inputs) > 1 else "")
            strip.token_clicked.connect(lambda index, name=ids_input: self.focus_token(name, index))
            strip.chosen_toggled.connect(lambda index, name=ids_input: self.focus_token(name, index, add=True))
            if ids_input != contract.TGT_IDS:  # the target is the model's own output: nothing to toggle
                strip.hide_toggled.connect(lambda index, name=ids_input: self.toggle_hidden(name, index))
                strip.mask_toggled.connect(lambda index, name=ids_input: self.toggle_masked(name, index))
                strip.can_mask = self.runner.mask_token() is not None
            self._strip_box.addWidget(strip)
            self.strips[ids_input] = strip

    # -- running ------------------------------------------------------------------------------
    def text(self) -> str:
        return self.text_box.toPlainText()

    def set_text(self, text: str) -> None:
        """Put `text` in the box without scheduling a run (as typing does): run it with request_run or run_now."""
        with QSignalBlocker(self.text_box):
            self.text_box.setPlainText(text)

    def _schedule_run(self) -> None:
        if self.runner is not None:
            self.edits = {}  # positions of another text: the toggles no longer mean the same tokens
            self._debounce.start()

    def request_run(self) -> None:
        """Run the model on the text box's text on the worker thread."""
        self._debounce.stop()
        if self.runner is None or self.model.meta.kind == "vit-classifier":
            return
        self.runs.request(self._text_job())

    def _text_job(self):
        """The run of the text as it stands: its edits and head masks, compared with every head kept."""
        runner, text, edits = self.runner, self.text(), dict(self.edits)
        masks = self.selection.head_masks
        head_masks = masks.feeds() if masks is not None else None
        key = (text, tuple(sorted(edits.items(), key=lambda item: item[0])))
        baseline = self._baseline[1] if self._baseline and self._baseline[0] == key else None
        return lambda: run_compared(runner, text, head_masks, edits, baseline)

    def toggle_hidden(self, ids_input: str, index: int) -> None:
        """Hide token `index` as a key (its attention mask 0), or show it again; runs at once."""
        self.edits[ids_input] = self.edits.get(ids_input, TokenEdits()).toggled_hidden(index)
        self.request_run()

    def toggle_masked(self, ids_input: str, index: int) -> None:
        """Replace token `index` by [MASK], or put it back; runs at once."""
        self.edits[ids_input] = self.edits.get(ids_input, TokenEdits()).toggled_masked(index)
        self.request_run()

    def _on_heads_changed(self) -> None:
        if self.model is not None and self.model.meta.kind == "vit-classifier":
            self.image_page.rerun_with_heads()
        else:
            self.request_run()

    def run_image(self, path: Path) -> None:
        """Run an image model on the image file at `path`."""
        self.open_images([path])

    def open_images(self, paths: list[Path]) -> bool:
        """Image files dropped, pasted or opened: the image page runs them, or says why it cannot."""
        if self.model is None or self.model.meta.kind != "vit-classifier":
            names = ", ".join(Path(p).name for p in paths)
            self.message_changed.emit(f"{names}: not a model (.onnx), and the open model takes no images.")
            return False
        self.image_path = Path(paths[0])
        return self.image_page.open_files(paths)

    def run_now(self) -> None:
        """Run on this thread and draw before returning: for --snapshot, benchmarks and tests."""
        self._debounce.stop()
        if self.runner is not None:
            self.runs.run_now(self._text_job())

    # -- showing ------------------------------------------------------------------------------
    def show_result(self, result: RunResult | ComparedRun) -> None:
        if isinstance(result, ComparedRun):  # a text run: its edits, head masks and baseline
            self._show_compared(result)
            result = result.result
        self.result = result
        for ids_input, strip in self.strips.items():
            strip.set_tokens(result.tokens.get(ids_input, ()), result.token_ids.get(ids_input))
            edits = self.edits.get(ids_input, TokenEdits())
            strip.set_marks(edits.hidden, edits.masked)
            strip.setVisible(True)
        self.output_label.setText(self._output_text(result))
        self._view_pages.setCurrentWidget(self.views)
        self.selection.set_stacks(result.stacks)
        self._set_notice(" ".join(result.notices))
        if self._image_page is not None:  # before result_shown: its followers read the page's current run
            self._image_page.show_result(result)
        self.result_shown.emit(result)

    def _show_compared(self, run: ComparedRun) -> None:
        key = (self.text(), tuple(sorted(self.edits.items(), key=lambda item: item[0])))
        self._baseline = (key, run.baseline or run.result)
        masks = self.selection.head_masks
        ablated = sum(len(masks.ablated(s)) for s in masks.shapes) if masks is not None else 0
        self.outcome.show_run(self.runner, run, ablated)
        if self.model.meta.kind == "seq2seq":
            runner, text, edits = self.runner, self.text(), dict(self.edits)
            head_masks = masks.feeds() if masks is not None else None
            self.decoder_panel.set_source(lambda: GreedyDecoder(runner, text, head_masks, edits))

    def _show_step(self, result: RunResult) -> None:
        """One step of step-by-step decoding: its attention in the views, the output so far above."""
        self.show_result(result)
        self.output_label.setText(f"<b>Output so far:</b> {self.decoder_panel.decoder.text()}")

    def _output_text(self, result: RunResult) -> str:
        """What the model made of the input: a seq2seq translation, a ViT's predicted class."""
        meta = self.model.meta
        if meta.kind == "seq2seq" and contract.TGT_IDS in result.token_ids:
            return f"<b>Output:</b> {self.runner.decode(contract.TGT_IDS, result.token_ids[contract.TGT_IDS])}"
        if meta.kind == "vit-classifier" and meta.labels:
            label = meta.labels[int(result.logits.argmax())]  # logits (classes,)
            return f"<b>Image:</b> {self.image_page.image_name()} — <b>predicted:</b> {label}"
        return ""

    def show_error(self, message: str) -> None:
        """A run failed or the text was empty: say so where the views were."""
        self.result = None
        for strip in self.strips.values():
            strip.set_tokens(())
            strip.setVisible(False)
        self.output_label.clear()
        self.outcome.clear()
        self.decoder_panel.set_source(None)
        self.selection.set_stacks({})
        self._set_notice("")
        self._show_state(message)
        self.message_changed.emit(message)

    def _show_state(self, message: str) -> None:
        self.state_message.setText(message)
        self._view_pages.setCurrentWidget(self.state_message)

    def showing_views(self) -> bool:
        return self._view_pages.currentWidget() is self.views

    def _set_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        self.message_changed.emit(text)

    # -- tokens and the selection -------------------------------------------------------------
    def focus_token(self, ids_input: str, index: int, add: bool = False) -> None:
        """Focus token `index` of sequence `ids_input` in the views: as a query where the
        shown stack's queries come from that sequence, else as a key. With `add` (Shift-click)
        the token joins or leaves the chosen set instead."""
        if self.model is None or self.selection.stack_name is None:
            return
        stacks = self.model.meta.stacks
        spec = stacks[self.selection.stack_name]
        if ids_input not in (spec.queries, spec.keys):  # e.g. a source token while the decoder is shown
            # an output token goes to the cross attention: which source tokens it looked at
            name = next((n for n, s in stacks.items() if s.queries == ids_input != s.keys), None) or next(
                n for n, s in stacks.items() if ids_input in (s.queries, s.keys))
            self.selection.set_stack(name)
            spec = stacks[name]
        focus = self.selection.toggle_token if add else self.selection.set_token
        if spec.queries == spec.keys:
            focus(index)
        else:
            focus(index, FROM if spec.queries == ids_input else TO)

    def _sync_strips(self) -> None:
        """Highlight the focused token in the strip of the sequence it belongs to."""
        name = self.selection.stack_name
        token = self.selection.token
        focused_input = None
        if self.model is not None and name is not None and token is not None:
            spec = self.model.meta.stacks[name]
            focused_input = spec.queries if self.selection.direction == FROM else spec.keys
        for ids_input, strip in self.strips.items():
            strip.set_current(token if ids_input == focused_input else None)
            strip.set_chosen(self.selection.chosen if ids_input == focused_input else frozenset())

    def shutdown(self) -> None:
        self._debounce.stop()
        self.runs.shutdown()

