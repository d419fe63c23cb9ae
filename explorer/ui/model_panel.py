"""What the open model is: kind, stacks, size, the provider really running it, where it came from."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QScrollArea, QWidget

from explorer.core.model import LoadedModel


def describe(model: LoadedModel) -> dict[str, dict[str, str]]:
    """The panel's sections ("Model", "Provenance"), each label -> text, in the order shown."""
    meta = model.meta
    rows = {
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
    return {"Model": rows, "Provenance": dict(_flatten(meta.provenance))}


class ModelPanel(QScrollArea):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # values wrap instead
        self.sections: dict[str, dict[str, str]] = {}
        self.clear()

    def set_model(self, model: LoadedModel | None) -> None:
        self.sections = describe(model) if model is not None else {}
        body = QWidget()
        form = QFormLayout(body)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow dock puts values below names
        for section, rows in self.sections.items():
            if rows:
                form.addRow(QLabel(f"<h4>{section}</h4>"))
            for label, text in rows.items():
                value = QLabel(text)
                value.setWordWrap(True)
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                form.addRow(f"<b>{label}</b>", value)
        if not self.sections:
            form.addRow(QLabel("No model open."))
        self.setWidget(body)

    def clear(self) -> None:
        self.set_model(None)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Provenance as "key: value" rows; nested objects give dotted keys (figures.accuracy)."""
    rows = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, f"{name}.")
        elif isinstance(value, float):
            rows.append((name, f"{value:.4g}"))
        elif isinstance(value, str | int | bool) or value is None:
            rows.append((name, str(value)))
        else:
            rows.append((name, json.dumps(value)))
    return rows


def _short_count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)
