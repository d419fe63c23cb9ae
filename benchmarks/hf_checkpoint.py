"""A random-weight Hugging Face checkpoint for a benchmark, written once and imported once with
`attention-export hf`; both are kept in the work folder and reused by later runs."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_checkpoint(work: Path, name: str, make_checkpoint: Callable[[Path], None], what: str) -> Path:
    """WORK/NAME.onnx, imported from WORK/NAME/ (written by `make_checkpoint(folder)` if missing)."""
    folder, model = work / name, work / f"{name}.onnx"
    if not (folder / "model.safetensors").exists():
        print(f"writing a random {what} checkpoint to {folder} ...", flush=True)
        make_checkpoint(folder)
    if not model.exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "export.cli", "hf", str(folder), "--out", str(model)],
                       check=True, cwd=REPO)
        print(f"attention-export hf: {time.perf_counter() - started:.0f} s", flush=True)
    return model


def open_window(model: Path, settings_name: str):
    """(app, window, seconds): the app's main window in this process, 1400 × 900 with settings of its
    own (WORK/SETTINGS_NAME.ini beside the model), opened on `model` and shown; seconds to open it."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(settings=QSettings(str(model.parent / f"{settings_name}.ini"), QSettings.Format.IniFormat))
    window.resize(1400, 900)
    started = time.perf_counter()
    if not window.open_path(model):
        raise RuntimeError(f"the app could not open {model}")
    opened = time.perf_counter() - started
    window.show()
    return app, window, opened
