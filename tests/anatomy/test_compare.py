"""Two inputs: the difference is first - second, and its colours are centred on zero."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.compare import ShapeMismatchError, check_same_length, compare


def test_difference_and_symmetric_levels():
    rng = np.random.default_rng(1)
    a, b = rng.random((5, 5)), rng.random((5, 5))
    c = compare(a, b)
    np.testing.assert_array_equal(c.difference, a - b)
    low, high = c.levels
    assert low == -high == -np.abs(a - b).max()


def test_mismatch_names_both_counts():
    with pytest.raises(ShapeMismatchError, match="7 tokens.*9"):
        check_same_length(7, 9)
    with pytest.raises(ShapeMismatchError):
        compare(np.zeros((2, 2)), np.zeros((3, 3)))


def test_panel_compares_two_sentences(model_paths, make_panel, qtbot):
    workspace, panel = make_panel(model_paths["bert"], "the cat sat on the mat")
    panel.show_tab(panel.compare)
    workspace.selection.open_head(1, 2)
    panel.compare.text.setText("the dog sat on the rug")
    with qtbot.waitSignal(panel.compare.runs.result_ready, timeout=10000):
        panel.compare.run_second()
    second = panel.compare.second.stacks["encoder"].attentions[1, 2]
    first = workspace.result.stacks["encoder"].attentions[1, 2]
    shown = panel.compare.grid.panels["first − second"]
    np.testing.assert_allclose(shown.matrix, first - second)
    low, high = shown.image.getLevels()
    assert low == -high > -np.inf and high == pytest.approx(np.abs(first - second).max())

    panel.compare.text.setText("a much longer sentence than the first one was")
    with qtbot.waitSignal(panel.compare.runs.result_ready, timeout=10000):
        panel.compare.run_second()
    assert not panel.compare.grid.panels
    assert "tokens" in panel.compare.message.text()
