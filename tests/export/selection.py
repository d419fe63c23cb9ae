"""What a long-input run must give, checked against the same file's full attention: the rows asked
for and the block sums of every map (tests/export/test_long_inputs.py, and the Hugging Face imports')."""

from __future__ import annotations

import math

import numpy as np

from explorer import contract

ROWS = np.array([5, 0, 3, 3], np.int64)  # any order, repeats allowed


def block_sums(full: np.ndarray, block: int) -> np.ndarray:
    """(L, B, H, T, S) -> (L, B, H, ceil(T / b), ceil(S / b)): each query block's mean of its rows' key-block sums."""
    queries, keys = full.shape[-2:]
    pooled = np.zeros((*full.shape[:-2], math.ceil(queries / block), math.ceil(keys / block)))
    for i in range(pooled.shape[-2]):
        for j in range(pooled.shape[-1]):
            pooled[..., i, j] = full[..., i * block:(i + 1) * block, j * block:(j + 1) * block].sum(-1).mean(-1)
    return pooled


def graph_inputs(ex) -> set[str]:
    """Every input the file's graph takes, those with a default (the long inputs) included."""
    return {i.name for i in (*ex.session.get_inputs(), *ex.session.get_overridable_initializers())}


def selection_feeds(ex, rows: np.ndarray, block: int, internals: bool = True) -> dict[str, np.ndarray]:
    """Rows and a block for every stack and, where the graph takes them and `internals` is False, no
    step-by-step outputs and the logits at the same rows."""
    takes = graph_inputs(ex)
    names = {}
    for stack in ex.metadata.stacks:
        names[contract.attention_rows_input(stack)] = rows
        names[contract.attention_block_input(stack)] = np.zeros(block, np.float32)
        if not internals and contract.internals_input(stack) in takes:
            names[contract.internals_input(stack)] = np.zeros(0, np.float32)
    if not internals and contract.LOGIT_ROWS in takes:
        names[contract.LOGIT_ROWS] = rows
    return names


def internals_left_out(ex, outputs: dict[str, np.ndarray]) -> list[str]:
    """The step-by-step outputs of `outputs` that hold no positions (hidden states: axis 2, the rest 3)."""
    names = [contract.stack_output(n, s) for n in contract.OPTIONAL_STACK_OUTPUTS for s in ex.metadata.stacks]
    return [n for n in names if n in outputs and outputs[n].shape[2 if n.startswith("hidden") else 3] == 0]


def check_selection(ex, feeds: dict, block: int) -> None:
    """The run with rows and a block fed against the same feeds' run with the defaults; where the
    graph takes `internals.<stack>`, fed empty, its step-by-step outputs come back empty and nothing
    else changes; where it takes `logit_rows`, the logits are the full run's at those rows."""
    full = ex.run(feeds)
    chosen = ex.run({**feeds, **selection_feeds(ex, ROWS, block, internals=False)})
    takes = graph_inputs(ex)
    if any(contract.internals_input(stack) in takes for stack in ex.metadata.stacks):
        internals = [n for n in full if n.split(".")[0] in contract.OPTIONAL_STACK_OUTPUTS]
        assert internals and sorted(internals_left_out(ex, chosen)) == sorted(internals)
        assert not internals_left_out(ex, full)
    for name in (n for n in full if n.startswith("present.")):  # a cache's presents are not internals
        np.testing.assert_allclose(chosen[name], full[name], atol=1e-5, err_msg=name)
    for stack in ex.metadata.stacks:
        attention = full[contract.attention_output(stack)]
        rows = ROWS[: attention.shape[-2]]
        np.testing.assert_allclose(chosen[contract.attention_output(stack)], attention[..., rows, :], atol=1e-5)
        pooled = chosen[contract.pooled_attention_output(stack)]
        np.testing.assert_allclose(pooled, block_sums(attention, block), atol=1e-5, err_msg=stack)
        # Every query of these feeds sees a key, so every row, pooled or not, sums to 1.
        np.testing.assert_allclose(pooled.sum(-1), 1.0, atol=1e-5, err_msg=stack)
    # The same model output, to float rounding: where an attention function computes its map a run of
    # query blocks at a time (export/long_inputs.attend_in_chunks), the chunks follow the block and
    # their matrix products round differently (up to 4.9e-6 on the imports' logits, measured).
    logits = full[contract.LOGITS]
    if contract.LOGIT_ROWS in takes:  # a causal LM's, at the rows asked for
        logits = logits[:, ROWS[: logits.shape[1]]]
    np.testing.assert_allclose(chosen[contract.LOGITS], logits, atol=1e-5)
