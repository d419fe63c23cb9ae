"""Shift-click in the token strip, the head view and the matrix view: the views draw the set's
attention, each token's or combined (sum, mean), rows or (attention to the tokens) columns."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt

from explorer.core.state.selection import EACH, MEAN, SUM
from explorer.core.token_sets import combine
from explorer.ui.token_strip import TokenStrip
from explorer.ui.views import FROM, TO, HeadView, MatrixView
from explorer.ui.views.head_view import MIN_WEIGHT


def assert_combined_lines(view: HeadView, attentions: np.ndarray, tokens, how: str, direction: str) -> None:
    """Each visible head draws combine(...) of its own matrix, from the middle of the set."""
    assert view.lines and view.joined
    middle = np.mean(tokens)
    for head, lines in view.lines.items():
        expected = combine(attentions[view.selection.layer, head], tokens, how, direction)  # (K,) or (Q,)
        others = np.flatnonzero(expected >= MIN_WEIGHT)
        ends, set_side = (lines.key, lines.query) if direction == FROM else (lines.query, lines.key)
        assert np.array_equal(ends, others) and (set_side == middle).all()
        assert np.array_equal(lines.weight, expected[others])


def test_shift_click_in_the_token_strip_chooses_tokens(selection, bert_stack, show, qtbot):
    selection.set_stacks({"encoder": bert_stack})
    strip = show(TokenStrip(), height=80)
    strip.set_tokens(bert_stack.query_tokens)
    # wired as the workspace wires a strip of the encoder's tokens
    strip.token_clicked.connect(selection.set_token)
    strip.chosen_toggled.connect(selection.toggle_token)
    selection.changed.connect(lambda: strip.set_chosen(selection.chosen))
    clicked = []
    strip.token_clicked.connect(clicked.append)

    left, plain, shift = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier
    qtbot.mouseClick(strip.viewport(), left, plain, strip.token_position(2))
    qtbot.mouseClick(strip.viewport(), left, shift, strip.token_position(4))
    assert clicked == [2]  # a Shift-click is not a plain focus
    assert selection.chosen == {2, 4}
    assert strip.chosen() == {2, 4} and "chosen" in strip.looks(4)

    qtbot.mouseClick(strip.viewport(), left, plain, strip.token_position(5))  # a plain click: one token again
    assert selection.chosen == frozenset() and selection.tokens == (5,)
    assert "chosen" not in strip.looks(4)


def test_head_view_draws_the_set_each_summed_and_averaged(selection, bert_stack, show, click, qtbot):
    view = show(HeadView(selection))
    selection.set_stacks({"encoder": bert_stack})
    selection.set_layer(1)
    assert view.how_box.isHidden()
    click(view.canvas, view.token_position(1, FROM))
    click(view.canvas, view.token_position(3, FROM), shift=True)
    assert selection.chosen == {1, 3} and selection.direction == FROM
    assert view.how_box.isVisible()

    # each token: the union of both tokens' own lines
    assert selection.how == EACH and not view.joined
    for head, lines in view.lines.items():
        matrix = bert_stack.attentions[1, head]
        expected = sum(int((matrix[t] >= MIN_WEIGHT).sum()) for t in (1, 3))
        assert len(lines.weight) == expected and set(lines.query.tolist()) == {1, 3}
    assert sorted(view.marker.data["y"].tolist()) == [1.5, 3.5]

    view.how_box.setCurrentIndex(view.how_box.findData(SUM))
    assert selection.how == SUM
    assert_combined_lines(view, bert_stack.attentions, (1, 3), SUM, FROM)
    view.how_box.setCurrentIndex(view.how_box.findData(MEAN))
    assert_combined_lines(view, bert_stack.attentions, (1, 3), MEAN, FROM)
    assert "2 queries" in view.readout.text() and "averaged" in view.readout.text()

    view.direction_switch.click()  # the same tokens as keys: their columns
    assert selection.direction == TO and selection.chosen == {1, 3}
    assert_combined_lines(view, bert_stack.attentions, (1, 3), MEAN, TO)

    click(view.canvas, view.token_position(2, TO))  # a plain click: one token again
    assert selection.chosen == frozenset() and selection.tokens == (2,)
    assert not view.joined and view.how_box.isHidden()


def test_esc_in_the_head_view_clears_the_set(selection, bert_stack, show, click, qtbot):
    view = show(HeadView(selection))
    selection.set_stacks({"encoder": bert_stack})
    click(view.canvas, view.token_position(0, FROM), shift=True)
    click(view.canvas, view.token_position(2, FROM), shift=True)
    assert selection.chosen == {0, 2}
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert selection.chosen == frozenset() and selection.tokens == ()


def test_matrix_view_outlines_the_set_and_draws_its_combined_strip(selection, bert_stack, show, click, qtbot, qapp):
    view = show(MatrixView(selection))
    selection.set_stacks({"encoder": bert_stack})
    selection.set_head(None)  # the mean of heads

    def cell(query, key):
        qapp.processEvents()  # pyqtgraph ranges its views lazily
        return view.view_box.mapViewToScene(QPointF(key + 0.5, query + 0.5))

    click(view.canvas, cell(1, 0))
    click(view.canvas, cell(4, 0), shift=True)
    click(view.canvas, cell(5, 0), shift=True)
    assert selection.chosen == {1, 4, 5}
    assert sum(outline.isVisible() for outline in view.set_outlines) == 2  # besides the focused row
    assert view.combined_row is None  # each token: rows outlined, nothing combined

    selection.set_how(SUM)
    np.testing.assert_array_equal(view.combined_row, combine(selection.matrix(), (1, 4, 5), SUM, FROM))
    assert "sum of queries" in view.plot.titleLabel.text
    qapp.processEvents()
    strip = view.strip_rect()
    key = 2
    assert view.strip_at(view.view_box.mapViewToScene(QPointF(key + 0.5, strip.center().y()))) == key
    assert view.strip_text(key).endswith(str(np.float32(view.combined_row[key])))

    selection.set_direction(TO)  # the set as keys: its combined column, right of the matrix
    np.testing.assert_array_equal(view.combined_row, combine(selection.matrix(), (1, 4, 5), SUM, TO))
    assert view.strip_rect().left() > view.extent.right()

    click(view.canvas, cell(0, 3))  # a plain click: one token again, no strip
    assert selection.tokens == (3,) and view.combined_row is None
