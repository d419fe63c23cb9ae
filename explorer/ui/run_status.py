"""The status bar's line while the model runs or a model opens: a busy bar at once, and once it
has taken a moment, what is going on, for how long ("Running… 3.2 s") and Cancel (or Esc).

It watches lanes (explorer.core.state.jobs): busy from the first one's busy_changed(True) to the
last one's busy_changed(False). Cancel only asks (`cancel_requested`); the owner stops the work
and says so with `note` ("Run cancelled."), a message that goes once new work begins.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QStatusBar, QWidget

from explorer.core.state.jobs import Lane

SHOW_AFTER_S = 0.5  # a quick run only flickers the busy bar: no words, no button
TICK_MS = 100  # how often the seconds are counted up


class RunStatus(QWidget):
    cancel_requested = Signal()

    def __init__(self, status_bar: QStatusBar, esc_taken: Callable[[], bool] = lambda: False):
        """Goes into `status_bar`, at its right. `esc_taken()`: whether Esc has another use now (an
        import's Cancel), so this leaves it be."""
        super().__init__()
        self.clock = time.monotonic  # a test sets its own
        self._status_bar, self._esc_taken = status_bar, esc_taken
        self._note: str | None = None  # the status bar's message about a cancel, if it still shows
        self._lanes: list[tuple[Lane, Callable[[], tuple[str | None, object]]]] = []
        self._shown: tuple[tuple[str | None, object], float] | None = None  # (what, which) is shown, since when
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)  # beside the bar
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy: a run's length is not known before it ends
        self.bar.setMaximumWidth(120)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the run (Esc)")
        self.cancel_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # not the bar's width
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_action = QAction("Cancel the run", self)  # the window adds it, for Esc
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setEnabled(False)  # Esc is the head view's own while nothing runs long
        self.cancel_action.triggered.connect(self.cancel)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        self._timer = QTimer(self)  # setters, not keywords: PySide6 6.12 miscounts references through those
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.refresh)
        self.setVisible(False)
        status_bar.addPermanentWidget(self)

    def watch(self, lane: Lane, doing: Callable[[], str | None], current: Callable[[], object] = lambda: None) -> None:
        """While `lane` is busy, say `doing()` ("Running"); None: its work was cancelled and is
        winding down. Of several busy lanes, the first watched that says something. `current()`
        names the request in flight: a newer one (typed again) is counted afresh."""
        self._lanes.append((lane, lambda: (doing(), current())))
        lane.busy_changed.connect(self._busy_changed)
        self.refresh()

    def _busy_changed(self, _busy: bool) -> None:  # a method, not a lambda: Qt disconnects it with this widget
        self.refresh()

    @property
    def details_shown(self) -> bool:
        """Whether the words are up (the work has taken a moment, or is being cancelled)."""
        return self.label.isVisibleTo(self)

    def refresh(self) -> None:
        busy = [doing() for lane, doing in self._lanes if lane.busy]
        self.setVisible(bool(busy))
        if not busy:
            self._shown = None
            self._timer.stop()
            self.cancel_action.setEnabled(False)
            return
        work = next((what for what in busy if what[0]), (None, None))
        if self._shown is None or self._shown[0] != work:  # new work (an open's first run): counted afresh
            self._shown = (work, self.clock())
            self._timer.start()
            if work[0] is not None and self._note is not None:
                if self._status_bar.currentMessage() == self._note:  # not about this work
                    self._status_bar.clearMessage()
                self._note = None
        doing = work[0]
        elapsed = self.clock() - self._shown[1]
        long = doing is not None and elapsed >= SHOW_AFTER_S
        self.label.setText(f"{doing}… {elapsed:.1f} s" if long else "Cancelling…")
        self.label.setVisible(long or doing is None)
        self.cancel_button.setVisible(long)
        self.cancel_action.setEnabled(long and not self._esc_taken())

    def note(self, message: str) -> None:
        """Say in the status bar what was cancelled, until new work begins."""
        self._note = message
        self._status_bar.showMessage(message)

    def cancel(self) -> None:
        """Ask for the work shown to stop; the bar stays until it has."""
        if self.cancel_button.isVisibleTo(self):
            self.cancel_requested.emit()
            self.refresh()
