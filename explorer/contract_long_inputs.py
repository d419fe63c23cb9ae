"""The contract's names for long inputs: exact attention rows and pooled attention (docs/onnx-contract.md,
"Long inputs: pooled attention and exact rows"). Standard library only, as the rest of the contract.

A file has them or not per stack; an app finds out from the graph's inputs, by these names."""

from __future__ import annotations


def attention_rows_input(stack: str) -> str:
    """Optional input ``[rows]`` int64: the query positions whose rows ``attentions.<stack>`` holds, in this
    order; the first min(rows, queries) are used. Default: every position, the full attention."""
    return f"attention_rows.{stack}"


def attention_block_input(stack: str) -> str:
    """Optional input ``[b]`` float32 whose length alone counts: the block size of
    ``pooled_attentions.<stack>``. Default: as long as the key sequence's max_positions (one block)."""
    return f"attention_block.{stack}"


def pooled_attention_output(stack: str) -> str:
    """Output ``[layers, batch, heads, ceil(queries / b), ceil(keys / b)]``: cell (i, j) is the mean over
    query block i's queries of their attention summed over key block j."""
    return f"pooled_attentions.{stack}"


def internals_input(stack: str) -> str:
    """Optional input ``[n]`` float32 whose length alone counts: with n = 0 the stack's step-by-step outputs
    (``queries``, ``keys``, ``values`` and ``hidden_states.<stack>``) hold no positions, so that a long run
    neither keeps nor returns them. Default: length 1, every position."""
    return f"internals.{stack}"


# Optional input ``[rows]`` int64 of a causal language model: the positions (0 = this run's first new
# token) whose logits ``logits`` holds, in this order; the first min(rows, tokens) are used. Default:
# every position. At 4,096 tokens and a vocabulary of 49,152, all of them would be 805 MB.
LOGIT_ROWS = "logit_rows"
