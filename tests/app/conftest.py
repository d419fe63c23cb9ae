"""The app tests' own fixture: waiting for a model opened in the background. The contract models,
settings and window come from tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def wait_for_model(qtbot):
    """wait_for_model(window, path): wait until a background open has shown the model at `path`."""

    def wait(window, path: Path, timeout: int = 10_000):
        qtbot.waitUntil(lambda: window.model is not None and window.model.path == Path(path).resolve()
                        and not window.opening.busy, timeout=timeout)
        return window.model

    return wait
