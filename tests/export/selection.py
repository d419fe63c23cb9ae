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


def selection_feeds(ex, rows: np.ndarray, block: int) -> dict[str, np.ndarray]:
    names = {}
    for stack in ex.metadata.stacks:
        names[contract.attention_rows_input(stack)] = rows
        names[contract.attention_block_input(stack)] = np.zeros(block, np.float32)
    return names


def check_selection(ex, feeds: dict, block: int) -> None:
    """The run with rows and a block fed against the same feeds' run with the defaults."""
    full = ex.run(feeds)
    chosen = ex.run({**feeds, **selection_feeds(ex, ROWS, block)})
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
    np.testing.assert_allclose(chosen[contract.LOGITS], full[contract.LOGITS], atol=1e-5)
