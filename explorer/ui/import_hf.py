"""File → Import Hugging Face folder…: the importer in a child process (QProcess), its stage in the
status bar with a busy indicator and Cancel (or Esc), and the file it wrote opened as File → Open
opens one (checked first, then added to the recents). What an import is, where its file goes and
what the importer's output means are explorer.core.hf_import's.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from explorer.core import hf_import
from explorer.core.hf_import import HfImport


class ImportStatus(QWidget):
    """In the status bar while an import runs: "Importing NAME: STAGE…", a busy bar, Cancel."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)  # beside the bar
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy: the importer's stages take unknown times
        self.bar.setMaximumWidth(100)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the import (Esc)")
        self.cancel_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # not the bar's width
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        self.setVisible(False)

    def show_stage(self, job: HfImport) -> None:
        self.label.setText(f"Importing {job.folder.name}: {job.stage}…")


class HfImporter(QObject):
    """The menu action, the child process and the window's status-bar line for it."""

    imported = Signal(Path)  # the file written, now being opened
    failed = Signal(str)  # why not, in one sentence (also shown in the window's message area)
    busy_changed = Signal(bool)

    def __init__(self, window: QMainWindow, open_model, show_message):
        """`open_model(path)` opens the file the import wrote; `show_message(text)` says why an
        import failed where the window says why a file could not be opened."""
        super().__init__(window)
        self._window, self._open_model, self._show_message = window, open_model, show_message
        self.job: HfImport | None = None
        self._process: QProcess | None = None
        self._cancelled = False
        self.action = QAction("Import &Hugging Face folder…", window)
        self.action.setStatusTip("Make a contract file of a Hugging Face checkpoint folder and open it")
        self.action.triggered.connect(self.choose_folder)
        self.cancel_action = QAction("Cancel the import", window)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setEnabled(False)  # Esc is the head view's own while nothing is imported
        self.cancel_action.triggered.connect(self.cancel)
        window.addAction(self.cancel_action)
        self.status = ImportStatus()
        self.status.cancel_button.clicked.connect(self.cancel)
        window.statusBar().addPermanentWidget(self.status)
        self._start_folder = str(Path.home())

    @property
    def busy(self) -> bool:
        return self._process is not None

    def choose_folder(self) -> None:
        """Say which command installs the export extra where it is missing; else ask for the folder."""
        missing = hf_import.missing_modules()
        if missing:
            self._show_message(hf_import.install_message(missing))
            return
        folder = QFileDialog.getExistingDirectory(
            self._window, "Import a Hugging Face checkpoint folder (config.json, weights, tokenizer.json)",
            self._start_folder)
        if folder:
            self._start_folder = str(Path(folder).parent)
            self.import_folder(Path(folder))

    def import_folder(self, folder: Path) -> None:
        """Import `folder` into the per-user imports folder, in a child process."""
        if self.busy:
            return
        self.job = HfImport(Path(folder), hf_import.import_path(Path(folder)))
        try:
            self.job.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            where = self.job.out.parent
            self._fail(f"{self.job.folder.name} was not imported: {where} cannot be made ({exc.strerror}).")
            return
        self._cancelled = False
        process = QProcess(self)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self._process = process
        self._show_message("")
        self._set_busy(True)
        process.start(*self.job.command())

    def cancel(self) -> None:
        """Kill the importer; its half-written file is removed and what was open stays open."""
        if self._process is not None:
            self._cancelled = True
            self._process.kill()

    def shutdown(self) -> None:
        """The window closes: no importer outlives it."""
        process = self._process
        self.cancel()
        if process is not None:
            process.waitForFinished(3000)

    def _read_stdout(self) -> None:
        text = bytes(self._process.readAllStandardOutput()).decode("utf-8", errors="replace")
        if self.job.read(text):
            self.status.show_stage(self.job)

    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        process, job = self._process, self.job
        stderr = bytes(process.readAllStandardError()).decode("utf-8", errors="replace")
        self._settle()
        crashed = status != QProcess.ExitStatus.NormalExit
        if self._cancelled:
            job.discard()
            self._window.statusBar().showMessage(f"The import of {job.folder.name} was cancelled.")
        elif not crashed and exit_code == 0 and job.partial.is_file():
            path = job.finish()
            self._open_model(path)
            self.imported.emit(path)
        else:
            job.discard()
            self._fail(job.failure(stderr, None if crashed else exit_code))

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            self._settle()  # no `finished` follows a failed start
            self._fail(f"The importer could not be started: {self.job.command()[0]} is missing or cannot run.")

    def _settle(self) -> None:
        self._process.deleteLater()
        self._process = None
        self._set_busy(False)

    def _fail(self, message: str) -> None:
        self._show_message(message)
        self.failed.emit(message)

    def _set_busy(self, busy: bool) -> None:
        if busy:
            self.status.show_stage(self.job)
        self.status.setVisible(busy)
        self.cancel_action.setEnabled(busy)
        self.action.setEnabled(not busy)
        self.busy_changed.emit(busy)
