"""An imported Hugging Face checkpoint opens in the window like a bundled model: text in, every view drawn."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("imported", ["bert", "gpt2"], indirect=True)
def test_text_in_every_view_drawn(window, imported):
    assert window.open_path(imported.path, "the cat sat on the mat")
    workspace = window.workspace
    workspace.run_now()
    result = workspace.result
    assert result is not None, workspace.state_message.text()
    stack = next(iter(result.stacks))
    expected = imported.run({
        "input_ids": np.asarray([result.token_ids["input_ids"]], np.int64),
        "attention_mask": np.ones((1, len(result.token_ids["input_ids"])), np.int64),
    })[f"attentions.{stack}"][:, 0]
    np.testing.assert_array_equal(workspace.selection.stacks[stack].attentions, expected)
    for name, view in workspace.views.views.items():
        workspace.views.show_view(name)
        image = view.grab()
        assert not image.isNull() and image.width() > 0, name


@pytest.mark.parametrize("imported", ["vit"], indirect=True)
def test_image_in_every_view_drawn(qtbot, window, imported, tmp_path):
    from PySide6.QtGui import QColor, QImage

    picture = QImage(40, 30, QImage.Format.Format_RGB888)
    picture.fill(QColor(200, 120, 40))
    picture.save(str(tmp_path / "picture.png"))
    assert window.open_path(imported.path)
    workspace = window.workspace
    workspace.run_image(tmp_path / "picture.png")
    qtbot.waitUntil(lambda: workspace.result is not None and not workspace.runs.busy, timeout=10_000)
    result = workspace.result
    assert result.logits.shape == (len(imported.metadata.labels),)
    assert result.stacks["encoder"].attentions.shape == (2, 4, 17, 17)
    for name, view in workspace.views.views.items():
        workspace.views.show_view(name)
        image = view.grab()
        assert not image.isNull() and image.width() > 0, name
