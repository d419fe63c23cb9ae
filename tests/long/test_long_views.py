"""The views of a long input in the window: the pooled map, zooming in to fetch exact rows, and the
value read under the mouse equal to the model's own (the full path's, for the same text)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt

from explorer.core.model import open_model
from explorer.core.runner import Runner
from explorer.core.state.selection import TO
from explorer.ui.views.base import value_text
from explorer.ui.views.pooled_cells import ZOOM_ROWS, block_sizes

TEXT = "the cat sat on the mat because it was tired"


@pytest.fixture
def long_window(window, gpt_path, wait_for_result):
    """The window on the small GPT, its runner taking the long path for any input, pooling to 5 cells a side."""
    window.open_path(gpt_path, TEXT)
    wait_for_result(window)
    window.workspace.runner.attention_budget, window.workspace.runner.pooled_side = 0, 5
    window.workspace.request_run()
    wait_for_result(window)
    assert not window.workspace.selection.stack.complete
    return window


def test_the_matrix_view_zooms_in_to_exact_values(qtbot, long_window, gpt_path, wait_for_result, hover):
    workspace = long_window.workspace
    views = workspace.views
    long_window.resize(1100, 800)
    long_window.show()
    qtbot.waitExposed(long_window)
    views.show_view("matrix")
    view = views.views["matrix"]
    view.refresh()
    qtbot.wait(20)  # pyqtgraph ranges the view lazily
    selection = workspace.selection
    stack = selection.stack
    expected = Runner(open_model(gpt_path)).run_text(TEXT).stacks["decoder"]
    layer, head = selection.layer, selection.head

    # the whole matrix: the pooled map, each cell its mass over its keys
    sizes = block_sizes(len(stack.key_tokens), stack.block)
    np.testing.assert_allclose(view.image.image, stack.pooled_head(layer, head) / sizes, rtol=1e-6)
    query, key = 12, 5
    assert query not in stack.rows
    hover(view.canvas, view.view_box.mapViewToScene(QPointF(key + 0.5, query + 0.5)))
    assert "pooled" in view.readout.text()

    # zoom to a few rows: they are fetched, drawn exactly, and read back as the model's values
    view.view_box.setRange(QRectF(4, 10, 8, 6), padding=0)
    qtbot.waitUntil(lambda: query in selection.stack.rows, timeout=10_000)
    wait_for_result(long_window)
    view.refresh()
    qtbot.wait(10)
    hover(view.canvas, view.view_box.mapViewToScene(QPointF(key + 0.5, query + 0.5)))
    model_value = expected.row(layer, head, query)[key]
    assert view.readout.text().endswith(f": {value_text(model_value)}")
    np.testing.assert_allclose(selection.row(query)[key], model_value, atol=1e-6)
    # the colours are scaled to what is in sight: rows 10-15 exactly, keys 4-11, and their pooled cells
    held = selection.stack
    b = held.block
    means = held.pooled_head(layer, head) / block_sizes(len(held.key_tokens), b)
    in_sight = max(float(means[10 // b : -(-16 // b), 4 // b : -(-12 // b)].max()),
                   float(expected.head(layer, head)[10:16, 4:12].max()))
    assert view.color_bar.levels()[1] == pytest.approx(in_sight, rel=1e-6)
    assert in_sight < view.cells.high(held, layer, head)  # not the whole map's scale
    drawn = [image.image for image in view.cells.row_images if image.isVisible()]
    assert any(np.allclose(rows, expected.head(layer, head)[10:16], atol=1e-6) for rows in drawn if len(rows) == 6)
    assert ZOOM_ROWS >= 6

    # Home: the whole matrix again; the rows stay held
    qtbot.keyClick(view, Qt.Key.Key_Home)
    (_, _), (top, bottom) = view.view_box.viewRange()
    assert top <= 0 and bottom >= len(stack.query_tokens)


def test_the_model_and_head_views_draw_a_long_input(long_window, wait_for_result):
    workspace = long_window.workspace
    views, selection = workspace.views, workspace.selection
    stack = selection.stack
    model_view = views.views["model"]
    model_view.refresh()
    rows_per_layer = model_view.composed.shape[0] // stack.layers
    assert model_view.composed.shape[0] == rows_per_layer * stack.layers  # every layer's thumbnails, from pooled maps

    views.show_view("head")
    head_view = views.views["head"]
    selection.set_token(7)  # a query whose row the run lacks: fetched
    wait_for_result(long_window)
    assert 7 in selection.stack.rows
    head_view.refresh()
    for head, lines in head_view.lines.items():
        row = selection.stack.row(selection.layer, head, 7)
        assert set(lines.query.tolist()) == {7}
        np.testing.assert_array_equal(lines.weight, row[lines.key])

    # attention to a key: what the rows held give it, said as such
    selection.set_token(3, TO)
    head_view.refresh()
    held = selection.stack
    for head, lines in head_view.lines.items():
        assert set(lines.query.tolist()) <= set(held.rows) and set(lines.key.tolist()) <= {3}
        for query, weight in zip(lines.query.tolist(), lines.weight.tolist(), strict=True):
            assert weight == held.row(selection.layer, head, query)[3]
    assert any(len(lines.query) for lines in head_view.lines.values())
    assert "queries held exactly" in head_view._token_text(3, TO)
