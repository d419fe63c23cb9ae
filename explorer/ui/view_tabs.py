"""The three attention views as tabs, under the stack selector, all bound to one Selection."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from explorer.ui.views import HeadView, MatrixView, ModelView, Selection, StackSelector

VIEW_CLASSES = {"head": HeadView, "matrix": MatrixView, "model": ModelView}
VIEW_NAMES = tuple(VIEW_CLASSES)


class ViewTabs(QWidget):
    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection
        self.stack_selector = StackSelector(selection)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.views: dict[str, QWidget] = {}
        for number, (name, view_class) in enumerate(VIEW_CLASSES.items(), start=1):
            view = view_class(selection)
            self.views[name] = view
            self.tabs.addTab(view, f"{name.capitalize()} view")
            self.tabs.setTabToolTip(number - 1, f"Ctrl+{number}")
        self.show_view("matrix")  # the heatmap first: it reads at a glance at any length
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack_selector)
        layout.addWidget(self.tabs, 1)

    def show_view(self, name: str) -> None:
        self.tabs.setCurrentWidget(self.views[name])

    def current_name(self) -> str:
        return VIEW_NAMES[self.tabs.currentIndex()]

    def current_view(self) -> QWidget:
        return self.views[self.current_name()]
