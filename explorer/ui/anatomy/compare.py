"""Two inputs side by side: the shown head's attention for each, and their signed difference
(first - second) on a diverging colour map centred on zero."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from explorer.core.compare import Comparison, ShapeMismatchError, check_same_length, compare
from explorer.ui.anatomy.heatmaps import HeatmapGrid
from explorer.ui.run_controller import RunController
from explorer.ui.views.selection import Selection

SECOND_TEXT = "The dog sat on the rug because it was tired."


class ComparePanel(QWidget):
    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection
        self.runner = None
        self.first = None  # the workspace's RunResult
        self.second = None  # the second input's RunResult
        self.comparison: Comparison | None = None
        self.runs = RunController(self)
        self.runs.result_ready.connect(self.set_second)
        self.runs.failed.connect(self._failed)
        self.text = QLineEdit(SECOND_TEXT)
        self.text.setPlaceholderText("A second input to compare with the first…")
        self.text.returnPressed.connect(self.run_second)
        button = QPushButton("Compare")
        button.clicked.connect(self.run_second)
        row = QHBoxLayout()
        row.addWidget(QLabel("Second input:"))
        row.addWidget(self.text, 1)
        row.addWidget(button)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.grid = HeatmapGrid()
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.grid, 1)

    def set_runner(self, runner) -> None:
        self.runs.cancel()
        self.runner, self.second = runner, None
        text_model = runner is not None and runner.kind != "vit-classifier"
        self.text.setEnabled(text_model)
        if not text_model:
            self.message.setText("Comparing two inputs works for text models.")

    def set_first(self, result) -> None:
        self.first = result

    def run_second(self) -> None:
        if self.runner is None or self.runner.kind == "vit-classifier":
            return
        runner, text = self.runner, self.text.text()
        self.runs.request(lambda: runner.run_text(text))

    def set_second(self, result) -> None:
        self.second = result
        self.redraw()

    def _failed(self, message: str) -> None:
        self.second = None
        self.grid.clear()
        self.message.setText(message)

    def redraw(self) -> None:
        self.grid.clear()
        self.comparison = None
        stack = self.selection.stack
        if self.first is None or stack is None:
            self.message.setText("Run the model to compare.")
            return
        if self.second is None:
            self.message.setText("Type a second input and press Compare.")
            return
        other = self.second.stacks.get(stack.name)
        try:
            check_same_length(len(stack.query_tokens), len(other.query_tokens))
            check_same_length(len(stack.key_tokens), len(other.key_tokens))
            self.comparison = compare(self.selection.matrix(), other.head(self.selection.layer, self.selection.head))
        except ShapeMismatchError as exc:
            self.message.setText(str(exc))
            return
        head = "mean of heads" if self.selection.head is None else f"head {self.selection.head}"
        self.message.setText(
            f"{stack.name} · layer {self.selection.layer} · {head}. Difference = first − second; "
            f"colours centred on zero, ±{self.comparison.limit:.3g}."
        )
        c, high = self.comparison, max(float(self.comparison.first.max()), float(self.comparison.second.max()))
        self.grid.add("first", c.first, 0, 0, stack.query_tokens, stack.key_tokens, levels=(0.0, high),
                      show_rows=True)
        self.grid.add("second", c.second, 0, 1, other.query_tokens, other.key_tokens, levels=(0.0, high),
                      show_rows=True)
        self.grid.add("first − second", c.difference, 0, 2, stack.query_tokens, stack.key_tokens, signed=True,
                      levels=c.levels)

    def shutdown(self) -> None:
        self.runs.shutdown()
