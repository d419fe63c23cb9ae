"""Stopping a model run in flight. ONNX Runtime stops a `session.run` whose RunOptions get
`terminate` set, from any thread; `Runner.run_graph` takes fresh options for every run from
`run_options()` here.

A job that may be stopped (explorer.core.state.jobs) runs through `Cancellation.bind`: while it
runs, the options of each of its runs are held by its cancellation. `cancel()`, from any thread,
terminates the run in flight and refuses the job's later ones (a translation is many runs), so the
job ends with RunCancelled. Runs outside a bound job (scripts, a run on the GUI thread) are never
stopped.

    cancellation = Cancellation()
    lane.request(cancellation.bind(job))
    cancellation.cancel()   # typing again, or the Cancel button: the job raises RunCancelled
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

import onnxruntime as ort

from explorer.core.errors import RunError

T = TypeVar("T")

# Per thread: the worker runs one job at a time, and the GUI thread's own runs stay unbound.
_current: ContextVar[Cancellation | None] = ContextVar("explorer_cancellation", default=None)


class RunCancelled(RunError):
    """A run was stopped on purpose (a newer request, or the person cancelled): never a failure."""

    def __init__(self, message: str = "Cancelled."):
        super().__init__(message)


class Cancellation:
    """One job's model runs, which another thread can stop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # cancel() comes from the GUI thread while the worker runs
        self._options: ort.RunOptions | None = None  # of the run in flight
        self.cancelled = False
        self.terminated = False  # a run was in flight when cancelled: ONNX Runtime was told to stop it

    def cancel(self) -> None:
        """Stop the job: its run in flight now, any later run before it starts."""
        with self._lock:
            self.cancelled = True
            if self._options is not None:
                self._options.terminate = True
                self.terminated = True

    def bind(self, job: Callable[[], T]) -> Callable[[], T]:
        """`job`, whose runs this cancellation can stop."""

        def cancellable() -> T:
            token = _current.set(self)
            try:
                return job()
            finally:
                _current.reset(token)

        return cancellable

    @contextmanager
    def _holding(self, options: ort.RunOptions) -> Iterator[ort.RunOptions]:
        with self._lock:
            if self.cancelled:
                raise RunCancelled()
            self._options = options
        try:
            yield options
        finally:
            with self._lock:
                self._options = None


@contextmanager
def run_options() -> Iterator[ort.RunOptions]:
    """Fresh RunOptions for one session run, held by the running job's cancellation (if any);
    raises RunCancelled at once when that job is cancelled already."""
    options = ort.RunOptions()
    cancellation = _current.get()
    if cancellation is None:
        yield options
        return
    with cancellation._holding(options):
        yield options
