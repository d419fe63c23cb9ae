"""A decoder LM's next token: the top 5 after the last token, and after the token a person focuses
(with how likely the token that really came next was), under temperature, top-k and top-p; and
whether generating takes the most likely token or samples one with a seed."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from explorer.core.predictions import NextTokens, Sampling
from explorer.core.state.app_state import AppState
from explorer.core.state.selection import FROM


def next_tokens_text(prediction: NextTokens, tokens: tuple[str, ...]) -> str:
    """One line: "after 'the' (4): cat 0.31 · dog 0.12 …; next was 'sat' at 0.05"."""
    best = " · ".join(f"{html.escape(t)} {p:.3f}" for t, p in zip(prediction.tokens, prediction.probabilities,
                                                                    strict=True))
    line = f"<b>after {html.escape(repr(tokens[prediction.position]))} ({prediction.position}):</b> {best}"
    if prediction.actual is not None:
        token, probability = prediction.actual
        line += f"; <i>next was {html.escape(repr(token))} at {probability:.3f}</i>"
    return line


class NextTokenPanel(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.05, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(state.sampling.temperature)
        self.temperature.setToolTip("Logits are divided by the temperature: below 1 sharpens, above 1 flattens")
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 1_000_000)
        self.top_k.setSpecialValueText("all")  # 0
        self.top_k.setToolTip("Keep only the k most likely tokens (all: no cut)")
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(state.sampling.top_p)
        self.top_p.setToolTip("Keep the fewest most likely tokens whose probabilities reach p (1: no cut)")
        self.sample = QCheckBox("sample")
        self.sample.setToolTip("Generating: draw each token from this distribution (off: take the most likely)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("The same seed draws the same text")
        for box in (self.temperature, self.top_k, self.top_p, self.seed):
            box.valueChanged.connect(self._on_controls)
        self.sample.toggled.connect(self._on_controls)
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        for label, box in (("temperature", self.temperature), ("top-k", self.top_k), ("top-p", self.top_p)):
            controls.addWidget(QLabel(label))
            controls.addWidget(box)
        controls.addWidget(self.sample)
        controls.addWidget(QLabel("seed"))
        controls.addWidget(self.seed)
        controls.addStretch(1)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setWordWrap(True)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(controls)
        column.addWidget(self.text)
        self.lines: list[NextTokens] = []  # what is shown: the last position, then the focused token's
        for event in (state.shown_changed, state.sampling_changed, state.model_changed, state.selection.changed):
            event.connect(lambda *_: self.refresh())
        self.refresh()

    def _on_controls(self) -> None:
        self.state.set_sampling(Sampling(self.temperature.value(), self.top_k.value(), self.top_p.value(),
                                         greedy=not self.sample.isChecked(), seed=self.seed.value()))

    def refresh(self) -> None:
        last = self.state.next_tokens()
        self.setVisible(last is not None)
        if last is None:
            self.lines = []
            return
        self.lines = [last]
        selection = self.state.selection
        if selection.token is not None and selection.direction == FROM and selection.token != last.position:
            focused = self.state.next_tokens(selection.token)
            if focused is not None:
                self.lines.append(focused)
        tokens = self.state.shown.tokens[self.state.model.meta.sequence_inputs[0][0]]
        self.text.setText("<br>".join(next_tokens_text(line, tokens) for line in self.lines))
