"""Long inputs: the rows a caller asks for and the pooled maps are the model's own attention.

Every check compares one file with itself: the run with the defaults (the full attention) against
the run with `attention_rows.<stack>` and `attention_block.<stack>` fed, on padded batches with
hidden keys, at lengths that are no multiple of the block."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from explorer import contract

from .conftest import feeds_for
from .selection import ROWS, check_selection, selection_feeds


def with_hidden_key(ex, feeds: dict) -> dict:
    """`feeds` with key 1 of the first item hidden (a ViT's feeds already hide patches)."""
    for _, mask_input in ex.metadata.sequence_inputs:
        if mask_input != contract.PATCH_MASK:
            feeds[mask_input] = feeds[mask_input].copy()
            feeds[mask_input][0, 1] = 0
    return feeds


@pytest.mark.parametrize("block", [1, 4, 7, 64])
def test_rows_and_pooled_maps_are_the_full_attentions(exported, block):
    check_selection(exported, with_hidden_key(exported, feeds_for(exported, 2, 13, seed=block)), block)


def test_head_masks_still_ablate_with_a_selection(exported):
    heads = {stack: np.ones((spec.layers, spec.heads), np.float32) for stack, spec in exported.metadata.stacks.items()}
    for mask in heads.values():
        mask[0, 1] = 0
    feeds = with_hidden_key(exported, feeds_for(exported, 2, 11, seed=3, head_masks=heads))
    check_selection(exported, feeds, 3)


def test_the_defaults_give_the_full_attention_and_one_block(exported):
    feeds = feeds_for(exported, 2, 9)
    out = exported.run(feeds)
    for stack, spec in exported.metadata.stacks.items():
        queries = out[contract.stack_output("queries", stack)].shape[-2]
        assert out[contract.attention_output(stack)].shape[-2] == queries
        assert out[contract.pooled_attention_output(stack)].shape == (spec.layers, 2, spec.heads, 1, 1)


@pytest.mark.parametrize("exported", ["gpt"], indirect=True)
def test_with_a_past_rows_and_blocks_index_the_runs_own_queries(exported):
    ex = exported
    cache = ex.metadata.kv_cache
    whole = with_hidden_key(ex, feeds_for(ex, 2, 14, seed=4))
    ids, mask = whole[contract.INPUT_IDS], whole[contract.ATTENTION_MASK]
    first = ex.run({**whole, contract.INPUT_IDS: ids[:, :8], contract.ATTENTION_MASK: mask[:, :8]})
    step = {**whole, contract.INPUT_IDS: ids[:, 8:], **cache.next_past(first)}  # 6 new tokens over 14 keys
    check_selection(ex, step, 4)
    rows = ex.run({**step, **selection_feeds(ex, ROWS, 4)})[contract.attention_output("decoder")]
    full = ex.run(whole)[contract.attention_output("decoder")]
    np.testing.assert_allclose(rows, full[..., 8 + ROWS[:6], :], atol=1e-5)  # the whole run's rows 8 + r


def _benchmark():
    path = Path(__file__).parents[2] / "benchmarks" / "long_inputs.py"
    spec = importlib.util.spec_from_file_location("long_inputs_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_long_paths_memory_is_one_layers_not_all_layers(tmp_path):
    """Measured as benchmarks/long_inputs.py does, smaller: the full path keeps every layer's map until
    the end, the long path one layer's at a time (of 8 layers here). One layer's map still grows with
    queries × keys, so the bound is on the ratio of the two paths, not on either's growth."""
    benchmark = _benchmark()
    config = {**benchmark.MODEL, "d_model": 64, "heads": 8, "d_ff": 128, "max_positions": 1024}
    path = benchmark.export_model(tmp_path / "bert.onnx", config)
    paths = {name: benchmark.PATHS[name] for name in ("full", "long")}
    growth = benchmark.measure(path, (512, 1024), paths)  # MB over the model's baseline
    assert growth["long"][1] < growth["full"][1] / 2.5, growth  # 3.4 times less when measured
