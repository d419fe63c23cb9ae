"""Runners over the contract models, and the model view's image cut into thumbnails.
The contract models (`bert_path`, `small_configs`, ...) and the window come from tests/conftest.py."""

from __future__ import annotations

import pytest


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
