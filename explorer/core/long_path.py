"""Which path a run takes: the full attention, or, for an input whose full attention would not fit,
the long inputs (docs/onnx-contract.md, "Long inputs"): exact rows for the query positions the views
ask for and a pooled map of every head.

The full path returns layers x heads x queries x keys float32 per stack, which grows with the square
of the length: 1.1 GB for a 30 x 9 head model at 2,048 tokens, 18 GB at 4,096. Past a budget, a
file that takes the long inputs is fed a block that makes each head's pooled map about
POOLED_SIDE cells a side, and the rows asked for; a file that does not still runs the full path,
and a run that would exceed what the machine can hold says so.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from explorer import contract

FULL_ATTENTION_BUDGET = 768 << 20  # bytes of attention the full path may return; beyond, the long path
POOLED_SIDE = 256  # about this many cells a side in each head's pooled map
MAX_ROWS = 128  # most exact rows one run returns: each costs layers x heads x keys x 4 bytes


@dataclass(frozen=True)
class LongPath:
    """One stack's long-input feeds: the exact rows (query positions, sorted) and the block size."""

    rows: tuple[int, ...]
    block: int

    def feeds(self, stack: str) -> dict[str, np.ndarray]:
        return {
            contract.attention_rows_input(stack): np.asarray(self.rows, np.int64),  # (R,)
            contract.attention_block_input(stack): np.zeros(self.block, np.float32),  # its length is the block
        }


def feeds(paths: Mapping[str, LongPath], graph_inputs: Collection[str]) -> dict[str, np.ndarray]:
    """Everything a long run is fed: each stack's rows and block and, where the graph takes them, an
    empty internals.<stack> (its queries, keys, values and hidden states neither made whole nor held to
    the run's end) and a causal LM's logits at the same rows (one stack)."""
    fed: dict[str, np.ndarray] = {}
    for stack, path in paths.items():
        fed.update(path.feeds(stack))
        if contract.internals_input(stack) in graph_inputs:
            fed[contract.internals_input(stack)] = np.zeros(0, np.float32)
    if contract.LOGIT_ROWS in graph_inputs:
        (path,) = paths.values()
        fed[contract.LOGIT_ROWS] = np.asarray(path.rows, np.int64)
    return fed


def full_attention_bytes(meta: contract.ModelMetadata, lengths: Mapping[str, int]) -> int:
    """What the full attention of every stack takes for sequences of these lengths (per ids input)."""
    total = 0
    for spec in meta.stacks.values():
        total += spec.layers * spec.heads * lengths.get(spec.queries, 0) * lengths.get(spec.keys, 0) * 4
    return total


def takes_long_inputs(meta: contract.ModelMetadata, graph_inputs: Collection[str]) -> bool:
    """Whether the file takes the long inputs for every stack (the graph says, by its inputs' names)."""
    return all(
        contract.attention_rows_input(stack) in graph_inputs and contract.attention_block_input(stack) in graph_inputs
        for stack in meta.stacks
    )


def block_for(queries: int, keys: int, side: int = POOLED_SIDE) -> int:
    """The block that makes a queries x keys map at most about `side` cells a side."""
    return max(1, math.ceil(max(queries, keys) / side))


def choose(
    meta: contract.ModelMetadata,
    graph_inputs: Collection[str],
    lengths: Mapping[str, int],
    rows: Mapping[str, Iterable[int]],
    budget: int = FULL_ATTENTION_BUDGET,
    side: int = POOLED_SIDE,
) -> dict[str, LongPath] | None:
    """Per stack, the long-input feeds where the full attention would pass `budget` and the file takes
    them; None for the full path. `rows` (per stack) are the query positions wanted exactly; every
    stack also gets its last query's row, where a decoder predicts the next token."""
    if full_attention_bytes(meta, lengths) <= budget or not takes_long_inputs(meta, graph_inputs):
        return None
    paths = {}
    for stack, spec in meta.stacks.items():
        queries, keys = lengths[spec.queries], lengths[spec.keys]
        wanted = {r for r in rows.get(stack, ()) if 0 <= r < queries} | {queries - 1}
        paths[stack] = LongPath(tuple(sorted(wanted))[-MAX_ROWS:], block_for(queries, keys, side))
    return paths


def path_words(paths: Mapping[str, LongPath] | None, bytes_needed: int) -> str:
    """How the status bar names the path a run took."""
    if paths is None:
        return ""
    block = max(p.block for p in paths.values())
    return (f"Long input: pooled attention in blocks of {block} tokens and exact rows where asked "
            f"(the full attention would take {bytes_needed / 2**30:.1f} GB)")


def needs_every_row(what: str, stack) -> str:
    """Why a view that reads every row shows nothing for a long input's `stack` (a StackAttention)."""
    queries, keys = len(stack.query_tokens), len(stack.key_tokens)
    size = stack.layers * stack.heads * queries * keys * 4 / 2**30
    return (f"{what} needs every row of the attention, which a run this long ({queries:,} tokens) does not keep: "
            f"the full attention would take {size:.1f} GB. The matrix, model and head views show it; "
            "shorten the text for this one.")
