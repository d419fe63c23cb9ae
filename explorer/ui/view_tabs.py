"""The three attention views as tabs, under the stack selector, all bound to one Selection.

A view is built the first time it is shown or asked for: the window opens with the matrix tab
in front, and the other two cost nothing until someone looks at them (or a script reads them).
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from explorer.ui.views import HeadView, MatrixView, ModelView, Selection, StackSelector
from explorer.ui.views.base import SelectionView

VIEW_CLASSES = {"head": HeadView, "matrix": MatrixView, "model": ModelView}
VIEW_NAMES = tuple(VIEW_CLASSES)


class ViewTabs(QWidget):
    def __init__(self, selection: Selection, parent: QWidget | None = None):
        super().__init__(parent)
        self.selection = selection
        self.stack_selector = StackSelector(selection)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._pages: dict[str, QVBoxLayout] = {}  # per view, the tab page's layout that will hold it
        self._views: dict[str, SelectionView] = {}
        for number, name in enumerate(VIEW_NAMES, start=1):
            page = QWidget()
            self._pages[name] = QVBoxLayout(page)
            self._pages[name].setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(page, f"{name.capitalize()} view")
            self.tabs.setTabToolTip(number - 1, f"Ctrl+{number}")
        self.tabs.currentChanged.connect(lambda index: self.view(VIEW_NAMES[index]))
        self.show_view("matrix")  # the heatmap first: it reads at a glance at any length
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack_selector)
        layout.addWidget(self.tabs, 1)

    def view(self, name: str) -> SelectionView:
        """The view called `name`, built the first time it is asked for."""
        if name not in self._views:
            self._views[name] = VIEW_CLASSES[name](self.selection)
            self._pages[name].addWidget(self._views[name])
        return self._views[name]

    @property
    def views(self) -> dict[str, SelectionView]:
        """Every view by name (building those not built yet)."""
        return {name: self.view(name) for name in VIEW_NAMES}

    def show_view(self, name: str) -> None:
        self.tabs.setCurrentIndex(VIEW_NAMES.index(name))
        self.view(name)  # already the current tab: no currentChanged to build it

    def current_name(self) -> str:
        return VIEW_NAMES[self.tabs.currentIndex()]

    def current_view(self) -> SelectionView:
        return self.view(self.current_name())
