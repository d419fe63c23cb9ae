"""The page of an open model: the text box, the tokens the model sees, and the attention views.

It draws the state model (explorer.core.state.app_state.AppState) and forwards a person's actions
to it: typing sets the text and, after a short pause, asks for a run; token toggles (hidden keys,
[MASK]) run at once; the newest run's result feeds the shared Selection, which every view and
token strip follows. What the parts show and which apply come from the open model's Kind.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from explorer import contract
from explorer.core.assets import sample_images
from explorer.core.masking import TokenEdits
from explorer.core.model import LoadedModel
from explorer.core.result import RunResult
from explorer.core.state.app_state import AppState
from explorer.core.state.runs import Run
from explorer.ui.decoder_panel import DecoderPanel
from explorer.ui.next_tokens import NextTokenPanel
from explorer.ui.predictions import OutcomePanel
from explorer.ui.run_controller import RunController
from explorer.ui.token_strip import TokenStrip
from explorer.ui.view_tabs import ViewTabs

if TYPE_CHECKING:
    from explorer.ui.audio import AudioPage
    from explorer.ui.image import ImagePage

DEBOUNCE_MS = 200  # typing pause before a re-run
_SEQUENCE_TITLES = {contract.SRC_IDS: "source", contract.TGT_IDS: "target"}


def output_html(pairs: tuple[tuple[str, str], ...]) -> str:
    """(label, text) pairs as one line: "<b>Output:</b> 2026-11-27"."""
    return " — ".join(f"<b>{html.escape(label)}:</b> {html.escape(text)}" for label, text in pairs)


class Workspace(QWidget):
    result_shown = Signal(object)  # the RunResult now drawn
    message_changed = Signal(str)  # a notice or error for the status bar ("" clears it)

    def __init__(
        self, state: AppState | None = None, controller: RunController | None = None, parent: QWidget | None = None
    ):
        """`state` and the `controller` whose worker thread its lanes run on: the window's; without
        them the workspace makes its own."""
        super().__init__(parent)
        if state is None:
            controller = RunController(self)
            state = AppState(lanes=controller.lane)
        self._controller = controller
        self.state = state
        state.model_changed.connect(self._on_model)
        state.run_changed.connect(self._on_run)
        state.shown_changed.connect(self._on_shown)
        state.run_failed.connect(self.show_error)
        state.cancelled.connect(self._on_cancelled)
        state.decoding_changed.connect(self._on_decoding)

        self.text_box = QPlainTextEdit()
        self.text_box.setPlaceholderText("Type a sentence…")
        self.text_box.setFixedHeight(self.text_box.fontMetrics().lineSpacing() * 3 + 14)
        self.text_box.textChanged.connect(self._on_typed)
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
        self.decoder_panel = DecoderPanel(state)  # seq2seq: greedy decoding step by step
        self.next_tokens = NextTokenPanel(state)  # a decoder LM: the next token's distribution
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
        layout.addWidget(self.next_tokens)
        layout.addWidget(self.notice)
        layout.addLayout(self._strip_box)
        self._audio_box = QVBoxLayout()  # a speech model's recording, above the views
        layout.addLayout(self._audio_box)
        self._audio_page: AudioPage | None = None  # built when first needed
        self._image_page: ImagePage | None = None  # built when first needed, at the left of the split
        self._image_split = QSplitter()
        self._image_split.addWidget(self._view_pages)
        layout.addWidget(self._image_split, 1)
        self.selection.changed.connect(self._sync_strips)

    # -- what the state holds, by the names the window and scripts use --------------------------
    @property
    def selection(self):
        return self.state.selection

    @property
    def model(self) -> LoadedModel | None:
        return self.state.model

    @property
    def runner(self):
        return self.state.runner

    @property
    def result(self) -> RunResult | None:
        """The result the views draw (None after a failed run)."""
        return self.state.shown

    @property
    def edits(self) -> dict[str, TokenEdits]:
        return self.state.edits

    @property
    def runs(self):
        """The lane the runs of the inputs go through (busy, result_ready)."""
        return self.state.runs

    @property
    def image_page(self) -> ImagePage:
        """A ViT's image, patches and maps, beside the views. Built the first time it is asked for
        (an image model opens): text models never pay for its modules and widgets."""
        if self._image_page is None:
            from explorer.ui.image import ImagePage

            page = ImagePage(self.state)
            page.message_changed.connect(self.message_changed)
            page.setVisible(False)  # until an image model opens
            self._image_split.insertWidget(0, page)
            self._image_split.setStretchFactor(0, 3)
            self._image_split.setStretchFactor(1, 2)
            self._image_page = page
        return self._image_page

    @property
    def audio_page(self) -> AudioPage:
        """A speech model's waveform, spectrogram and attention over time, above the views; built the
        first time a speech model opens."""
        if self._audio_page is None:
            from explorer.ui.audio import AudioPage

            page = AudioPage(self.state)
            page.message_changed.connect(self.message_changed)
            page.setVisible(False)
            self._audio_box.addWidget(page)
            self._audio_page = page
        return self._audio_page

    # -- the model ---------------------------------------------------------------------------
    def set_model(self, model: LoadedModel, text: str | None = None) -> None:
        """Show `model` and run it (see AppState.set_model)."""
        self._debounce.stop()
        self.state.set_model(model, text)

    def _on_model(self, model: LoadedModel) -> None:
        kind = self.state.kind
        self.outcome.clear()
        self._build_strips(model)
        self.text_box.setVisible(not (kind.takes_images or kind.takes_audio))
        self.text_box.setPlaceholderText(kind.placeholder)
        self._put_text(self.state.text)
        self.output_label.setVisible(kind.shows_output)
        self.output_label.clear()
        self._set_notice("")
        if kind.takes_images or self._image_page is not None:
            self.image_page.setVisible(kind.takes_images)
            self.image_page.reset()
        if kind.takes_audio or self._audio_page is not None:
            self.audio_page.setVisible(kind.takes_audio)
            self.audio_page.reset()
        if kind.takes_images:
            samples = sample_images()
            if samples:
                self.image_page.set_samples(samples)  # runs the first
            else:
                self._show_state(kind.empty_hint)
        elif kind.takes_audio:
            self._show_state(kind.empty_hint)

    def _build_strips(self, model: LoadedModel) -> None:
        for strip in self.strips.values():
            self._strip_box.removeWidget(strip)
            strip.hide()  # at once: deleteLater waits for the event loop
            strip.deleteLater()
        self.strips = {}
        kind = self.state.kind
        if kind.takes_images:
            return  # image patches: the views name them; no strip of 65 patch labels
        sequences = model.meta.sequence_inputs
        for ids_input, _ in sequences:
            if ids_input == contract.INPUT_FEATURES:
                continue  # a recording's positions: the audio page draws them along its time axis
            strip = TokenStrip(_SEQUENCE_TITLES.get(ids_input, "") if len(sequences) > 1 else "")
            strip.token_clicked.connect(lambda index, name=ids_input: self.focus_token(name, index))
            strip.chosen_toggled.connect(lambda index, name=ids_input: self.focus_token(name, index, add=True))
            if kind.editable(ids_input):
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
        self._put_text(text)
        self.state.set_text(text)

    def _put_text(self, text: str) -> None:
        if self.text_box.toPlainText() != text:
            with QSignalBlocker(self.text_box):
                self.text_box.setPlainText(text)

    def _on_typed(self) -> None:
        self.state.set_text(self.text())  # a new text: the toggles no longer mean the same tokens
        if self.state.model is not None:
            self._debounce.start()

    def request_run(self) -> None:
        """Run the model on the text box's text on the worker thread."""
        self._debounce.stop()
        self.state.request_run()

    def run_now(self) -> None:
        """Run on this thread and draw before returning: for --snapshot, benchmarks and tests."""
        self._debounce.stop()
        self.state.run_now()

    def toggle_hidden(self, ids_input: str, index: int) -> None:
        """Hide token `index` as a key (its attention mask 0), or show it again; runs at once."""
        self.state.toggle_hidden(ids_input, index)

    def toggle_masked(self, ids_input: str, index: int) -> None:
        """Replace token `index` by [MASK], or put it back; runs at once."""
        self.state.toggle_masked(ids_input, index)

    def run_image(self, path: Path) -> None:
        """Run an image model on the image file at `path`."""
        self.open_images([path])

    def open_files(self, paths: list[Path]) -> bool:
        """Files other than models, dropped or opened: the open model's image or audio page runs them."""
        if self.state.kind is not None and self.state.kind.takes_audio:
            return self.audio_page.open_files(paths)
        return self.open_images(paths)

    def open_images(self, paths: list[Path]) -> bool:
        """Image files dropped, pasted or opened: the image page runs them, or says why it cannot."""
        if self.state.kind is None or not self.state.kind.takes_images:
            names = ", ".join(Path(p).name for p in paths)
            self.message_changed.emit(f"{names}: not a model (.onnx), and the open model takes no images.")
            return False
        return self.image_page.open_files(paths)

    # -- showing ------------------------------------------------------------------------------
    def _on_run(self, run: Run) -> None:
        masks = self.selection.head_masks
        ablated = sum(len(masks.ablated(s)) for s in masks.shapes) if masks is not None else 0
        self.outcome.show_outcome(run.outcome, ablated)

    def _on_shown(self, result: RunResult) -> None:
        for ids_input, strip in self.strips.items():
            strip.set_tokens(result.tokens.get(ids_input, ()), result.token_ids.get(ids_input))
            edits = self.state.edits.get(ids_input, TokenEdits())
            strip.set_marks(edits.hidden, edits.masked)
            decoder = self.state.decoder
            stepping = decoder is not None and decoder.steps and decoder.ids_input == ids_input
            strip.set_generated(decoder.new_from if stepping else None)
            strip.setVisible(True)
        self._sync_strips()
        self.output_label.setText(output_html(self.state.output()))
        self._view_pages.setCurrentWidget(self.views)
        self._set_notice(" ".join(result.notices))
        self.result_shown.emit(result)

    def _on_decoding(self) -> None:
        self.output_label.setText(output_html(self.state.output()))

    def show_error(self, message: str) -> None:
        """A run failed or the text was empty: say so where the views were."""
        for strip in self.strips.values():
            strip.set_tokens(())
            strip.setVisible(False)
        self.output_label.clear()
        self.outcome.clear()
        self._set_notice("")
        self._show_state(message)
        self.message_changed.emit(message)

    def _on_cancelled(self, _message: str) -> None:
        """The views keep the last run drawn; with none, say why there is nothing where they would be."""
        if self.state.model is not None and self.state.shown is None:
            self._show_state("The run was cancelled: change the input to run it again.")

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
        """Focus token `index` of sequence `ids_input` in the views (see AppState.focus_token)."""
        self.state.focus_token(ids_input, index, add)

    def _sync_strips(self) -> None:
        """Highlight the focused token in the strip of the sequence it belongs to."""
        focused = self.state.focused_input()
        token, chosen = self.selection.token, self.selection.chosen
        for ids_input, strip in self.strips.items():
            strip.set_current(token if ids_input == focused else None)
            strip.set_chosen(chosen if ids_input == focused else frozenset())

    def shutdown(self) -> None:
        self._debounce.stop()
        if self._controller is not None:
            self._controller.shutdown()
