"""The model view's thumbnails at sizes where a pixel stands for a block of cells: hidden keys and
a causal future stay visible as such, and nothing else turns grey."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.result import StackAttention
from explorer.ui.views.colors import NOT_ALLOWED
from explorer.ui.views.model_view import block_edges, compose, not_allowed_blocks

TOKENS = 300  # more than a thumbnail's pixels: blocks of 4 and 5 cells


def stack_of(tokens: int, causal: bool = False, hidden: tuple[int, ...] = ()) -> StackAttention:
    """Two layers, two heads of random attention that is 0 where the model could not attend."""
    rng = np.random.default_rng(3)
    allowed = np.ones((tokens, tokens), bool)
    allowed[:, list(hidden)] = False
    if causal:
        allowed &= np.tri(tokens, dtype=bool)
    weights = rng.random((2, 2, tokens, tokens), dtype=np.float32) * allowed  # (L, H, Q, K)
    weights /= weights.sum(-1, keepdims=True)
    names = tuple(f"t{i}" for i in range(tokens))
    key_mask = np.isin(np.arange(tokens), hidden, invert=True)
    return StackAttention("decoder" if causal else "encoder", weights, names, names, causal, key_mask)


def expected_blocks(stack: StackAttention) -> np.ndarray:
    """Cell by cell: a block is masked when it holds a hidden key, or when no cell of it is allowed
    by the causal mask alone."""
    edges = block_edges(len(stack.key_tokens))
    blocks = len(edges) - 1
    expected = np.zeros((blocks, blocks), bool)
    for i in range(blocks):
        for j in range(blocks):
            keys = slice(edges[j], edges[j + 1])
            queries = np.arange(edges[i], edges[i + 1])
            hidden = not stack.key_mask[keys].all()
            all_future = stack.causal and edges[j] > queries.max()
            expected[i, j] = hidden or all_future
    return expected


@pytest.mark.parametrize("causal, hidden", [(False, (150,)), (True, ()), (True, (7, 8, 299))])
def test_masked_blocks_are_the_ones_holding_a_hidden_key_or_wholly_future(causal, hidden):
    stack = stack_of(TOKENS, causal, hidden)
    np.testing.assert_array_equal(not_allowed_blocks(stack), expected_blocks(stack))


def test_one_hidden_key_among_many_is_a_grey_column_in_every_thumbnail(thumbnails):
    stack = stack_of(TOKENS, hidden=(150,))
    grey = np.array(NOT_ALLOWED[:3])
    greyed = (thumbnails(compose(stack), stack) == grey).all(axis=-1)  # (L, H + 1, q, k)
    block = np.searchsorted(block_edges(TOKENS), 150, side="right") - 1  # the block holding key 150
    assert greyed[..., block].all()
    assert greyed.sum() == greyed[..., block].sum()  # nothing else
    assert not (compose(stack, grey_masked=False) == grey).all(axis=-1).any()


def test_a_shown_model_view_follows_new_runs_and_its_switch(qtbot):
    from explorer.ui.views import ModelView, Selection

    selection = Selection()
    view = ModelView(selection)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    first, second = stack_of(TOKENS, hidden=(150,)), stack_of(TOKENS, hidden=(20,))  # the same shapes
    selection.set_stacks({"encoder": first})
    assert np.array_equal(view.image.image, compose(first))
    selection.set_stacks({"encoder": second})  # a new run, drawn at once
    assert np.array_equal(view.image.image, compose(second))
    view.grey_masked.setChecked(False)
    assert np.array_equal(view.image.image, compose(second, grey_masked=False))
    view.grey_masked.setChecked(True)
    assert np.array_equal(view.image.image, compose(second))
