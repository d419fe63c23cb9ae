"""What the open model is: what it shows, kind, stacks, size, the provider really running it, the
figures it reached, where it came from; the raw metadata behind a Details toggle."""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFormLayout, QLabel, QPlainTextEdit, QScrollArea, QToolButton, QVBoxLayout, QWidget

from explorer.contract import ModelMetadata
from explorer.core.model import LoadedModel

# The provenance entries that are already sentences a person reads, with the label shown for
# each; the rest (settings, per-runtime figures) is in the details.
ABOUT = {"source": "Source", "task": "Task", "data": "Data", "tokenizer": "Tokenizer",
         "architecture": "Architecture", "config": "Model type", "path": "Imported from", "note": "Note"}


FIGURES = "Figures"


def describe(model: LoadedModel) -> dict[str, dict[str, str]]:
    """The panel's sections ("Model", "Figures", "Where it came from"), each label -> text, in
    the order shown; empty sections are left out."""
    meta = model.meta
    rows = {"Shows": meta.description} if meta.description else {}
    rows |= {
        "Name": model.name,
        "File": str(model.path),
        "Kind": meta.kind,
        "Stacks": "\n".join(
            f"{name}: {spec.layers} layers × {spec.heads} heads{' (causal)' if spec.causal else ''}"
            for name, spec in meta.stacks.items()
        ),
        "Parameters": f"{model.parameters:,} ({_short_count(model.parameters)})"
        + (", counted from the file's weights" if model.parameters_counted else ""),
        "d_model": str(meta.d_model),
        "Provider": ", ".join(model.providers),
    }
    if meta.max_positions:
        rows["Max positions"] = ", ".join(f"{name}: {n}" for name, n in meta.max_positions.items())
    if meta.labels:
        rows["Labels"] = ", ".join(meta.labels)
    sections = {
        "Model": rows,
        FIGURES: {figure.label: figure.text() for figure in meta.figures},
        "Where it came from": {label: str(meta.provenance[key]) for key, label in ABOUT.items()
                               if isinstance(meta.provenance.get(key), str | int | float)},
    }
    return {name: section for name, section in sections.items() if section}


def raw_metadata(meta: ModelMetadata) -> str:
    """The file's metadata as indented JSON, each tokenizer document replaced by its size."""
    data = json.loads(meta.to_json())
    for key in ("tokenizer", "target_tokenizer"):
        if key in data:
            data[key] = f"<tokenizers JSON, {len(data[key]):,} characters>"
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)


class ModelPanel(QScrollArea):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # values wrap instead
        self.sections: dict[str, dict[str, str]] = {}
        self.details_toggle = QToolButton()
        self.details_toggle.setCheckable(True)
        self.details_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_toggle.toggled.connect(self._show_details)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumHeight(240)
        self.clear()

    def set_model(self, model: LoadedModel | None) -> None:
        self.sections = describe(model) if model is not None else {}
        body = QWidget()
        column = QVBoxLayout(body)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow dock puts values below names
        for section, rows in self.sections.items():
            form.addRow(QLabel(f"<h4>{section}</h4>"))
            for label, text in rows.items():
                # A figure's label is a phrase ("pointing game (rollout's top patch on the shape)"):
                # one wrapped line across the panel, so it does not widen the label column.
                spans = section == FIGURES
                value = QLabel(f"<b>{html.escape(label)}:</b> {html.escape(text)}" if spans else text)
                value.setWordWrap(True)
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                if spans:
                    form.addRow(value)
                else:
                    form.addRow(f"<b>{label}</b>", value)
        if not self.sections:
            form.addRow(QLabel("No model open."))
        column.addLayout(form)
        # The widgets outlive each body (setWidget deletes the old one): take them out of it first.
        for widget in (self.details_toggle, self.details):
            widget.setParent(None)
        if model is not None:
            self.details.setPlainText(raw_metadata(model.meta))
            column.addWidget(self.details_toggle, 0, Qt.AlignmentFlag.AlignLeft)
            column.addWidget(self.details)
            self._show_details(self.details_toggle.isChecked())
        else:  # out of any window: shown, they would be windows of their own
            self.details_toggle.hide()
            self.details.hide()
        column.addStretch(1)
        self.setWidget(body)

    def _show_details(self, shown: bool) -> None:
        self.details_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.details_toggle.setText("Hide the raw metadata" if shown else "Details: the raw metadata")
        self.details_toggle.show()
        self.details.setVisible(shown)

    def clear(self) -> None:
        self.set_model(None)


def _short_count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)
