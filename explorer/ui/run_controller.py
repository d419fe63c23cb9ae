"""Runs models (and opens them) off the GUI thread; only the newest request's result comes back.

Every request gets a generation number. The worker thread skips a request when a newer one
is already waiting behind it, and the controller drops any answer whose generation is not
the newest, so typing fast never draws a stale result.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from explorer.core.runner import RunError
from explorer.core.text import EmptyTextError

# What people can act on: shown as they are. Anything else is a bug: shown with its type,
# its traceback printed to stderr.
USER_ERRORS = (RunError, EmptyTextError)

Job = Callable[[], object]


def execute(
    job: Job, user_errors: tuple[type[Exception], ...] = USER_ERRORS, what: str = "The run"
) -> tuple[object, str | None]:
    """(result, None) when `job` worked, (None, message) when it raised."""
    try:
        return job(), None
    except user_errors as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - the GUI stays up and says what went wrong
        traceback.print_exc(file=sys.stderr)
        return None, f"{what} failed ({type(exc).__name__}: {exc})."


class _Worker(QObject):
    # Separate signals, never a None through `object`: a queued None loses a reference in PySide6.
    succeeded = Signal(int, object)  # generation, result
    failed = Signal(int, str)  # generation, message
    skipped = Signal(int)

    def __init__(self, newest: Callable[[], int], execute_job: Callable[[Job], tuple[object, str | None]]):
        super().__init__()
        self._newest = newest
        self._execute = execute_job

    @Slot(int, object)
    def run(self, generation: int, job: Job) -> None:
        if generation != self._newest():
            self.skipped.emit(generation)  # a newer request is queued behind this one
            return
        result, error = self._execute(job)
        if error is None:
            self.succeeded.emit(generation, result)
        else:
            self.failed.emit(generation, error)


class RunController(QObject):
    """Queue jobs (plain callables) on one worker thread; emit the newest one's outcome.

    `user_errors` are the exceptions whose message is shown as it is; `what` names the work in
    the message for any other ("The run failed (KeyError: ...)").
    """

    busy_changed = Signal(bool)  # show or hide progress
    result_ready = Signal(object)  # the newest request's result
    failed = Signal(str)  # the newest request's error message

    _submit = Signal(int, object)

    def __init__(
        self,
        parent: QObject | None = None,
        user_errors: tuple[type[Exception], ...] = USER_ERRORS,
        what: str = "The run",
        thread_name: str = "model-runs",
    ):
        super().__init__(parent)
        self._generation = 0
        self._in_flight = 0
        self._execute = partial(execute, user_errors=user_errors, what=what)
        self._thread = QThread()
        self._thread.setObjectName(thread_name)
        self._worker = _Worker(lambda: self._generation, self._execute)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.succeeded.connect(self._on_succeeded)  # slots of this object: they run on the GUI thread
        self._worker.failed.connect(self._on_failed)
        self._worker.skipped.connect(self._settle)
        self._thread.start()
        app = QCoreApplication.instance()
        if app is not None:  # a script that quits without closing its windows still stops the thread
            app.aboutToQuit.connect(self.shutdown)

    @property
    def busy(self) -> bool:
        return self._in_flight > 0

    def request(self, job: Job) -> int:
        """Run `job` on the worker thread; returns its generation."""
        self._generation += 1
        self._in_flight += 1
        if self._in_flight == 1:
            self.busy_changed.emit(True)
        self._submit.emit(self._generation, job)
        return self._generation

    def cancel(self) -> None:
        """Forget whatever is in flight (a new model was opened, say)."""
        self._generation += 1

    def run_now(self, job: Job) -> None:
        """Run `job` on this thread and emit its outcome before returning: for scripts and benchmarks."""
        self.cancel()
        result, error = self._execute(job)
        if error is None:
            self.result_ready.emit(result)
        else:
            self.failed.emit(error)

    @Slot()
    def shutdown(self) -> None:
        """Stop the worker thread after the run in flight; safe to call more than once."""
        self.cancel()
        self._thread.quit()
        self._thread.wait()

    @Slot(int, object)
    def _on_succeeded(self, generation: int, result: object) -> None:
        self._settle()
        if generation == self._generation:
            self.result_ready.emit(result)

    @Slot(int, str)
    def _on_failed(self, generation: int, message: str) -> None:
        self._settle()
        if generation == self._generation:
            self.failed.emit(message)

    @Slot()
    def _settle(self) -> None:  # also connected to skipped(int): Qt drops the extra argument
        self._in_flight -= 1
        if not self._in_flight:
            self.busy_changed.emit(False)
