"""Small widgets bound to a Selection: stack, layer and head choosers, head toggles, direction,
and how a chosen token set is shown."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QTabBar, QToolButton, QWidget

from explorer.core.state.selection import EACH, FROM, MEAN, SUM, TO, Selection
from explorer.ui.views.colors import head_color

MEAN_LABEL = "mean of heads"


class StackSelector(QTabBar):
    """One tab per stack (encoder, decoder, cross); hidden when the model has one stack."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self._selection = selection
        self.setDrawBase(False)
        self.setExpanding(False)
        self.currentChanged.connect(self._on_tab)
        selection.stacks_changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        names = list(self._selection.stacks)
        with QSignalBlocker(self):
            if [self.tabText(i) for i in range(self.count())] != names:
                while self.count():
                    self.removeTab(0)
                for name in names:
                    self.addTab(name)
            if self._selection.stack_name in names:
                self.setCurrentIndex(names.index(self._selection.stack_name))
        self.setVisible(len(names) > 1)

    def _on_tab(self, index: int) -> None:
        if 0 <= index < self.count():
            self._selection.set_stack(self.tabText(index))


class LayerBox(QComboBox):
    """Chooses the layer: "layer 0" ... "layer L-1"."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self._selection = selection
        self.setToolTip("Layer")
        self.currentIndexChanged.connect(self._on_index)
        selection.changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        stack = self._selection.stack
        layers = stack.layers if stack else 0
        with QSignalBlocker(self):
            if self.count() != layers:
                self.clear()
                self.addItems([f"layer {i}" for i in range(layers)])
            self.setCurrentIndex(self._selection.layer if layers else -1)

    def _on_index(self, index: int) -> None:
        if index >= 0:
            self._selection.set_layer(index)


class HeadBox(QComboBox):
    """Chooses one head, or the mean of the layer's heads (the last entry)."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self._selection = selection
        self.setToolTip("Head")
        self.currentIndexChanged.connect(self._on_index)
        selection.changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        stack = self._selection.stack
        heads = stack.heads if stack else 0
        labels = [stack.head_label(i) for i in range(heads)] + [MEAN_LABEL]  # another model may group its heads
        with QSignalBlocker(self):
            if [self.itemText(i) for i in range(self.count())] != labels:
                self.clear()
                self.addItems(labels)
            head = self._selection.head
            self.setCurrentIndex(heads if head is None else head)

    def _on_index(self, index: int) -> None:
        stack = self._selection.stack
        if stack is not None and index >= 0:
            self._selection.set_head(None if index == stack.heads else index)


class HeadToggles(QWidget):
    """One check button per head, in the head's line colour; "all" shows every head again."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self._selection = selection
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.buttons: list[QToolButton] = []
        self._all = QToolButton(text="all", toolTip="Show every head")
        self._all.clicked.connect(lambda: selection.set_visible_heads(range(len(self.buttons))))
        self._layout.addWidget(self._all)
        self._layout.addStretch(1)
        selection.changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        stack = self._selection.stack
        heads = stack.heads if stack else 0
        if len(self.buttons) != heads:
            self._rebuild(heads)
        for head, button in enumerate(self.buttons):
            button.setToolTip(f"Show {stack.head_label(head)}")
        for head, button in enumerate(self.buttons):
            with QSignalBlocker(button):
                button.setChecked(head in self._selection.visible_heads)

    def _rebuild(self, heads: int) -> None:
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        for head in range(heads):
            color = head_color(head).name()
            button = QToolButton(text=str(head), checkable=True)
            button.setStyleSheet(
                f"QToolButton {{ border: 2px solid {color}; border-radius: 3px; min-width: 18px; }}"
                f"QToolButton:checked {{ background: {color}; color: white; }}"
            )
            button.toggled.connect(lambda on, h=head: self._selection.set_head_visible(h, on))
            self._layout.insertWidget(head, button)
            self.buttons.append(button)


class DirectionSwitch(QCheckBox):
    """Off: the focused token's attention over the keys. On: the attention the token receives."""

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__("attention to the token", parent)
        self._selection = selection
        self.setToolTip("Show the attention the focused token receives instead of the attention it pays")
        self.toggled.connect(lambda on: selection.set_direction(TO if on else FROM))
        selection.changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        with QSignalBlocker(self):
            self.setChecked(self._selection.direction == TO)


class HowBox(QComboBox):
    """How a Shift-clicked token set is shown: each token's attention, or their sum or average.
    Shown only while a set is chosen."""

    CHOICES = ((EACH, "each token"), (SUM, "sum"), (MEAN, "average"))

    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self._selection = selection
        self.setToolTip("The chosen tokens' attention: each token's own, or combined into one")
        for how, label in self.CHOICES:
            self.addItem(label, how)
        self.currentIndexChanged.connect(lambda index: selection.set_how(self.itemData(index)))
        selection.changed.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        with QSignalBlocker(self):
            self.setCurrentIndex(self.findData(self._selection.how))
        self.setVisible(bool(self._selection.chosen))
