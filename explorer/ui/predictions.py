"""What the model made of the input, and what ablating heads changed: the top-k at each [MASK],
a seq2seq model's output, before and after, and the action that keeps every head again."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from explorer.core.predictions import MaskPrediction
from explorer.core.state.runs import Outcome


def prediction_text(prediction: MaskPrediction) -> str:
    return " · ".join(f"{html.escape(t)} {p:.2f}" for t, p in zip(prediction.tokens, prediction.probabilities,
                                                                    strict=True))


class OutcomePanel(QWidget):
    """One line per [MASK] (top 5, with the unablated top 5 under it), the output before and after
    ablation, and a Reset heads button while any head is ablated."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setWordWrap(True)
        self.reset_button = QPushButton("Reset heads")
        self.reset_button.setToolTip("Keep every head again (Ctrl+R)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignTop)
        self.predictions: list[MaskPrediction] = []  # at each [MASK] of the run shown
        self.baseline_predictions: list[MaskPrediction] = []  # the same with every head kept
        self.setVisible(False)

    def show_outcome(self, outcome: Outcome, ablated_heads: int) -> None:
        """A run's outcome (explorer.core.state.runs.Outcome) with `ablated_heads` heads ablated."""
        self.predictions = list(outcome.predictions)
        self.baseline_predictions = list(outcome.baseline_predictions)
        lines = []
        for i, prediction in enumerate(self.predictions):
            lines.append(f"<b>[MASK] at {prediction.position}:</b> {prediction_text(prediction)}")
            if i < len(self.baseline_predictions):
                lines.append(f"&nbsp;&nbsp;<i>all heads kept:</i> {prediction_text(self.baseline_predictions[i])}")
        if outcome.baseline_output is not None:
            lines.append(f"<i>output with all heads kept:</i> {html.escape(outcome.baseline_output)}")
        if ablated_heads:
            lines.insert(0, f"<b>{ablated_heads} head{'s' if ablated_heads > 1 else ''} ablated</b>")
        self.text.setText("<br>".join(lines))
        self.reset_button.setVisible(bool(ablated_heads))
        self.setVisible(bool(lines))

    def clear(self) -> None:
        self.predictions, self.baseline_predictions = [], []
        self.setVisible(False)
