"""Greedy decoding step by step for a seq2seq model: Back, Next, Run to end, the output growing
token by token. Each step's run goes to the views: the decoder's and cross attention's last
row is what the model looked at when it chose the newest token."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from explorer import contract
from explorer.core.decoding import GreedyDecoder
from explorer.core.result import RunResult

SHORTCUTS = {"back": "Ctrl+Left", "next": "Ctrl+Right", "end": "Ctrl+End"}


class DecoderPanel(QWidget):
    step_shown = Signal(object)  # the RunResult of the step now shown

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.decoder: GreedyDecoder | None = None
        self._start: Callable[[], GreedyDecoder] | None = None  # a fresh decoder for the current input
        self.back_button = QPushButton("◀ Back")
        self.next_button = QPushButton("Next ▶")
        self.end_button = QPushButton("Run to end ▶▶")
        self.output = QLabel()
        self.output.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Decode step by step:</b>"))
        for name, button, action in (("back", self.back_button, self.back), ("next", self.next_button, self.next),
                                     ("end", self.end_button, self.run_to_end)):
            button.clicked.connect(action)
            button.setToolTip(SHORTCUTS[name])
            shortcut = QShortcut(QKeySequence(SHORTCUTS[name]), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(action)
            layout.addWidget(button)
        layout.addWidget(self.output, 1)

    def set_source(self, start: Callable[[], GreedyDecoder] | None) -> None:
        """A new input (or head masks): forget the steps; `start` makes a decoder when a button is pressed."""
        self._start, self.decoder = start, None
        self.output.setText("")

    def _ensure(self) -> GreedyDecoder | None:
        if self.decoder is None and self._start is not None:
            self.decoder = self._start()
        return self.decoder

    def next(self) -> None:
        if self._ensure() is not None and self.decoder.next() is not None:
            self._show()

    def back(self) -> None:
        decoder = self.decoder
        if decoder is None:  # from the whole translation, one step back
            decoder = self._ensure()
            if decoder is None:
                return
            decoder.run_to_end()
        decoder.back()
        self._show()

    def run_to_end(self) -> None:
        if self._ensure() is not None:
            self.decoder.run_to_end()
            self._show()

    def _show(self) -> None:
        decoder = self.decoder
        steps = len(decoder.steps)
        status = " (done)" if decoder.done else ""
        tokens = [decoder.runner.encoders[contract.TGT_IDS].id_to_token(i) for i in decoder.target]
        shown = " ".join(html.escape(t) for t in tokens[:-1])
        newest = f" <b style='color:#d62728'>{html.escape(tokens[-1])}</b>" if steps else html.escape(tokens[-1])
        self.output.setText(f"step {steps}{status}: {shown}{newest} → “{html.escape(decoder.text())}”")
        if decoder.current is not None:
            self.step_shown.emit(decoder.current)

    def current(self) -> RunResult | None:
        return None if self.decoder is None else self.decoder.current
