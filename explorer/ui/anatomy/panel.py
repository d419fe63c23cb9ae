"""The anatomy of attention, as tabs fed by the workspace: head statistics, one head step by step,
the multi-head step, embeddings and positions, a second input to compare with, and a decoder's
logit lens."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from explorer.core import anatomy
from explorer.ui.anatomy.compare import ComparePanel
from explorer.ui.anatomy.embeddings import EmbeddingsPanel
from explorer.ui.anatomy.head_steps import MultiHeadPanel, OneHeadPanel
from explorer.ui.anatomy.head_table import HeadTablePanel
from explorer.ui.anatomy.logit_lens import LogitLensPanel


class AnatomyPanel(QWidget):
    """Follows the state model of `workspace`: its model, what the views draw, its Selection.

    Only the tab in front is drawn; the others catch up when they are shown.
    """

    def __init__(self, workspace, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state = workspace.state
        selection = state.selection
        self.model = None
        self.weights: anatomy.Initializers | None = None
        self.heads = HeadTablePanel(state)
        self.one_head = OneHeadPanel(selection)
        self.multi_head = MultiHeadPanel(selection)
        self.embeddings = EmbeddingsPanel(selection)
        self.compare = ComparePanel(state)
        self.logit_lens = LogitLensPanel(state)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for page, title in (
            (self.heads, "Head statistics"),
            (self.one_head, "One head, step by step"),
            (self.multi_head, "Heads → Wᴼ"),  # an underscore drops below the tab's text box
            (self.embeddings, "Embeddings && positions"),
            (self.compare, "Compare two inputs"),
            (self.logit_lens, "Logit lens"),
        ):
            self.tabs.addTab(page, title)
        self.tabs.currentChanged.connect(lambda _: self.refresh())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self._stale: set[QWidget] = set()
        self._pending = self._taken = None  # the newest run handed in, and the one the tabs hold
        state.shown_changed.connect(self.set_result)
        selection.changed.connect(self._selection_changed)
        if state.shown is not None:  # built after a run: take it (the panels follow the runs from now on)
            self.set_result(state.shown)

    def set_result(self, result) -> None:
        """Take a new run now if the panel is on screen; a hidden panel takes only the newest when shown
        (the head statistics alone cost tens of milliseconds per run on large models)."""
        self._pending = result
        if self.isVisible():
            self._take_pending()

    def _take_pending(self) -> None:
        if self._pending is self._taken:
            return
        self._taken = result = self._pending
        state = self.state
        if state.model is not self.model:  # a new model: its weights and runner
            self.model = state.model
            self.weights = anatomy.Initializers(self.model.path) if self.model is not None else None
            self.heads.set_runner(state.runner, self.model.meta.special_tokens if self.model else {})
            self.compare.set_runner(state.runner)
        meta = self.model.meta if self.model else None
        encoders = state.runner.encoders if state.runner else {}
        run = state.run if state.run is not None and state.run.result is result else None
        pixel_values = run.pixel_values if run is not None else None  # what an image model was fed
        image_name = run.picture.name if run is not None and run.picture is not None else ""
        self.heads.set_result(result)
        self.one_head.set_result(result, lambda name: meta.stacks[name])
        self.multi_head.set_result(result, meta, self.weights)
        self.embeddings.set_result(result, meta, self.weights, encoders, pixel_values)
        self.compare.set_first(result, image_name)
        self.logit_lens.set_result(result, self.weights)
        self._stale = {self.one_head, self.multi_head, self.embeddings, self.compare, self.logit_lens}
        self.refresh()

    def _selection_changed(self) -> None:
        self._stale |= {self.one_head, self.multi_head, self.embeddings, self.compare, self.logit_lens}
        self.refresh()

    def refresh(self) -> None:
        """Draw the tab in front if it is out of date and visible."""
        page = self.tabs.currentWidget()
        if page in self._stale and self.isVisible():
            self._stale.discard(page)
            page.redraw()

    def show_tab(self, page: QWidget) -> None:
        self.tabs.setCurrentWidget(page)
        self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._take_pending()
        self.refresh()

    def shutdown(self) -> None:
        self.heads.shutdown()
        self.compare.shutdown()
