"""The long path in the app's core: past the attention budget a run holds exact rows and pooled maps,
and every value it holds is the one the full path gives for the same input."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import contract
from explorer.core import long_path
from explorer.core.masking import TokenEdits
from explorer.core.model import open_model
from explorer.core.runner import Runner
from explorer.core.state.app_state import AppState
from explorer.core.state.selection import TO

from ..export.selection import block_sums

TEXT = "the cat sat on the mat because it was tired"


def long_runner(path, side: int = 5) -> Runner:
    """A runner that takes the long path for any input, pooling to about `side` cells a side."""
    runner = Runner(open_model(path))
    runner.attention_budget, runner.pooled_side = 0, side
    return runner


@pytest.fixture(scope="module", params=["bert", "gpt"])
def runners(request, bert_path, gpt_path):
    path = {"bert": bert_path, "gpt": gpt_path}[request.param]
    return Runner(open_model(path)), long_runner(path)


def test_a_short_input_takes_the_full_path(runners):
    full, _ = runners
    stack = full.run_text(TEXT).stacks[next(iter(full.model.meta.stacks))]
    assert stack.complete and stack.pooled is None


@pytest.mark.parametrize("hidden", [frozenset(), frozenset({2, 7})])
def test_long_rows_and_pooled_maps_are_the_full_runs(runners, hidden):
    full, long = runners
    edits = {contract.INPUT_IDS: TokenEdits(hidden=hidden)} if hidden else None
    stack_name = next(iter(full.model.meta.stacks))
    whole = full.run_text(TEXT, edits=edits)
    part = long.run_text(TEXT, edits=edits, rows={stack_name: (3, 0, 9)})
    expected, got = whole.stacks[stack_name], part.stacks[stack_name]
    queries = len(expected.query_tokens)
    assert got.rows == (0, 3, 9, queries - 1)  # sorted, and the last query's row always
    assert got.block == long_path.block_for(queries, queries, 5) > 1
    assert queries % got.block  # a partial last block
    np.testing.assert_allclose(got.attentions, expected.attentions[:, :, list(got.rows)], atol=1e-6)
    np.testing.assert_allclose(got.pooled, block_sums(expected.attentions, got.block), atol=1e-5)
    np.testing.assert_allclose(got.pooled.sum(-1), 1.0, atol=1e-5)  # pooled rows sum to 1 as rows do
    for layer, head in ((0, 1), (1, None)):
        np.testing.assert_array_equal(got.row(layer, head, 9), got.head(layer, head)[2])
        assert got.row(layer, head, 5) is None  # not kept
        np.testing.assert_allclose(got.row(layer, head, 9), expected.row(layer, head, 9), atol=1e-6)
    for key in hidden:
        assert (got.attentions[..., key] == 0).all()  # masked keys exactly 0
    np.testing.assert_allclose(part.logits, whole.logits, atol=1e-5)
    assert any(notice.startswith("Long input: pooled attention") for notice in part.notices)


def test_the_long_path_leaves_out_the_internals_the_cache_and_the_room(gpt_path):
    long = long_runner(gpt_path)
    result = long.run_text(TEXT)
    stack = result.stacks["decoder"]
    assert result.room is None  # no padding queries for a pooled block to mix in
    assert not any(name.startswith(f"{part}.") for name in result.outputs for part in contract.OPTIONAL_STACK_OUTPUTS)
    assert not set(long.model.meta.kv_cache.present_outputs()) & set(result.outputs)  # nor the cache
    assert result.logits.shape[0] == len(stack.query_tokens)  # a file without logit_rows: every position's
    assert result.logit_rows is None


def test_full_attention_bytes_and_the_choice(gpt_path):
    meta = open_model(gpt_path).meta
    spec = meta.stacks["decoder"]
    graph_inputs = open_model(gpt_path).input_names
    need = long_path.full_attention_bytes(meta, {contract.INPUT_IDS: 40})
    assert need == spec.layers * spec.heads * 40 * 40 * 4
    assert long_path.choose(meta, graph_inputs, {contract.INPUT_IDS: 40}, {}, budget=need) is None
    paths = long_path.choose(meta, graph_inputs, {contract.INPUT_IDS: 40}, {"decoder": [50, 3]}, budget=need - 1)
    assert paths["decoder"].rows == (3, 39)  # a row past the queries is dropped
    # a file without the long inputs keeps the full path, whatever the length
    assert long_path.choose(meta, [contract.INPUT_IDS], {contract.INPUT_IDS: 40}, {}, budget=0) is None


def test_focusing_a_query_fetches_its_row_and_a_key_does_not(gpt_path):
    state = AppState()
    state.open_now(gpt_path, TEXT)
    state.runner.attention_budget, state.runner.pooled_side = 0, 5
    state.request_run()
    selection = state.selection
    stack = selection.stack
    assert not stack.complete and 4 not in stack.rows and selection.row(4) is None
    selection.set_token(4)
    assert 4 in selection.stack.rows  # run again with the row
    np.testing.assert_array_equal(selection.row(4), selection.stack.row(0, 0, 4))
    runs = state.run
    selection.set_token(6, TO)  # a key's column is every row: the pooled map shows it, no run
    assert state.run is runs
    selection.show_rows(range(10, 14))  # a zoomed-in window
    assert set(range(10, 14)) <= set(selection.stack.rows)


def test_a_long_stack_saves_and_loads_whole(gpt_path, tmp_path):
    from explorer.core.saving import load_npz, save_npz

    stack = long_runner(gpt_path).run_text(TEXT, rows={"decoder": (2,)}).stacks["decoder"]
    loaded = load_npz(save_npz(tmp_path / "long.npz", stack))["decoder"]
    assert loaded.rows == stack.rows and loaded.block == stack.block
    np.testing.assert_array_equal(loaded.pooled, stack.pooled)
    np.testing.assert_array_equal(loaded.row(1, 2, 2), stack.row(1, 2, 2))
