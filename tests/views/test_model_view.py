"""Model view: thumbnails of every head, a click or an arrow key opens a head in the other views."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from explorer.core.result import StackAttention
from explorer.ui.views import MatrixView, ModelView
from explorer.ui.views.colors import heatmap
from explorer.ui.views.model_view import GAP, block_means, compose


def test_block_means_are_means_of_blocks():
    rng = np.random.default_rng(0)
    even = rng.random((2, 3, 128, 64), dtype=np.float32)
    expected = even.reshape(2, 3, 64, 2, 64, 1).mean(axis=(3, 5))
    np.testing.assert_allclose(block_means(even, size=64), expected, rtol=1e-6)

    uneven = rng.random((1, 1, 5, 3), dtype=np.float32)  # 5 rows in 2 blocks: [0, 2) and [2, 5)
    means = block_means(uneven, size=2)
    expected = np.array([
        [uneven[0, 0, 0:2, 0:2].mean(), uneven[0, 0, 0:2, 2:3].mean()],
        [uneven[0, 0, 2:5, 0:2].mean(), uneven[0, 0, 2:5, 2:3].mean()],
    ])
    np.testing.assert_allclose(means[0, 0], expected, rtol=1e-6)


def test_thumbnails_put_queries_down_and_keys_across():
    """Layer 0 head 1 attends key 0 from every query: its thumbnail's first column is the
    brightest colour, the rest the darkest; heads sit in columns, layers in rows."""
    attention = np.full((2, 2, 4, 4), 0.25, dtype=np.float32)
    attention[0, 1] = 0.0
    attention[0, 1, :, 0] = 1.0
    tokens = ("a", "b", "c", "d")
    image = compose(StackAttention("encoder", attention, tokens, tokens))
    lut = heatmap().getLookupTable(nPts=256, alpha=False)
    layers, columns = 2, 3  # two heads and the mean
    cell_h, cell_w = image.shape[0] // layers, image.shape[1] // columns
    cell = image[:cell_h, cell_w : 2 * cell_w]  # layer 0, head 1
    inner = cell[GAP : cell_h - GAP, GAP : cell_w - GAP]  # (rows, cols, 3)
    grow = inner.shape[1] // 4
    assert (inner[:, :grow] == lut[255]).all()
    assert (inner[:, grow:] == lut[0]).all()


@pytest.mark.slow  # exports an untrained BERT and runs it (once per session)
def test_clicking_a_thumbnail_opens_that_head(selection, bert_run, show, click, settle):
    stack = bert_run.stack
    model_view = show(ModelView(selection))
    matrix_view = show(MatrixView(selection))
    selection.set_stacks({"encoder": stack})
    settle()
    for layer, head in ((1, 2), (0, 3), (1, 0)):
        click(model_view.canvas, model_view.cell_center(layer, head))
        assert (selection.layer, selection.head) == (layer, head)
        assert selection.visible_heads == {head}
        # the matrix view holds exactly what ONNX Runtime returned for this head
        assert np.array_equal(matrix_view.image.image, bert_run.output[layer, 0, head])
        assert np.array_equal(matrix_view.matrix, stack.head(layer, head))
        outline = model_view.outline.rect()
        assert (outline.x(), outline.y()) == (head, layer)

    click(model_view.canvas, model_view.cell_center(0, None))  # the mean column
    assert (selection.layer, selection.head) == (0, None)
    assert np.array_equal(matrix_view.image.image, stack.attentions[0].mean(axis=0))


def test_arrow_keys_move_the_selection(selection, hand_stacks, show, qtbot):
    model_view = show(ModelView(selection))
    selection.set_stacks(hand_stacks)  # 2 layers, 3 heads
    model_view.setFocus()
    selection.open_head(0, 0)
    qtbot.keyClick(model_view, Qt.Key.Key_Right)
    qtbot.keyClick(model_view, Qt.Key.Key_Down)
    assert (selection.layer, selection.head) == (1, 1)
    qtbot.keyClick(model_view, Qt.Key.Key_Right)
    qtbot.keyClick(model_view, Qt.Key.Key_Right)
    assert selection.head is None  # past the last head: the mean
    outline = model_view.outline.rect()
    assert (outline.x(), outline.y()) == (3, 1)
    qtbot.keyClick(model_view, Qt.Key.Key_Up)
    qtbot.keyClick(model_view, Qt.Key.Key_Left)
    assert (selection.layer, selection.head) == (0, 2)


def test_a_hidden_view_catches_up_when_shown(selection, hand_stacks, show):
    model_view = ModelView(selection)
    selection.set_stacks(hand_stacks)
    assert model_view.composed is None  # not drawn while nobody sees it
    show(model_view)
    assert np.array_equal(model_view.composed, compose(hand_stacks["encoder"]))
