"""Head statistics: a sortable table of every head, the head-type rules beside it, CSV export.

Clicking a row opens that head in every view (through the shared Selection). The figures are
over the current input, or averaged over the sample sentences in explorer/assets/samples/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from explorer.core.assets import SAMPLE_SENTENCES, sample_sentences
from explorer.core.head_stats import (
    COLUMNS,
    HEAD_TYPE_RULES,
    HeadStats,
    end_tokens_of,
    mean_head_stats,
    repeated_tokens_run,
    result_head_stats,
)
from explorer.core.long_path import needs_every_row
from explorer.core.state.app_state import AppState

CURRENT, BATCH, REPEATED = "current input", "sample batch", "repeated random tokens"
HEADERS = ("layer", "head", *COLUMNS, "types")
SORT_ROLE = Qt.ItemDataRole.UserRole  # the raw number, so that 10 sorts after 9


class HeadStatsModel(QAbstractTableModel):
    """The rows of one HeadStats: layer, head, the figures, the types."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.stats: HeadStats | None = None
        self._rows: list[dict] = []

    def set_stats(self, stats: HeadStats | None) -> None:
        self.beginResetModel()
        self.stats = stats
        self._rows = stats.rows() if stats is not None else []
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 - Qt's name
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 - Qt's name
        return 0 if parent is not None and parent.isValid() else len(HEADERS)

    def head_at(self, row: int) -> tuple[int, int]:
        return self._rows[row]["layer"], self._rows[row]["head"]

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        value = self._rows[index.row()][HEADERS[index.column()]]
        if role == SORT_ROLE:
            return -np.inf if isinstance(value, float) and np.isnan(value) else value
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, float):
                return "–" if np.isnan(value) else f"{value:.3f}"
            return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and HEADERS[index.column()] != "types":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt's name
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS.get(HEADERS[section])
        return None


def rules_text() -> str:
    items = "".join(f"<li><b>{name}</b>: {rule}</li>" for name, rule in HEAD_TYPE_RULES.items())
    return f"<b>Head types</b> (the <i>types</i> column)<ul style='margin-left: 12px'>{items}</ul>"


class HeadTablePanel(QWidget):
    """The table of the selected stack's heads, over the current input or the sample batch."""

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection = state.selection
        self.runner = None
        self.end_tokens: frozenset[str] = frozenset()
        self.current: dict[str, HeadStats] = {}  # per stack, for the current input
        self.batch: dict[str, HeadStats] | None = None  # per stack, averaged over the samples
        self.repeated: dict[str, HeadStats] | None = None  # per stack, on 2 x 50 repeated random tokens
        self.runs = state.new_lane("head-stats")
        self.runs.result_ready.connect(self._probe_ready)
        self.runs.failed.connect(lambda message: self.status.setText(message))

        self.source = QComboBox()
        self.source.addItems([CURRENT, BATCH])
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # items come and go
        self.source.setToolTip(
            f"Statistics of the current input, averaged over the sentences in {SAMPLE_SENTENCES.name}, or (a "
            "decoder) on 50 random tokens repeated: the induction and duplicate-token scores")
        self.source.currentTextChanged.connect(self._on_source)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self.export_dialog)
        self.status = QLabel()
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Over:"))
        controls.addWidget(self.source)
        controls.addWidget(self.status, 1)
        controls.addWidget(self.export_button)

        self.model = HeadStatsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the model's order until a header is clicked
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.clicked.connect(self._on_clicked)

        self.rules = QLabel(rules_text())
        self.rules.setWordWrap(True)
        self.rules.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.rules.setMaximumWidth(260)
        body = QHBoxLayout()
        body.addWidget(self.table, 1)
        body.addWidget(self.rules)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(body, 1)
        selection.stacks_changed.connect(self._show)

    # -- data ----------------------------------------------------------------------------
    def set_runner(self, runner, special_tokens: dict[str, str]) -> None:
        """A new model: forget the batch figures, which belong to the old one."""
        self.runs.cancel()
        self.runner, self.end_tokens, self.batch, self.repeated = runner, end_tokens_of(special_tokens), None, None
        has_probe = runner is not None and runner.kind.predicts_next
        if has_probe and self.source.findText(REPEATED) < 0:
            self.source.addItem(REPEATED)
        elif not has_probe and self.source.findText(REPEATED) >= 0:
            self.source.removeItem(self.source.findText(REPEATED))  # back to the current input, if shown
        if self.source.currentText() == BATCH:
            self.run_batch()
        elif self.source.currentText() == REPEATED:
            self.run_repeated()

    def set_result(self, result) -> None:
        self.current = result_head_stats(result.stacks, self.end_tokens) if result is not None else {}
        long = next((s for s in (result.stacks.values() if result is not None else ()) if not s.complete), None)
        if long is not None:
            self.status.setText(needs_every_row("The head table of this input", long))
        self._show()

    def run_batch(self) -> None:
        """Run the sample sentences off the GUI thread and average their statistics."""
        sentences, runner, ends = sample_sentences(), self.runner, self.end_tokens
        if runner is None or not sentences or runner.kind.takes_images:
            self.status.setText("No sample batch for this model." if runner is not None else "")
            return
        self.status.setText(f"Running {len(sentences)} sample sentences…")

        def job() -> dict[str, HeadStats]:
            results = [runner.run_text(s) for s in sentences]
            per_input = [result_head_stats(r.stacks, ends) for r in results]
            return {
                name: mean_head_stats([s[name] for s in per_input], [len(r.stacks[name].key_tokens) for r in results])
                for name in per_input[0]
            }

        self.runs.request(lambda: (BATCH, job()))

    def run_repeated(self) -> None:
        """A decoder on 50 random tokens, then the same 50 again: what induction heads complete."""
        runner = self.runner
        if runner is None:
            return
        self.status.setText("Running repeated random tokens…")
        self.runs.request(lambda: (REPEATED, repeated_tokens_run(runner)))

    def _probe_ready(self, answer) -> None:
        source, figures = answer
        if source == BATCH:
            self.batch = figures
            self.status.setText(f"Averaged over {len(sample_sentences())} sample sentences.")
        else:
            self.repeated, span = figures
            self.status.setText(f"On {span} random tokens repeated once (seed 0).")
        self._show()

    def _on_source(self, source: str) -> None:
        if source == BATCH and self.batch is None:
            self.run_batch()
        elif source == REPEATED and self.repeated is None:
            self.run_repeated()
        elif source == CURRENT:
            self.status.setText("")
        self._show()

    def shown_stats(self) -> HeadStats | None:
        source = self.source.currentText()
        figures = self.batch if source == BATCH else self.repeated if source == REPEATED else self.current
        return (figures or {}).get(self.selection.stack_name)

    def _show(self) -> None:
        self.model.set_stats(self.shown_stats())

    # -- actions --------------------------------------------------------------------------
    def _on_clicked(self, index: QModelIndex) -> None:
        layer, head = self.model.head_at(self.proxy.mapToSource(index).row())
        self.selection.open_head(layer, head)

    def export_csv(self, path: str | Path) -> None:
        stats = self.shown_stats()
        if stats is not None:
            Path(path).write_text(stats.to_csv(), encoding="utf-8")

    def export_dialog(self) -> None:
        if self.shown_stats() is None:
            return
        name = f"head_stats_{self.selection.stack_name}.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export head statistics", name, "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def shutdown(self) -> None:
        self.runs.cancel()
