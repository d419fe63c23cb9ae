"""Matrix view: the heatmap of one head or the mean, token labels, hover values, cells not allowed."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF

from explorer.ui.views import FROM, TO, MatrixView
from explorer.ui.views.colors import NOT_ALLOWED
from explorer.ui.views.matrix_view import allowed_cells, value_text
from explorer.ui.views.token_axis import TokenAxis


def cell_center(view: MatrixView, query: int, key: int) -> QPointF:
    return view.view_box.mapViewToScene(QPointF(key + 0.5, query + 0.5))


@pytest.mark.slow  # exports an untrained BERT and runs it (once per session)
def test_shows_the_head_or_the_mean_onnx_runtime_returned(selection, bert_run, show):
    view = show(MatrixView(selection))
    selection.set_stacks({"encoder": bert_run.stack})
    selection.open_head(1, 3)
    assert np.array_equal(view.image.image, bert_run.output[1, 0, 3])
    assert view.image.image.dtype == np.float32
    selection.set_head(None)
    assert np.array_equal(view.image.image, bert_run.output[0 + 1, 0].mean(axis=0))
    assert view.query_axis.labels == bert_run.stack.query_tokens
    assert view.key_axis.labels == bert_run.stack.key_tokens
    assert view.color_bar.levels() == (0.0, float(view.matrix[view.allowed].max()))


@pytest.mark.slow  # exports an untrained BERT and runs it (once per session)
def test_hover_reads_query_key_and_exact_value(selection, bert_run, show, hover, settle):
    view = show(MatrixView(selection))
    stack = bert_run.stack
    selection.set_stacks({"encoder": stack})
    selection.open_head(0, 1)
    settle()
    query, key = 2, 4
    hover(view.canvas, cell_center(view, query, key))
    text = view.readout.text()
    value = bert_run.output[0, 0, 1, query, key]
    assert f"query {query} {stack.query_tokens[query]!r}" in text
    assert f"key {key} {stack.key_tokens[key]!r}" in text
    shown_value = text.rsplit(": ", 1)[1].split()[0]
    assert np.float32(shown_value) == value  # reads back to the very float32


def test_value_text_round_trips_float32():
    for value in np.random.default_rng(0).random(100, dtype=np.float32):
        assert np.float32(value_text(value)) == value


@pytest.mark.slow  # exports an untrained BERT and runs it (once per session)
def test_masked_keys_are_grey_not_small(selection, bert_run, show):
    view = show(MatrixView(selection))
    stack = bert_run.stack
    selection.set_stacks({"encoder": stack})
    overlay = view.not_allowed.image  # (queries, keys, RGBA)
    masked = ~stack.key_mask
    assert masked.sum() == 2
    assert (overlay[:, masked] == NOT_ALLOWED).all()
    assert (overlay[:, ~masked, 3] == 0).all()  # everything else shows through
    assert view.not_allowed.isVisible()
    assert np.all(view.matrix[:, masked] == 0)  # ONNX Runtime gave exactly 0 there


def test_causal_future_is_grey(selection, hand_stacks, show):
    view = show(MatrixView(selection))
    selection.set_stacks(hand_stacks)
    selection.set_stack("decoder")
    future = np.triu(np.ones((4, 4), dtype=bool), k=1)
    assert np.array_equal(~allowed_cells(hand_stacks["decoder"]), future)
    assert (view.not_allowed.image[future] == NOT_ALLOWED).all()
    assert (view.not_allowed.image[~future, 3] == 0).all()


def test_clicking_a_cell_focuses_its_token(selection, hand_stacks, show, click, settle):
    view = show(MatrixView(selection))
    selection.set_stacks(hand_stacks)
    selection.set_stack("cross")  # 4 queries, 5 keys
    settle()
    click(view.canvas, cell_center(view, 3, 1))
    assert (selection.token, selection.direction) == (3, FROM)
    rect = view.focus_outline.rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (0, 3, 5, 1)  # the query's row
    selection.set_direction(TO)
    click(view.canvas, cell_center(view, 0, 4))
    assert (selection.token, selection.direction) == (4, TO)
    rect = view.focus_outline.rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (4, 0, 1, 4)  # the key's column


def test_crowded_labels_are_thinned(qapp):
    axis = TokenAxis("left")
    axis.set_tokens(tuple(f"t{i}" for i in range(512)))
    step = axis.label_step(0, 512, 500)
    assert step > 1
    ((spacing, positions),) = axis.tickValues(0, 512, 500)
    assert positions == [t + 0.5 for t in range(0, 512, step)]
    ((_, few),) = axis.tickValues(0, 8, 500)  # zoomed in: every token
    assert few == [t + 0.5 for t in range(8)]
    axis.set_highlight(5)
    ((_, highlighted),) = axis.tickValues(0, 512, 500)
    assert 5.5 in highlighted


@pytest.mark.parametrize("highlight", [None, 17])
def test_token_axes_lay_out_labels_as_pyqtgraph_does(selection, show, settle, highlight):
    """The token axes' own layout (labels measured once) gives pyqtgraph's ticks and label boxes."""
    from explorer.core.result import StackAttention

    words = ["the", "##ization", "[SEP]", "a", "é"] * 8
    tokens = tuple(f"{word}{i}" for i, word in zip(range(40), words, strict=True))
    weights = np.full((1, 1, 40, 40), 1 / 40, np.float32)
    view = show(MatrixView(selection), 500, 400)
    view.key_axis.rotate_long_labels = False  # pyqtgraph lays labels out only across
    selection.set_stacks({"encoder": StackAttention("encoder", weights, tokens, tokens)})
    selection.set_token(highlight)
    settle()
    for axis in (view.query_axis, view.key_axis):
        assert_same_layout(axis)
    for start in np.arange(10, 11, 0.1):  # zoomed in, the ends shifting: some labels stick out and are left out
        view.view_box.setRange(QRectF(start, start, 6, 6), padding=0)
        settle()
        for axis in (view.query_axis, view.key_axis):
            assert_same_layout(axis)


def test_long_key_labels_stand_upright_and_all_fit(selection, show, settle):
    """Words as keys are drawn upright: one line's height each, so a row that across would
    leave every other word out labels them all; single characters stay across."""
    from explorer.core.result import StackAttention

    words = ("containing", "iterable", "statement", "return") * 4
    weights = np.full((1, 1, 16, 16), 1 / 16, np.float32)
    view = show(MatrixView(selection), 700, 600)
    selection.set_stacks({"encoder": StackAttention("encoder", weights, words, words)})
    settle()
    axis = view.key_axis
    assert axis.rotated
    _, _, texts = axis.generateDrawSpecs(None)
    assert [text for _, _, text in texts] == list(words)  # every key named
    assert all(box.height() > box.width() for box, _, _ in texts)  # upright boxes
    assert axis.height() > max(box.height() for box, _, _ in texts)  # room made above the matrix

    across = TokenAxis("top")  # the same labels across would thin out at this width
    across.set_tokens(words)
    assert across.label_step(0, 16, view.view_box.width()) > 1

    selection.set_stacks({"encoder": StackAttention("encoder", weights, tuple("abcdefghijklmnop"),
                                                    tuple("abcdefghijklmnop"))})
    settle()
    assert not axis.rotated


def assert_same_layout(axis) -> None:
    """The axis's ticks and label boxes as it lays them out, and as pyqtgraph's AxisItem does."""
    import pyqtgraph as pg
    from PySide6.QtGui import QPainter, QPicture

    specs = {}
    layouts = {"ours": axis.generateDrawSpecs, "pyqtgraph's": partial(pg.AxisItem.generateDrawSpecs, axis)}
    for name, layout in layouts.items():
        picture = QPicture()
        painter = QPainter(picture)
        painter.setFont(axis.style["tickFont"])
        (_, start, end), ticks, texts = layout(painter)
        painter.end()
        specs[name] = ((start.x(), start.y(), end.x(), end.y()),
                       [(a.x(), a.y(), b.x(), b.y()) for _, a, b in ticks],
                       [(r.x(), r.y(), r.width(), r.height(), int(flags), text) for r, flags, text in texts])
    assert specs["ours"] == specs["pyqtgraph's"], axis.orientation
    assert specs["ours"][2], "no labels drawn"
