"""Decoding step by step: Back, Next, Run to end, the output growing token by token (a seq2seq
model's translation, a decoder LM's continuation of its prompt). Each step's run goes to the views
through the state model: a seq2seq decoder's and cross attention's last row is what the model looked
at when it chose the newest token; a decoder LM's last row is the newest token's attention over all
before it."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from explorer.core.decoding import Stepper
from explorer.core.state.app_state import AppState

SHORTCUTS = {"back": "Ctrl+Left", "next": "Ctrl+Right", "end": "Ctrl+End"}


SHOWN_PROMPT_TOKENS = 6


class DecoderPanel(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.back_button = QPushButton("◀ Back")
        self.next_button = QPushButton("Next ▶")
        self.end_button = QPushButton("Run to end ▶▶")
        self.output = QLabel()
        self.output.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long prompt's line is cut at the panel's edge rather than widening the window.
        self.output.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("<b>Decode step by step:</b>")
        layout.addWidget(self.title)
        for name, button, action in (("back", self.back_button, state.step_back),
                                     ("next", self.next_button, state.step_next),
                                     ("end", self.end_button, state.step_to_end)):
            button.clicked.connect(action)
            button.setToolTip(SHORTCUTS[name])
            shortcut = QShortcut(QKeySequence(SHORTCUTS[name]), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(action)
            layout.addWidget(button)
        layout.addWidget(self.output, 1)
        state.model_changed.connect(self._on_model)
        state.run_changed.connect(lambda _: self.output.setText(""))  # a new input: no step taken yet
        state.run_failed.connect(lambda _: self.output.setText(""))
        state.decoding_changed.connect(self._show)
        self.setVisible(False)

    def _on_model(self, _model) -> None:
        self.setVisible(self.state.kind.steps)
        self.title.setText("<b>Generate step by step:</b>" if self.state.kind.predicts_next
                           else "<b>Decode step by step:</b>")

    @property
    def decoder(self) -> Stepper | None:
        return self.state.decoder

    def _show(self) -> None:
        decoder = self.state.decoder
        if decoder is None:  # started again (a decoder LM's sampling changed)
            self.output.setText("")
            return
        steps = len(decoder.steps)
        status = " (done)" if decoder.done else ""
        tokens = [html.escape(t) for t in decoder.tokens()]
        given, made = tokens[:decoder.new_from], tokens[decoder.new_from:]
        if len(given) > SHOWN_PROMPT_TOKENS:  # the prompt's end is what the new tokens follow
            given = ["…", *given[-SHOWN_PROMPT_TOKENS:]]
        if steps:  # the model's tokens in blue, the newest in red
            made = [f"<span style='color:#1f77b4'>{t}</span>" for t in made[:-1]] + [
                f"<b style='color:#d62728'>{made[-1]}</b>"]
        self.output.setText(f"step {steps}{status}: {' '.join(given + made)} → “{html.escape(decoder.text())}”")
        self.output.setToolTip(html.escape(decoder.text()))
