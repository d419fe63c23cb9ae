"""The one worker thread the app runs models (and opens them) on, and its lanes.

A lane is one purpose's queue (the runs of the inputs, opening a model, a panel's second input):
every request gets a generation number; the worker skips a request when a newer one of its lane
is already waiting, and the lane drops any answer whose generation is not its newest, so typing
fast never draws a stale result. Lanes share the thread, so two jobs never run at once. A job is
a plain callable that returns a value (explorer.core.state.jobs); its outcome comes back on the
GUI thread through the lane's signals.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from explorer.core.state.jobs import Job, execute


class _Worker(QObject):
    # Separate signals, never a None through `object`: a queued None loses a reference in PySide6.
    succeeded = Signal(object, int, object)  # lane, generation, result
    failed = Signal(object, int, str)  # lane, generation, message
    skipped = Signal(object)  # lane

    @Slot(object, int, object)
    def run(self, lane: RunLane, generation: int, job: Job) -> None:
        if generation != lane.generation:
            self.skipped.emit(lane)  # a newer request of this lane is queued behind this one
            return
        result, error = lane.execute(job)
        if error is None:
            self.succeeded.emit(lane, generation, result)
        else:
            self.failed.emit(lane, generation, error)


class RunLane(QObject):
    """Jobs of one purpose on the controller's thread; emits the newest one's outcome.

    `user_errors` are the exceptions whose message is shown as it is; `what` names the work in the
    message for any other ("The run failed (KeyError: ...)").
    """

    busy_changed = Signal(bool)  # show or hide progress
    result_ready = Signal(object)  # the newest request's result
    failed = Signal(str)  # the newest request's error message

    def __init__(self, controller: RunController, user_errors: tuple[type[Exception], ...], what: str):
        super().__init__(controller)
        self._controller = controller
        self.execute = partial(execute, user_errors=user_errors, what=what)
        self.generation = 0
        self._in_flight = 0

    @property
    def busy(self) -> bool:
        return self._in_flight > 0

    def request(self, job: Job) -> int:
        """Run `job` on the worker thread; returns its generation."""
        self.generation += 1
        self._in_flight += 1
        if self._in_flight == 1:
            self.busy_changed.emit(True)
        self._controller.submit(self, self.generation, job)
        return self.generation

    def cancel(self) -> None:
        """Forget whatever is in flight (a new model was opened, say)."""
        self.generation += 1

    def run_now(self, job: Job) -> None:
        """Run `job` on this thread and emit its outcome before returning: for scripts and benchmarks."""
        self.cancel()
        result, error = self.execute(job)
        if error is None:
            self.result_ready.emit(result)
        else:
            self.failed.emit(error)

    def settle(self, generation: int | None, result: object = None, error: str | None = None) -> None:
        """A request is done (skipped when `generation` is None): report it if it is the newest."""
        self._in_flight -= 1
        if generation == self.generation:
            if error is None:
                self.result_ready.emit(result)
            else:
                self.failed.emit(error)
        if not self._in_flight:
            self.busy_changed.emit(False)


class RunController(QObject):
    """Owns the worker thread; `lane(name, user_errors, what)` makes a lane on it (the state model's
    LaneFactory)."""

    _submit = Signal(object, int, object)

    def __init__(self, parent: QObject | None = None, thread_name: str = "model-runs"):
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName(thread_name)
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        # Slots of this object, not lambdas: queued, they run on the GUI thread this object lives on.
        self._worker.succeeded.connect(self._on_succeeded)
        self._worker.failed.connect(self._on_failed)
        self._worker.skipped.connect(self._on_skipped)
        self._lanes: list[RunLane] = []
        self._thread.start()
        app = QCoreApplication.instance()
        if app is not None:  # a script that quits without closing its windows still stops the thread
            app.aboutToQuit.connect(self.shutdown)

    def lane(self, name: str = "", user_errors: tuple[type[Exception], ...] = (), what: str = "The run") -> RunLane:
        lane = RunLane(self, user_errors, what)
        lane.setObjectName(name)
        self._lanes.append(lane)
        return lane

    def submit(self, lane: RunLane, generation: int, job: Job) -> None:
        self._submit.emit(lane, generation, job)

    @property
    def busy(self) -> bool:
        return any(lane.busy for lane in self._lanes)

    @Slot(object, int, object)
    def _on_succeeded(self, lane: RunLane, generation: int, result: object) -> None:
        lane.settle(generation, result)

    @Slot(object, int, str)
    def _on_failed(self, lane: RunLane, generation: int, message: str) -> None:
        lane.settle(generation, error=message)

    @Slot(object)
    def _on_skipped(self, lane: RunLane) -> None:
        lane.settle(None)

    @Slot()
    def shutdown(self) -> None:
        """Stop the worker thread after the job in flight; safe to call more than once."""
        for lane in self._lanes:
            lane.cancel()
        self._thread.quit()
        self._thread.wait()
