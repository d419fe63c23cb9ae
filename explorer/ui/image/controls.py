"""The image page's controls: which map (attention or rollout, and how), and how it is drawn."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QWidget

from explorer.shared.rollout import HEAD_FUSIONS
from explorer.ui.image.maps import ATTENTION, MODES, ROLLOUT


class MapControls(QWidget):
    """Mode, rollout head fusion and discard ratio, heatmap opacity, grid and picture toggles."""

    changed = Signal()  # the map to draw changed
    opacity_changed = Signal(float)
    grid_toggled = Signal(bool)
    input_toggled = Signal(bool)  # show the model's exact input instead of the original

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        self.mode.setToolTip("attention: one layer's head (or mean of heads); rollout: all layers (Abnar & Zuidema)")
        self.fusion = QComboBox()
        self.fusion.addItems(list(HEAD_FUSIONS))
        self.fusion.setToolTip("Rollout: how a layer's heads are fused")
        self.discard = QDoubleSpinBox()
        self.discard.setRange(0.0, 0.99)
        self.discard.setSingleStep(0.05)
        self.discard.setDecimals(2)
        self.discard.setToolTip("Rollout: the share of each layer's lowest weights set to zero (never those to [CLS])")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setFixedWidth(90)
        self.opacity.setToolTip("Heatmap opacity")
        self.grid = QCheckBox("grid")
        self.grid.setChecked(True)
        self.input = QCheckBox("model input")
        self.input.setToolTip("Draw the exact pixels the model saw (resized, normalised) instead of the original")
        self._rollout_only = (QLabel("fusion"), self.fusion, QLabel("discard"), self.discard)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.mode, *self._rollout_only, QLabel("opacity"), self.opacity, self.grid, self.input):
            layout.addWidget(widget)
        layout.addStretch(1)

        self.mode.currentTextChanged.connect(self._on_mode)
        self.fusion.currentTextChanged.connect(self.changed)
        self.discard.valueChanged.connect(self.changed)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        self.grid.toggled.connect(self.grid_toggled)
        self.input.toggled.connect(self.input_toggled)
        self._on_mode(ATTENTION, announce=False)

    def _on_mode(self, mode: str, announce: bool = True) -> None:
        for widget in self._rollout_only:
            widget.setVisible(mode == ROLLOUT)
        if announce:
            self.changed.emit()

    def set_mode(self, mode: str) -> None:
        self.mode.setCurrentText(mode)

    def opacity_value(self) -> float:
        return self.opacity.value() / 100
