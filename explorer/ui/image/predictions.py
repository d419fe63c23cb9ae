"""The top classes with their probabilities, and before/after columns while patches are hidden."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

Ranking = list[tuple[str, float]]  # (label, probability), most likely first
BAR = 80  # pixels of a probability of 1


def _table(title: str, rows: Ranking) -> str:
    cells = "".join(
        f"<tr><td>{escape(label)}</td><td align='right'>&nbsp;{p:.1%}&nbsp;</td>"
        f"<td><table cellspacing=0 cellpadding=0><tr><td bgcolor='#3b6fb6' width={max(1, round(p * BAR))} "
        f"height=10></td></tr></table></td></tr>"
        for label, p in rows
    )
    return f"<b>{escape(title)}</b><table cellspacing=2>{cells}</table>"


class Predictions(QLabel):
    """Holds the rankings it shows: `after` (this run) and `before` (no patch hidden), or before None."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.after: Ranking = []
        self.before: Ranking | None = None

    def set_rankings(self, after: Ranking, before: Ranking | None = None) -> None:
        self.after, self.before = after, before
        if before is None:
            self.setText(_table("Top predictions", after))
        else:
            self.setText(_table("Before hiding", before) + "<br>" + _table("With patches hidden", after))
