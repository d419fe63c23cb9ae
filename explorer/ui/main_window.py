"""The main window: open models (Ctrl+O, drag-and-drop, recents), the workspace, menus, saving.

The window owns the app's state model (explorer.core.state.app_state.AppState) and the one
worker thread its lanes run on. Opening a model (reading the file, starting its ONNX Runtime
session) takes seconds for a large one, so what a person opens is opened on that thread while
the window stays responsive; of several opened in a row the newest wins. `open_path` opens on
the calling thread, for scripts and tests that want the model at once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.core import assets
from explorer.core.model import LoadedModel, cuda_available
from explorer.core.state.app_state import AppState
from explorer.ui.drops import dropped_images, onnx_paths, refused_drop, unused_drop
from explorer.ui.import_hf import HfImporter
from explorer.ui.model_panel import ModelPanel
from explorer.ui.recents import MAX_RECENT, RecentFiles, default_settings
from explorer.ui.run_controller import RunController
from explorer.ui.run_status import RunStatus
from explorer.ui.saving_actions import SavingActions
from explorer.ui.view_tabs import VIEW_NAMES
from explorer.ui.welcome import WelcomePage
from explorer.ui.workspace import Workspace

APP_NAME = "Attention Explorer"
ONNX_FILTER = "ONNX models (*.onnx);;All files (*)"
DEFAULT_SIZE = (1280, 860)

SHORTCUTS = """<table>
<tr><td><b>Ctrl+O</b></td><td>Open a model</td></tr>
<tr><td><b>Ctrl+1 / 2 / 3</b></td><td>Head view / Matrix view / Model view</td></tr>
<tr><td><b>Ctrl+S</b></td><td>Save the view as PNG</td></tr>
<tr><td><b>Ctrl+Shift+S</b></td><td>Save the view as SVG</td></tr>
<tr><td><b>Ctrl+Shift+A</b></td><td>Anatomy of attention: head statistics, steps, embeddings</td></tr>
<tr><td><b>Ctrl+E</b></td><td>Save the attention arrays as .npz</td></tr>
<tr><td><b>Ctrl+Q</b></td><td>Quit</td></tr>
<tr><td><b>Alt-click a token</b></td><td>Hide it as a key (attention_mask 0)</td></tr>
<tr><td><b>Shift-click tokens</b></td><td>Choose several tokens: each one's, summed or averaged attention</td></tr>
<tr><td><b>Double-click a token</b></td><td>Replace it by [MASK] (masked language models)</td></tr>
<tr><td><b>Ctrl-click a head</b></td><td>Model view: ablate the head, or keep it again</td></tr>
<tr><td><b>Ctrl+R</b></td><td>Reset heads: keep every head again</td></tr>
<tr><td><b>Ctrl+Right / Ctrl+Left / Ctrl+End</b></td><td>Seq2seq: next step / back / run to the end</td></tr>
<tr><td><b>Alt-click a patch, or drag</b></td><td>Image page: hide patches as keys</td></tr>
<tr><td><b>Ctrl+V, Ctrl+Shift+O</b></td><td>Image page: paste an image / open images (a speech model:
open a recording)</td></tr>
<tr><td><b>Up / Down</b></td><td>Head view: focus the previous / next token</td></tr>
<tr><td><b>Esc</b></td><td>Head view: clear the focused token; while importing: cancel the import;
while a run or an open takes a while: cancel it</td></tr>
<tr><td><b>Arrow keys</b></td><td>Model view: move through layers and heads</td></tr>
</table>"""


class MainWindow(QMainWindow):
    model_opened = Signal(object)  # the LoadedModel now shown
    open_failed = Signal(str)  # why a file could not be opened (also shown in the window)

    def __init__(
        self,
        settings: QSettings | None = None,
        provider: str = "cpu",
        model: str | Path | None = None,
        text: str | None = None,
    ):
        """`model`: a file to open at start, run on `text`. Its opening starts first, in the
        background, so that ONNX Runtime builds its session while the widgets are built."""
        super().__init__()
        self.runs = RunController(self)  # the one worker thread: opening models and running them
        self.state = AppState(lanes=self.runs.lane, provider=provider)
        self.opening = self.state.opening
        if model is not None:
            self.open_in_background(model, text)
        self.recents = RecentFiles(settings if settings is not None else default_settings(), self)
        self.setAcceptDrops(True)
        self._pending_images: list[Path] = []  # dropped while a model was opening
        self.resize(*DEFAULT_SIZE)

        self.welcome = WelcomePage()
        self.welcome.open_requested.connect(self.open_dialog)
        self.welcome.bundled_requested.connect(self.open_in_background)
        self.welcome.recent_requested.connect(self.open_in_background)
        self.bundled = assets.bundled_catalog()  # names and lines from the files' metadata, in milliseconds
        self.welcome.set_bundled(self.bundled)
        self.workspace = Workspace(self.state, self.runs)
        self.workspace.message_changed.connect(self._status_message)
        self.state.model_changed.connect(self._show_model)
        self.state.open_failed.connect(self._open_failed)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.workspace)

        self.message_bar = QLabel()  # a model that failed to open: said here, never in a modal box
        self.message_bar.setWordWrap(True)
        self.message_bar.setStyleSheet("background: #fde8e8; color: #7a1f1f; padding: 6px; border-radius: 3px;")
        self.message_bar.setVisible(False)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(6, 6, 6, 0)
        column.addWidget(self.message_bar)
        column.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.model_panel = ModelPanel()
        self.model_dock = QDockWidget("Model", self)
        self.model_dock.setObjectName("model-dock")
        self.model_dock.setWidget(self.model_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.model_dock)
        self.model_dock.setVisible(False)
        self.anatomy_dock = QDockWidget("Anatomy of attention", self)  # shown from the View menu
        self.anatomy_dock.setObjectName("anatomy-dock")
        self.anatomy_panel = None  # built when the dock is first shown: it imports onnx and works on every run
        self.anatomy_dock.visibilityChanged.connect(self._build_anatomy)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.anatomy_dock)
        self.anatomy_dock.setVisible(False)

        self.saving = SavingActions(self, self.workspace)
        self.importer = HfImporter(self, self.open_in_background, self.show_message)  # in a child process
        self.run_status = RunStatus(self.statusBar(), lambda: self.importer.busy)  # a busy bar; words, Cancel later
        self.progress = self.run_status.bar
        self.run_status.watch(self.opening, lambda: "Opening" if self.state.opening_path else None)
        self.run_status.watch(self.workspace.runs, lambda: "Running" if self.state.run_cancellation else None,
                              lambda: self.state.run_cancellation)
        self.run_status.cancel_requested.connect(self.state.cancel)
        self.importer.busy_changed.connect(self.run_status.refresh)  # one Esc at a time: the import's first
        self.addAction(self.run_status.cancel_action)
        self.state.cancelled.connect(self._cancelled)
        self.workspace.runs.busy_changed.connect(self._sync_busy)
        self.opening.busy_changed.connect(self._sync_busy)
        self._sync_busy()  # a model may be opening already
        self._build_menus()
        self.recents.changed.connect(self._refresh_recents)
        self._refresh_recents()
        self._update_title()

    # -- opening ------------------------------------------------------------------------------
    @property
    def model(self) -> LoadedModel | None:
        return self.state.model

    @property
    def provider(self) -> str:
        return self.state.provider

    def open_in_background(self, path: str | Path, text: str | None = None) -> None:
        """Open the model at `path` on the worker thread, then show it (run on `text`). The window
        stays responsive meanwhile, with a busy indicator; on failure it says why and keeps what
        was open. Of several opens in a row only the newest is shown."""
        self.state.open(path, text)
        self._status_message(f"Opening {Path(path).name}…")

    def open_path(self, path: str | Path, text: str | None = None) -> bool:
        """Open the model at `path` on this thread (for scripts and tests); on failure say why and
        keep what was open. True when it opened. A background open still under way is dropped."""
        self.setCursor(Qt.CursorShape.WaitCursor)
        try:
            return self.state.open_now(path, text)
        finally:
            self.unsetCursor()

    def _show_model(self, model: LoadedModel) -> None:
        self.recents.add(model.path)
        self.pages.setCurrentWidget(self.workspace)
        self.show_message(" ".join(model.notices))
        self.model_panel.set_model(model)
        self.model_dock.setVisible(True)
        self._update_title()
        self._sync_provider_menu()
        self._take_pending_images(model)
        self.model_opened.emit(model)

    def _open_failed(self, path: Path, message: str) -> None:
        self._pending_images = []  # dropped for the model that did not open
        self.show_message(message)
        if not path.exists():
            self.recents.remove(path)
        self.open_failed.emit(message)

    def open_dialog(self) -> None:
        start = str(self.model.path.parent) if self.model else str(assets.MODELS)
        path, _ = QFileDialog.getOpenFileName(self, "Open model", start, ONNX_FILTER)
        if path:
            self.open_in_background(path)

    def open_bundled(self, text: str | None = None) -> bool:
        """The default start: the bundled BERT with a sample sentence (opened in the background),
        or the welcome page saying it is missing. True when it is being opened."""
        if not assets.BUNDLED_MODEL.exists():
            self.show_welcome(f"The bundled model is not installed ({assets.BUNDLED_MODEL} is missing). "
                              "Open a model of your own, or train one with `attention-export train bert`.")
            return False
        self.open_in_background(assets.BUNDLED_MODEL, text)
        return True

    def show_welcome(self, message: str = "") -> None:
        self.pages.setCurrentWidget(self.welcome)
        self.welcome.set_message(message)

    def show_message(self, text: str) -> None:
        """A message about opening (an error, a provider notice): on the welcome page while it is
        shown, else in the bar above the workspace; "" hides it."""
        on_welcome = self.pages.currentWidget() is self.welcome
        self.welcome.set_message(text if on_welcome else "")
        self.message_bar.setText(text)
        self.message_bar.setVisible(bool(text) and not on_welcome)
        self._status_message(text)

    # -- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        urls = event.mimeData().urls()
        if onnx_paths(urls) or self._image_files(urls):
            event.acceptProposedAction()
        else:
            self._refuse_drop(urls)
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        urls = event.mimeData().urls()
        paths, images = onnx_paths(urls), self._image_files(urls)
        if not paths and not images:
            self._refuse_drop(urls)
            event.ignore()
            return
        event.acceptProposedAction()
        if paths:
            self.open_in_background(paths[0], self.workspace.text() or None)
        elif self.state.opening_path is not None:  # taken once the model is open, if it takes images
            self._pending_images = images
            self._status_message(f"{images[0].name} is taken once {self.state.opening_path.name} is open.")
        else:
            self.workspace.open_files(images)  # the image or audio page reads them, or says why it cannot

    def _image_files(self, urls: list[QUrl]) -> list[Path]:
        """The dropped files an image model's page would read: any local file but a model, while an
        image model is open or a model is opening (what it takes is known once it is open)."""
        return dropped_images(urls) if self._takes_files() or self.state.opening_path is not None else []

    def _take_pending_images(self, model: LoadedModel) -> None:
        images, self._pending_images = self._pending_images, []
        if not images:
            return
        if self._takes_files():
            self.workspace.open_files(images)
        else:
            # In the bar above the workspace, which stays until the next open: the status bar's
            # message gives way to the first run's.
            self.show_message(" ".join((*model.notices, unused_drop(images[0], model.name))))

    def _refuse_drop(self, urls: list[QUrl]) -> None:
        """Say in the status bar, while the files are dragged over the window, why it will not take them."""
        name = self.model.name if self.model is not None else None
        kind = self.state.kind
        self._status_message(refused_drop(urls, kind is not None and kind.takes_images,
                                          kind is not None and kind.takes_audio, name))

    def _takes_files(self) -> bool:
        """Whether dropped files other than models go to the open model's image or audio page."""
        kind = self.state.kind
        return kind is not None and (kind.takes_images or kind.takes_audio)

    # -- provider -------------------------------------------------------------------------------
    def set_provider(self, provider: str) -> None:
        """Run on "cpu" or "cuda" from now on; the open model is reopened on it (in the background)."""
        self.state.set_provider(provider)
        self._sync_provider_menu()

    # -- menus ----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = file_menu.addAction("&Open model…", QKeySequence.StandardKey.Open, self.open_dialog)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        bundled_menu = file_menu.addMenu("Open &Bundled Model")
        for model in self.bundled:
            action = bundled_menu.addAction(model.name, lambda p=model.path: self.open_in_background(p))
            action.setToolTip(model.description)
        bundled_menu.setToolTipsVisible(True)
        bundled_menu.setEnabled(bool(self.bundled))
        file_menu.addAction(self.importer.action)
        file_menu.addSeparator()
        for action in self.saving.actions():
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)

        view_menu = self.menuBar().addMenu("&View")
        self.view_actions = {}
        for number, name in enumerate(VIEW_NAMES, start=1):
            action = view_menu.addAction(f"{name.capitalize()} view")
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _=False, n=name: self.workspace.views.show_view(n))
            self.view_actions[name] = action
        view_menu.addSeparator()
        view_menu.addAction(self.model_dock.toggleViewAction())
        anatomy_action = self.anatomy_dock.toggleViewAction()
        anatomy_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        view_menu.addAction(anatomy_action)
        view_menu.addSeparator()
        view_menu.addAction(self.workspace.reset_heads_action)

        provider_menu = self.menuBar().addMenu("&Provider")
        provider_menu.setToolTipsVisible(True)
        group = QActionGroup(self)
        self.provider_actions: dict[str, QAction] = {}
        for key, label in (("cpu", "CPU"), ("cuda", "CUDA")):
            action = provider_menu.addAction(label)
            action.setCheckable(True)
            action.triggered.connect(lambda _=False, k=key: self.set_provider(k))
            group.addAction(action)
            self.provider_actions[key] = action
        if not cuda_available():
            cuda = self.provider_actions["cuda"]
            cuda.setEnabled(False)
            cuda.setToolTip("This onnxruntime has no CUDA provider: install onnxruntime-gpu instead of onnxruntime.")
        self._sync_provider_menu()

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&Keyboard shortcuts", self._show_shortcuts)
        help_menu.addAction("&About", self._show_about)

    def _sync_provider_menu(self) -> None:
        running = self.model.providers[0] if self.model else None
        key = "cuda" if running == "CUDAExecutionProvider" else ("cpu" if running else self.provider)
        self.provider_actions[key].setChecked(True)

    def _refresh_recents(self) -> None:
        paths = self.recents.paths()
        self.recent_menu.clear()
        for number, path in enumerate(paths[:MAX_RECENT], start=1):
            action = self.recent_menu.addAction(f"&{number} {path.name}")
            action.setToolTip(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_in_background(p))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear recent models", self.recents.clear).setEnabled(bool(paths))
        self.welcome.set_recent(paths)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.model.path.name} — {APP_NAME}" if self.model else APP_NAME)

    def _status_message(self, text: str) -> None:
        self.statusBar().showMessage(text)

    def _cancelled(self, message: str) -> None:
        self._pending_images = []  # there are some only while a model opens: for the one cancelled
        self.run_status.note(message)

    def _sync_busy(self) -> None:
        """A busy cursor while a model opens (the status bar's RunStatus shows the rest)."""
        if self.opening.busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    def _build_anatomy(self, visible: bool) -> None:
        if not visible or self.anatomy_panel is not None:
            return
        from explorer.ui.anatomy import AnatomyPanel

        self.anatomy_panel = AnatomyPanel(self.workspace)  # takes the run shown now, follows the rest
        self.anatomy_dock.setWidget(self.anatomy_panel)

    def _show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", SHORTCUTS)

    def _show_about(self) -> None:
        QMessageBox.about(
            self, f"About {APP_NAME}",
            f"<h3>{APP_NAME}</h3><p>Look inside Transformers: attention of ONNX models, as ONNX Runtime "
            "computes it.</p><p>Runs on numpy, onnxruntime, tokenizers, PySide6 and pyqtgraph.</p>",
        )

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.state.cancel()  # a long run stops now, not when it would have ended
        self.workspace.shutdown()  # the worker thread stops after the job in flight
        self.importer.shutdown()
        if self.anatomy_panel is not None:
            self.anatomy_panel.shutdown()
        super().closeEvent(event)
