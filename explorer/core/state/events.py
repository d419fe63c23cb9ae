"""A small observer: the state model's events, which widgets (or tests) connect callbacks to.

An `Event` is called synchronously, on the thread that emits it (the state model is only ever
changed on the GUI thread), with the arguments it was emitted with. `connect` and `disconnect`
are spelled as Qt's signals are, so that pytest-qt's `waitSignal` works on an Event too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Event:
    def __init__(self) -> None:
        self._callbacks: list[Callable] = []
        self._blocked = 0

    def connect(self, callback: Callable) -> Callable:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        """Forget `callback` (its first connection); a callback never connected raises ValueError."""
        self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        if self._blocked:
            return
        for callback in list(self._callbacks):  # a callback may connect or disconnect others
            callback(*args)

    @contextmanager
    def blocked(self) -> Iterator[None]:
        """Emit nothing inside the block (for a change that is followed by its own announcement)."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1
