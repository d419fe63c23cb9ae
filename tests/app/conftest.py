"""Headless Qt (offscreen), contract files, and a main window with its own settings file."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before pytest-qt makes the QApplication

# Test folders are not packages (pytest's importlib mode): load the shared module by its path.
_spec = importlib.util.spec_from_file_location(
    "contract_models", Path(__file__).resolve().parents[1] / "core" / "contract_models.py"
)
contract_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(contract_models)

model_cache = contract_models.model_cache
bert_path = contract_models.bert_path
transformer_path = contract_models.transformer_path
vit_path = contract_models.vit_path


@pytest.fixture
def settings(tmp_path):
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
def wait_for_result(qtbot):
    """wait_for_result(window): wait until the newest run is drawn; returns its RunResult."""

    def wait(window, timeout: int = 10_000):
        workspace = window.workspace
        qtbot.waitUntil(lambda: workspace.result is not None and not workspace.runs.busy, timeout=timeout)
        return workspace.result

    return wait


@pytest.fixture
def wait_for_model(qtbot):
    """wait_for_model(window, path): wait until a background open has shown the model at `path`."""

    def wait(window, path: Path, timeout: int = 10_000):
        qtbot.waitUntil(lambda: window.model is not None and window.model.path == Path(path).resolve()
                        and not window.opening.busy, timeout=timeout)
        return window.model

    return wait
