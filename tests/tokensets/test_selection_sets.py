"""The Selection's chosen token set: built by Shift-click, let go by a plain focus or new input."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.result import StackAttention
from explorer.core.state.selection import EACH, FROM, MEAN, TO


def stack_of(tokens: tuple[str, ...], keys: tuple[str, ...] | None = None) -> StackAttention:
    keys = keys or tokens
    attentions = np.full((1, 2, len(tokens), len(keys)), 1 / len(keys), dtype=np.float32)  # (L, H, Q, K)
    return StackAttention("encoder", attentions, tokens, keys)


TOKENS = ("[CLS]", "a", "b", "c", "[SEP]")


def test_shift_clicks_build_a_set_from_the_focused_token(selection, qtbot):
    selection.set_stacks({"encoder": stack_of(TOKENS)})
    selection.set_token(1)
    with qtbot.waitSignal(selection.changed):
        selection.toggle_token(3)
    assert selection.chosen == {1, 3} and selection.tokens == (1, 3) and selection.token == 3
    selection.toggle_token(2)
    assert selection.tokens == (1, 2, 3)
    selection.toggle_token(2)  # out again: the focus stays in the set
    assert selection.chosen == {1, 3} and selection.token in {1, 3}
    selection.toggle_token(1)  # one token left: no set, that token focused
    assert selection.chosen == frozenset() and selection.tokens == (3,) and selection.token == 3


def test_a_plain_focus_lets_the_set_go(selection):
    selection.set_stacks({"encoder": stack_of(TOKENS)})
    selection.toggle_token(0)
    selection.toggle_token(4)
    assert selection.chosen == {0, 4}
    selection.set_token(2)
    assert selection.chosen == frozenset() and selection.tokens == (2,)
    selection.toggle_token(1)
    selection.set_token(None)  # Esc
    assert selection.chosen == frozenset() and selection.tokens == ()


def test_new_input_lets_the_set_go_and_a_rerun_of_the_same_tokens_keeps_it(selection):
    selection.set_stacks({"encoder": stack_of(TOKENS)})
    selection.set_token(1)
    selection.toggle_token(2)
    selection.set_stacks({"encoder": stack_of(TOKENS)})  # e.g. a head ablated: same tokens
    assert selection.chosen == {1, 2}
    selection.set_stacks({"encoder": stack_of(("[CLS]", "x", "y", "z", "[SEP]"))})
    assert selection.chosen == frozenset()


def test_direction_keeps_the_set_and_how_is_shared(selection):
    selection.set_stacks({"encoder": stack_of(TOKENS)})
    selection.set_token(0)
    selection.toggle_token(3)
    selection.set_direction(TO)
    assert selection.chosen == {0, 3} and selection.direction == TO
    assert selection.how == EACH
    selection.set_how(MEAN)
    assert selection.how == MEAN
    with pytest.raises(ValueError):
        selection.set_how("max")


def test_a_set_too_long_for_the_other_side_is_cut(selection):
    selection.set_stacks({"cross": stack_of(("a", "b", "c", "d"), keys=("x", "y"))})  # 4 queries, 2 keys
    selection.set_token(1)
    selection.toggle_token(3)
    selection.set_direction(TO)  # the keys are 0..1: only token 1 fits, no set
    assert selection.chosen == frozenset() and selection.token == 1


def test_shift_click_on_the_other_side_starts_afresh(selection):
    selection.set_stacks({"encoder": stack_of(TOKENS)})
    selection.set_token(1, FROM)
    selection.toggle_token(2, FROM)
    selection.toggle_token(4, TO)
    assert (selection.chosen, selection.token, selection.direction) == (frozenset(), 4, TO)
