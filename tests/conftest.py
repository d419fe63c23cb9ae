"""Fixtures shared by every test area: headless Qt, small untrained contract models, a main window
with its own settings file, and the widgets' common helpers. An area's conftest keeps only its own.

The contract models are exported by `attention-export untrained` in a child process (so that torch
never enters the test process), once per configuration, and cached between runs by the hash of the
exporter's sources."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before pytest-qt makes the QApplication
# Bug reports the app writes (explorer.core.reports) go to a folder of the session's, never the user's.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="attention-explorer-state-")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# Small enough to export in seconds; max_positions small enough that "a very long text" is cheap.
SMALL = {
    "bert": {"vocab_size": 160, "d_model": 32, "heads": 4, "layers": 2, "d_ff": 64, "max_positions": 48},
    "transformer": {"vocab_size": 160, "d_model": 32, "heads": 2, "encoder_layers": 2, "decoder_layers": 3,
                    "d_ff": 64, "max_positions": 40},
    "vit": {"image_size": 16, "patch_size": 4, "d_model": 32, "heads": 2, "layers": 3, "d_ff": 64, "classes": 5},
    "gpt": {"vocab_size": 160, "d_model": 32, "heads": 4, "layers": 2, "d_ff": 64, "max_positions": 48},
}


def _sources_hash() -> str:
    """The sources an untrained export runs through (training and data code are not among them)."""
    digest = hashlib.sha256()
    sources = [*REPO.glob("export/*.py"), *REPO.glob("export/models/*.py"), REPO / "explorer" / "contract.py"]
    for path in sorted(sources):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def contract_model(kind: str, cache_dir: Path) -> Path:
    """The path of a small untrained `kind` model ("bert", "transformer", "vit", "gpt"), exporting it if needed."""
    config = json.dumps(SMALL[kind], sort_keys=True)
    key = hashlib.sha256(f"{_sources_hash()} {kind} {config}".encode()).hexdigest()[:16]
    path = cache_dir / f"{kind}-{key}.onnx"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.partial.onnx")
        subprocess.run(
            [sys.executable, "-m", "export.cli", "untrained", kind, "--out", str(partial), "--config", config],
            check=True, cwd=REPO, capture_output=True,
        )
        os.replace(partial, path)  # whole files only, even with two sessions exporting at once
        for stale in cache_dir.glob(f"{kind}-*.onnx"):  # exports of older sources
            if stale != path and ".partial" not in stale.name:
                stale.unlink(missing_ok=True)
    return path


# -- contract models (seed 0), one of each kind per session ----------------------------------------


@pytest.fixture(scope="session")
def model_cache(request, tmp_path_factory) -> Path:
    """pytest's cache folder, kept between runs; a temporary one under `-p no:cacheprovider`."""
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir("contract-models")) if cache else tmp_path_factory.mktemp("contract-models")


@pytest.fixture(scope="session")
def small_configs() -> dict[str, dict]:
    """The config overrides the contract models were exported with (seed 0), to rebuild them in PyTorch."""
    return SMALL


@pytest.fixture(scope="session")
def bert_path(model_cache) -> Path:
    return contract_model("bert", model_cache)


@pytest.fixture(scope="session")
def transformer_path(model_cache) -> Path:
    return contract_model("transformer", model_cache)


@pytest.fixture(scope="session")
def vit_path(model_cache) -> Path:
    return contract_model("vit", model_cache)


@pytest.fixture(scope="session")
def gpt_path(model_cache) -> Path:
    return contract_model("gpt", model_cache)


@pytest.fixture(scope="session")
def model_paths(bert_path, transformer_path) -> dict[str, Path]:
    """The text models by kind, for tests that go through both."""
    return {"bert": bert_path, "transformer": transformer_path}


# -- the main window ------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path):
    """A settings file of the test's own: recents and choices never leak between tests or from the user."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    from explorer.ui.main_window import MainWindow

    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    yield window
    window.workspace.shutdown()


@pytest.fixture
def wait_for_model(qtbot):
    """wait_for_model(window, path): wait until a background open has shown the model at `path`."""

    def wait(window, path: Path, timeout: int = 10_000):
        qtbot.waitUntil(lambda: window.model is not None and window.model.path == Path(path).resolve()
                        and not window.opening.busy, timeout=timeout)
        return window.model

    return wait


@pytest.fixture
def gated_open(monkeypatch):
    """Opening waits for `gate` to be set, and notes the thread it ran on and the path it opened."""
    from explorer.core.state import app_state as opening_module  # where the window's opens happen

    real_open = opening_module.open_model
    gate = threading.Event()
    calls = []

    def open_model(path, provider="cpu"):
        calls.append((path.name, threading.current_thread() is threading.main_thread()))
        if not gate.wait(timeout=10):
            raise TimeoutError("the test never let the opening go on")
        return real_open(path, provider)

    monkeypatch.setattr(opening_module, "open_model", open_model)
    yield gate, calls
    gate.set()  # a test that failed early must not keep the worker waiting


class HeldSession:
    """An ONNX Runtime session whose first run waits, inside Runner.run_graph, until its RunOptions
    are terminated: a run in flight for as long as a test needs, without timing. Then ONNX Runtime
    itself is asked to run with those options."""

    def __init__(self, session):
        self._session = session
        self.started = threading.Event()  # the held run is in flight
        self.runs = 0

    def __getattr__(self, name):
        return getattr(self._session, name)

    def run(self, names, feeds, options=None):
        self.runs += 1
        if self.runs == 1:
            self.started.set()
            for _ in range(1000):  # 10 s at most: a test that never cancels fails rather than hangs
                if options is not None and options.terminate:
                    break
                time.sleep(0.01)
        return self._session.run(names, feeds, options)


@pytest.fixture
def hold_first_run():
    """hold_first_run(runner) -> HeldSession: the runner's next run stays in flight until cancelled."""
    import dataclasses

    def hold(runner) -> HeldSession:
        held = HeldSession(runner.model.session)
        runner.model = dataclasses.replace(runner.model, session=held)
        return held

    return hold


@pytest.fixture
def drop_files():
    """drop_files(window, *paths) -> (event, mime): files dropped on `window` as a file manager drops them."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    def drop(window, *paths):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier)
        window.dropEvent(event)
        return event, mime  # the event does not own its mime data: keep both alive together

    return drop


@pytest.fixture
def wait_for_result(qtbot):
    """wait_for_result(window): wait until no run is in flight and the newest one is drawn; returns its RunResult."""

    def wait(window, timeout: int = 10_000):
        workspace = window.workspace
        qtbot.waitUntil(lambda: workspace.result is not None and not workspace.runs.busy, timeout=timeout)
        return workspace.result

    return wait


# -- views on their own ---------------------------------------------------------------------------


@pytest.fixture
def selection(qapp):
    """The selection the views share, without a window around them."""
    from explorer.ui.views import Selection

    return Selection()


@pytest.fixture
def show(qtbot):
    """Show a widget at a fixed size and wait until it is drawn; pytest-qt closes it afterwards."""

    def shown(widget, width=800, height=600):
        qtbot.addWidget(widget)
        widget.resize(width, height)
        widget.show()
        qtbot.waitExposed(widget)
        return widget

    return shown


@pytest.fixture
def click(qtbot, qapp):
    """Click a pyqtgraph canvas where a scene position lies on screen, with or without Shift."""
    from PySide6.QtCore import Qt

    def click_at(canvas, scene_pos, shift=False):
        qapp.processEvents()  # pyqtgraph ranges its views lazily
        modifier = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, modifier, canvas.mapFromScene(scene_pos))

    return click_at


@pytest.fixture
def settle(qapp):
    """Let Qt lay out and range the views (pyqtgraph updates view ranges lazily); call it
    after changing data and before mapping positions to the screen."""
    return qapp.processEvents


@pytest.fixture
def hover(qtbot):
    """Move the mouse over a pyqtgraph canvas to where a scene position lies on screen."""

    import pyqtgraph as pg

    rate = pg.getConfigOption("mouseRateLimit")  # moves per second; pyqtgraph drops moves that come faster
    gap_ms = int(1000 / rate) + 5 if rate > 0 else 0

    def hover_at(canvas, scene_pos):
        qtbot.wait(gap_ms)
        qtbot.mouseMove(canvas.viewport(), pos=canvas.mapFromScene(scene_pos))

    return hover_at
