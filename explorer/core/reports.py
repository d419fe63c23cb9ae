"""A bug report a person can attach: written when an error reaches the last-resort handler (an
error the app has no sentence for is a bug), under $XDG_STATE_HOME/attention-explorer/reports/."""

from __future__ import annotations

import itertools
import os
import platform
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

APP = "attention-explorer"


def reports_folder() -> Path:
    state_home = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state_home) / APP / "reports"


def write_report(exc: BaseException, what: str) -> Path | None:
    """Write `exc` with its traceback and the versions that ran it; the file's path, or None when
    it could not be written (a read-only home, say: the message then says so)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    lines = [
        f"{what} failed: {type(exc).__name__}: {exc}",
        f"time: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"python: {sys.version.split()[0]} on {platform.platform()}",
        *(f"{name}: {_version(name)}" for name in (APP, "onnxruntime", "numpy", "tokenizers", "PySide6-Essentials")),
        "",
        *traceback.format_exception(exc),
    ]
    text = "\n".join(line.rstrip("\n") for line in lines) + "\n"
    try:
        folder = reports_folder()
        folder.mkdir(parents=True, exist_ok=True)
        for number in itertools.count(1):  # several bugs in one second each keep their own file
            path = folder / f"report-{stamp}-{os.getpid()}-{number}.txt"
            try:
                with path.open("x", encoding="utf-8") as file:
                    file.write(text)
                return path
            except FileExistsError:
                continue
    except OSError:
        return None


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
