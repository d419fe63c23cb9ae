"""The Selection the views share: clamping, stepping, and one signal per action."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.result import StackAttention
from explorer.ui.views import FROM, TO


def count_changes(selection):
    counts = {"changed": 0, "stacks_changed": 0}
    selection.changed.connect(lambda: counts.__setitem__("changed", counts["changed"] + 1))
    selection.stacks_changed.connect(lambda: counts.__setitem__("stacks_changed", counts["stacks_changed"] + 1))
    return counts


def test_new_data_keeps_what_still_fits(selection, hand_stacks):
    selection.set_stacks(hand_stacks)
    assert selection.stack_name == "encoder"
    assert selection.visible_heads == {0, 1, 2}
    selection.set_stack("cross")
    selection.open_head(1, 2)
    selection.set_token(3)
    again = {name: StackAttention(s.name, s.attentions.copy(), s.query_tokens, s.key_tokens, s.causal, s.key_mask)
             for name, s in hand_stacks.items()}
    selection.set_stacks(again)
    assert (selection.stack_name, selection.layer, selection.head, selection.token) == ("cross", 1, 2, 3)
    assert selection.stack is again["cross"]

    shorter = dict(again, cross=StackAttention("cross", again["cross"].attentions[:1, :, :2], ("a", "b"),
                                               again["cross"].key_tokens))
    selection.set_stacks(shorter)
    assert (selection.layer, selection.head, selection.token) == (0, 2, None)  # layer 1 and token 3 are gone


def test_another_model_shows_all_its_heads(selection, hand_stacks):
    selection.set_stacks(hand_stacks)
    selection.set_visible_heads({1})
    six_heads = np.full((1, 6, 2, 2), 0.5, dtype=np.float32)
    selection.set_stacks({"encoder": StackAttention("encoder", six_heads, ("a", "b"), ("a", "b"))})
    assert selection.visible_heads == set(range(6))
    selection.set_stacks({})
    assert selection.stack is None and selection.matrix() is None


def test_each_action_is_announced_once(selection, hand_stacks):
    counts = count_changes(selection)
    selection.set_stacks(hand_stacks)
    assert counts == {"changed": 1, "stacks_changed": 1}
    selection.open_head(1, 2)  # layer, head and visible heads at once
    assert counts["changed"] == 2
    selection.open_head(1, 2)  # nothing new
    assert counts["changed"] == 2
    selection.set_stack("decoder")
    assert counts == {"changed": 3, "stacks_changed": 2}


def test_move_steps_through_heads_then_the_mean(selection, hand_stacks):
    selection.set_stacks(hand_stacks)  # 2 layers, 3 heads
    selection.open_head(0, 2)
    selection.move(0, 1)
    assert (selection.layer, selection.head) == (0, None)  # the mean column
    assert selection.visible_heads == {0, 1, 2}
    selection.move(0, 1)
    assert (selection.layer, selection.head) == (0, None)  # stays at the edge
    selection.move(1, -1)
    assert (selection.layer, selection.head, selection.visible_heads) == (1, 2, {2})
    selection.move(1, 0)
    assert selection.layer == 1


def test_direction_and_token(selection, hand_stacks):
    selection.set_stacks(hand_stacks)
    selection.set_stack("cross")  # 4 queries, 5 keys
    selection.set_token(4, TO)
    assert (selection.token, selection.direction) == (4, TO)
    selection.set_direction(FROM)  # key 4 has no query of that index
    assert selection.token is None
    with pytest.raises(ValueError, match="direction"):
        selection.set_direction("sideways")
    with pytest.raises(KeyError, match="no stack"):
        selection.set_stack("nope")


def test_matrix_is_the_stack_head(selection, hand_stacks):
    selection.set_stacks(hand_stacks)
    selection.open_head(1, 0)
    assert np.array_equal(selection.matrix(), hand_stacks["encoder"].attentions[1, 0])
    selection.set_head(None)
    assert np.array_equal(selection.matrix(), hand_stacks["encoder"].attentions[1].mean(axis=0))


def test_focus_tokens_follow_the_direction_and_name_the_shown_tokens(selection, hand_stacks):
    assert selection.focus_tokens == () and selection.token_names() == ""
    selection.set_stacks(hand_stacks)
    selection.set_stack("cross")  # queries and keys are different sequences here
    cross = hand_stacks["cross"]
    selection.set_token(1, FROM)
    assert selection.focus_tokens == cross.query_tokens
    assert selection.token_names() == repr(cross.query_tokens[1])
    selection.set_token(0, TO)
    selection.toggle_token(2)
    assert selection.focus_tokens == cross.key_tokens
    assert selection.token_names() == f"{cross.key_tokens[0]!r}, {cross.key_tokens[2]!r}"
