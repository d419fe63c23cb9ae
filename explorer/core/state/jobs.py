"""Work off the GUI thread, described without Qt: a job is a plain callable; a lane runs jobs and
reports the newest one's outcome.

A lane keeps a generation number per request: of several requests in a row only the newest one's
outcome is reported, so typing fast never draws a stale result. The app's lanes
(explorer.ui.run_controller) share one worker thread; `ImmediateLane` runs each job at once on
the calling thread, for scripts, `--snapshot` and tests without a QApplication. Either way the
state model hears of outcomes through the lane's `result_ready` and `failed`, on its own thread,
so a job never writes into anybody's state: it returns a value.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Protocol

from explorer.core.reports import write_report
from explorer.core.state.events import Event

Job = Callable[[], object]


def execute(job: Job, user_errors: tuple[type[Exception], ...], what: str) -> tuple[object, str | None]:
    """(result, None) when `job` worked, (None, message) when it raised. `user_errors` are shown as
    they are; anything else is a bug: named with its type, its traceback printed to stderr and
    written to a report file the message names."""
    try:
        return job(), None
    except user_errors as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - the last resort: the app stays up and says what went wrong
        traceback.print_exc(file=sys.stderr)
        report = write_report(exc, what)
        where = f"a report to attach is in {report}" if report else "no report could be written"
        return None, f"{what} failed ({type(exc).__name__}: {exc}). This is a bug in Attention Explorer: {where}."


class Lane(Protocol):
    """What the state model needs of a lane; `result_ready`, `failed` and `busy_changed` have
    `connect` (Qt signals or Events)."""

    result_ready: object  # (result)
    failed: object  # (message)
    busy_changed: object  # (busy)

    @property
    def busy(self) -> bool: ...

    def request(self, job: Job) -> int: ...

    def run_now(self, job: Job) -> None: ...

    def cancel(self) -> None: ...


LaneFactory = Callable[[str, tuple[type[Exception], ...], str], Lane]  # (name, user_errors, what)


class ImmediateLane:
    """A lane that runs every job at once, on the caller's thread."""

    def __init__(self, name: str = "", user_errors: tuple[type[Exception], ...] = (), what: str = "The run"):
        self.name, self._user_errors, self._what = name, user_errors, what
        self.result_ready, self.failed, self.busy_changed = Event(), Event(), Event()

    @property
    def busy(self) -> bool:
        return False

    def request(self, job: Job) -> int:
        self.run_now(job)
        return 0

    def run_now(self, job: Job) -> None:
        result, error = execute(job, self._user_errors, self._what)
        if error is None:
            self.result_ready.emit(result)
        else:
            self.failed.emit(error)

    def cancel(self) -> None:
        """Nothing is ever in flight."""
