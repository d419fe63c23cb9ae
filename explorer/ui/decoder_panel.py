"""Decoding step by step (seq2seq): Back, Next, Run to end, the output growing token by token.
Each step's run goes to the views through the state model: the decoder's and cross attention's
last row is what the model looked at when it chose the newest token."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from explorer import contract
from explorer.core.decoding import GreedyDecoder
from explorer.core.state.app_state import AppState

SHORTCUTS = {"back": "Ctrl+Left", "next": "Ctrl+Right", "end": "Ctrl+End"}


class DecoderPanel(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.back_button = QPushButton("◀ Back")
        self.next_button = QPushButton("Next ▶")
        self.end_button = QPushButton("Run to end ▶▶")
        self.output = QLabel()
        self.output.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Decode step by step:</b>"))
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
        state.model_changed.connect(lambda _: self.setVisible(state.kind.steps))
        state.run_changed.connect(lambda _: self.output.setText(""))  # a new input: no step taken yet
        state.run_failed.connect(lambda _: self.output.setText(""))
        state.decoding_changed.connect(self._show)
        self.setVisible(False)

    @property
    def decoder(self) -> GreedyDecoder | None:
        return self.state.decoder

    def _show(self) -> None:
        decoder = self.state.decoder
        steps = len(decoder.steps)
        status = " (done)" if decoder.done else ""
        tokens = [decoder.runner.encoders[contract.TGT_IDS].id_to_token(i) for i in decoder.target]
        shown = " ".join(html.escape(t) for t in tokens[:-1])
        newest = f" <b style='color:#d62728'>{html.escape(tokens[-1])}</b>" if steps else html.escape(tokens[-1])
        self.output.setText(f"step {steps}{status}: {shown}{newest} → “{html.escape(decoder.text())}”")
