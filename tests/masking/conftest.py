"""Headless Qt, small contract files (exported in a child process), and a main window."""

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



@pytest.fixture(scope="session")
def small_configs() -> dict[str, dict]:
    """The config overrides the contract files were exported with (seed 0)."""
    return contract_models.SMALL


@pytest.fixture(scope="session")
def bert_runner(bert_path):
    from explorer.core.model import open_model
    from explorer.core.runner import Runner

    return Runner(open_model(bert_path))


@pytest.fixture(scope="session")
def transformer_runner(transformer_path):
    from explorer.core.model import open_model
    from explorer.core.runner import Runner

    return Runner(open_model(transformer_path))


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
def thumbnails():
    """thumbnails(image, stack): the model view's composed image cut into its thumbnails,
    (layers, heads + 1, q, k, 3), the gaps between them left out."""
    from explorer.ui.views.model_view import GAP

    def cut(image, stack):
        layers, columns = stack.layers, stack.heads + 1
        rows, cols = image.shape[0] // layers, image.shape[1] // columns
        cells = image.reshape(layers, rows, columns, cols, 3).swapaxes(1, 2)  # (L, C, rows, cols, 3)
        return cells[:, :, GAP : rows - GAP, GAP : cols - GAP]

    return cut
