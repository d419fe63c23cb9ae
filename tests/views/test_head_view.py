"""Head view: lines from queries to keys per head; focus by hover or click, direction, head toggles."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from explorer.ui.views import FROM, TO, HeadView
from explorer.ui.views.head_view import MAX_LINES, MIN_WEIGHT, Lines


def assert_token_lines(view: HeadView, attentions: np.ndarray, token: int, direction: str) -> None:
    """Each visible head draws the focused token's weights at or over MIN_WEIGHT, exactly."""
    assert view.lines, "no head drew lines"
    for head, lines in view.lines.items():
        matrix = attentions[view.selection.layer, head]
        weights = matrix[token] if direction == FROM else matrix[:, token]
        others = np.flatnonzero(weights >= MIN_WEIGHT)
        if direction == FROM:
            assert (lines.query == token).all() and np.array_equal(lines.key, others)
        else:
            assert (lines.key == token).all() and np.array_equal(lines.query, others)
        assert np.array_equal(lines.weight, weights[others])


def drawn_segments(view: HeadView) -> int:
    return sum(len(ends) for _, ends in view.bundle.groups)


@pytest.mark.slow  # exports an untrained BERT and runs it (once per session)
def test_clicking_a_query_token_draws_its_attention(selection, bert_run, show, click, settle):
    view = show(HeadView(selection))
    selection.set_stacks({"encoder": bert_run.stack})
    selection.set_layer(1)
    settle()
    click(view.canvas, view.token_position(3, FROM))
    assert (selection.token, selection.direction) == (3, FROM)
    assert_token_lines(view, bert_run.output[:, 0], 3, FROM)
    assert drawn_segments(view) == sum(len(lines.weight) for lines in view.lines.values())
    assert view.marker.data["x"].tolist() == [0.0] and view.marker.data["y"].tolist() == [3.5]

    click(view.canvas, view.token_position(3, FROM))  # again: let go
    assert selection.token is None


def test_hovering_a_key_shows_the_attention_it_receives(selection, hand_stacks, show, hover, settle):
    view = show(HeadView(selection))
    selection.set_stacks(hand_stacks)
    selection.set_stack("cross")  # 4 queries, 5 keys
    selection.set_token(0, FROM)
    settle()
    hover(view.canvas, view.token_position(2, TO))
    assert view.hovered == (2, TO)
    assert_token_lines(view, hand_stacks["cross"].attentions, 2, TO)
    assert "key 2 'dort'" in view.readout.text()
    assert (selection.token, selection.direction) == (0, FROM)  # hovering does not pin

    hover(view.canvas, view.view_box.mapViewToScene(QPointF(0.5, 1.5)))  # between the columns
    assert view.hovered is None
    assert_token_lines(view, hand_stacks["cross"].attentions, 0, FROM)  # the pinned token again


@pytest.mark.slow  # exports an untrained BERT and runs it (once per session)
def test_direction_switch_shows_attention_to_the_token(selection, bert_run, show):
    view = show(HeadView(selection))
    selection.set_stacks({"encoder": bert_run.stack})
    selection.set_token(5)
    view.direction_switch.click()
    assert selection.direction == TO
    assert_token_lines(view, bert_run.output[:, 0], 5, TO)
    view.direction_switch.click()
    assert selection.direction == FROM
    assert_token_lines(view, bert_run.output[:, 0], 5, FROM)


@pytest.mark.slow  # exports an untrained BERT and runs it (once per session)
def test_head_toggles_hide_a_heads_lines(selection, bert_run, show):
    view = show(HeadView(selection))
    selection.set_stacks({"encoder": bert_run.stack})  # 4 heads
    selection.set_token(2)
    before = drawn_segments(view)
    hidden = len(view.lines[1].weight)
    view.toggles.buttons[1].click()
    assert selection.visible_heads == {0, 2, 3}
    assert set(view.lines) == {0, 2, 3}
    assert drawn_segments(view) == before - hidden
    view.toggles.buttons[1].click()
    assert set(view.lines) == {0, 1, 2, 3}
    assert [b.isChecked() for b in view.toggles.buttons] == [True] * 4


def test_keys_move_and_clear_the_focus(selection, hand_stacks, show, qtbot):
    view = show(HeadView(selection))
    selection.set_stacks(hand_stacks)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert selection.token == 0
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert selection.token == 1
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert selection.token is None


def test_without_focus_the_strongest_lines_are_drawn():
    rng = np.random.default_rng(3)
    matrix = rng.dirichlet(np.full(200, 0.3), size=200).astype(np.float32)  # (200, 200), many weights >= MIN_WEIGHT
    assert (matrix >= MIN_WEIGHT).sum() > 500
    lines = Lines.of(matrix, None, FROM, limit=500)
    assert len(lines.weight) == 500
    assert np.array_equal(lines.weight, matrix[lines.query, lines.key])
    left_out = np.ones_like(matrix, dtype=bool)
    left_out[lines.query, lines.key] = False
    assert lines.weight.min() >= matrix[left_out].max()


def test_long_inputs_draw_a_bounded_number_of_lines(selection, show):
    from explorer.core.result import StackAttention

    rng = np.random.default_rng(0)
    attention = rng.dirichlet(np.full(512, 0.05), size=(1, 12, 512)).astype(np.float32)  # peaked rows
    tokens = tuple(f"t{i}" for i in range(512))
    view = show(HeadView(selection))
    selection.set_stacks({"encoder": StackAttention("encoder", attention, tokens, tokens)})
    assert drawn_segments(view) <= MAX_LINES
    assert len(view.bundle.groups) <= 12 * 8  # a handful of pens, one item
