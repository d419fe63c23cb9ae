"""Long inputs: what a graph returns of one layer's attention when the full map is too large to keep.

ONNX Runtime computes every node of a graph on every run, whatever outputs are fetched, so a
long-input path cannot be one more output beside the full attention. Instead each layer, right
after its softmax, keeps only what the caller asked for (docs/onnx-contract.md, "Long inputs"):

- `exact_rows`: the rows of the query positions `attention_rows.<stack>` lists, exactly;
- `pooled_attention`: the attention mass from each block of b queries to each block of b keys,
  b being the length of `attention_block.<stack>` (a shape, so that the graph's shapes stay
  functions of its inputs' shapes, never of their values);
- `kept_positions`: a step-by-step output (a query, key, value or hidden state) cut to no positions
  where `internals.<stack>` is empty, so that a long run does not return them nor, where it is cut as
  it is made (a layer's query, key and value), hold every layer's until the graph's end.

Both are computed per layer, so that no layer's full probabilities outlive the layer. The
functions take one layer's (B, H, T, S) probabilities; any exporter of a contract graph calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from explorer import contract

# Tracing examples: lengths no other example axis has, and a block that ends partial; the most rows
# and the longest block the graph's dynamic axes allow. The internals' example is 2 long (torch.export
# specialises lengths 0 and 1), which keeps every position as 1 does.
EXAMPLE_ROWS, EXAMPLE_BLOCK, EXAMPLE_INTERNALS, EXAMPLE_LOGIT_ROWS = 10, 4, 2, 7
MAX_SELECTION = 1 << 20
MAX_INTERNALS = 16
# A layer's probabilities are made this many runs of query blocks at a time where an attention function
# takes the long inputs (attend_in_chunks): at 4,096 tokens and 9 heads, 76 MB of map at once, not 604 MB.
QUERY_CHUNKS = 8


@dataclass(frozen=True)
class AttentionSelection:
    """One stack's long-input inputs: the query positions whose rows to keep, (R,) int64, a tensor
    whose length is the pooling block size b and, where the graph takes it, one whose length is 0
    to leave the step-by-step outputs empty."""

    rows: torch.Tensor
    block: torch.Tensor
    internals: torch.Tensor | None = None


def kept_positions(states: torch.Tensor, dim: int, selection: AttentionSelection | None) -> torch.Tensor:
    """`states` cut along its position axis `dim` to none of them where the selection's internals are
    empty, else whole: the first min(P, P * n) positions, n the internals' length (a shape, as the block)."""
    if selection is None or selection.internals is None:
        return states
    positions = states.shape[dim]
    return states.narrow(dim, 0, torch.sym_min(positions, positions * selection.internals.shape[0]))


def exact_rows(probs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """(B, H, T, S) -> (B, H, min(R, T), S): the rows of the first min(R, T) positions `rows` lists.
    Cut to T so that the default, every position the model takes, gives every row of a shorter run."""
    queries = probs.shape[-2]
    return probs.index_select(-2, rows[: torch.sym_min(rows.shape[0], queries)])


def pooled_attention(probs: torch.Tensor, block: torch.Tensor, keys: int | None = None) -> torch.Tensor:
    """(B, H, T, S) -> (B, H, ceil(T / b), ceil(S / b)) with b = len(block): cell (i, j) is the mean
    over query block i's queries of their summed attention to key block j; its rows sum as the
    attention rows do (1, or 0 for a query whose every key is hidden). The last blocks are partial
    and divide by their real size. `keys`: the whole key count where `probs` holds only the first S
    keys, the others' attention being 0 (a causal chunk's future): the map then has ceil(keys / b)
    key blocks, the ones past S exactly 0."""
    queries, seen = probs.shape[-2:]
    future = keys is not None  # key blocks past `seen` to add
    keys = seen if keys is None else keys
    # A block longer than an axis is that whole axis: padding it to b would cost b², not T·S.
    # (at least 1: a chunk of attend_in_chunks may hold no query at all)
    query_block = torch.sym_max(torch.sym_min(block.shape[0], queries), 1)
    key_block = torch.sym_min(block.shape[0], keys)
    # Ceilings of positive numbers only: the ONNX exporter writes a SymInt's // as Div, which truncates.
    query_blocks, seen_blocks = (queries + query_block - 1) // query_block, (seen + key_block - 1) // key_block
    padded = F.pad(probs, (0, seen_blocks * key_block - seen, 0, query_blocks * query_block - queries))
    blocks = padded.reshape(*probs.shape[:-2], query_blocks, query_block, seen_blocks, key_block)
    sums = blocks.sum(-1).sum(-2)  # the key axis first: the second sum reads a map b times smaller
    if future:
        sums = F.pad(sums, (0, (keys + key_block - 1) // key_block - seen_blocks))
    starts = torch.arange(query_blocks, device=probs.device) * query_block
    sizes = (queries - starts).clamp(max=query_block).to(probs.dtype)  # real queries per block
    return sums / sizes[:, None]


def attend_in_chunks(
    probs_of: Callable[..., torch.Tensor],
    value: torch.Tensor,
    selection: AttentionSelection,
    queries: int,
    causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One layer's attention output, exact rows and pooled map, its probabilities made QUERY_CHUNKS
    runs of query blocks at a time, so that the layer holds 1 / QUERY_CHUNKS of its map at once.

    `probs_of(select, seen, chunk)` gives the (B, H, q, S) probabilities of the queries `select` picks
    out of a (B, H, T, ...) tensor (the layer's query and, where it has a query axis, its mask), over
    the first `seen` keys where given; `chunk` names the part (its index, or "rows"), so that layers
    sharing a mask can share its parts. A `causal` layer's queries are the last T of its S keys, and a
    chunk's queries see no key after its last: each chunk is scored against the keys up to there
    only, which halves the layer's work; the rest are exactly the 0 a causal mask gives them. The
    rows asked for are made by the same function from their own queries, which gives the
    probabilities the chunks hold to float rounding (1e-7). Returns (B, H, T, hd), (B, H, min(R, T), S)
    and (B, H, ceil(T / b), ceil(S / b))."""
    keys, block = value.shape[2], selection.block.shape[0]
    query_block, key_block = torch.sym_max(torch.sym_min(block, queries), 1), torch.sym_min(block, keys)
    blocks = (queries + query_block - 1) // query_block
    per_chunk = (blocks + QUERY_CHUNKS - 1) // QUERY_CHUNKS * query_block  # whole blocks: pooling stays aligned
    # Written into tensors of the whole length, not concatenated: a concatenation's length is a sum of
    # minima that the exporter cannot see equals `queries`, and the shapes after it would not match.
    out = value.new_zeros(*value.shape[:2], queries, value.shape[-1])  # (B, H, T, hd)
    pooled = value.new_zeros(*value.shape[:2], blocks, (keys + key_block - 1) // key_block)  # (B, H, T / b, S / b)
    for i in range(QUERY_CHUNKS):  # a fixed count: the graph's shapes stay functions of its inputs' shapes
        start = torch.sym_min(i * per_chunk, queries)
        end = torch.sym_min(start + per_chunk, queries)
        seen = torch.sym_min(keys - queries + end, keys) if causal else None  # a cache's past, then up to `end`
        probs = probs_of(lambda t, start=start, end=end: t[:, :, start:end], seen, i)  # (B, H, chunk, S), maybe empty
        chunk_value = value if seen is None else value[:, :, :seen]
        out = torch.slice_scatter(out, torch.matmul(probs, chunk_value), dim=2, start=start, end=end)
        pooled = torch.slice_scatter(pooled, pooled_attention(probs, selection.block, None if seen is None else keys),
                                     dim=2, start=(start + query_block - 1) // query_block,  # `queries` when empty
                                     end=(end + query_block - 1) // query_block)
    chosen = selection.rows[: torch.sym_min(selection.rows.shape[0], queries)]
    rows = probs_of(lambda t: t.index_select(2, chosen), None, "rows")  # (B, H, R, S)
    return out, rows, pooled


def default_inputs(metadata: contract.ModelMetadata) -> dict[str, np.ndarray]:
    """The long inputs' defaults, which give the full attention as a file without them does: every
    row of the query sequence's longest run, one block as long as the key sequence's longest run, every
    position's internals and logits."""
    defaults = {}
    for stack, spec in metadata.stacks.items():
        queries, keys = metadata.max_positions.get(spec.queries), metadata.max_positions.get(spec.keys)
        if queries and keys:
            defaults[contract.attention_rows_input(stack)] = np.arange(queries, dtype=np.int64)
            defaults[contract.attention_block_input(stack)] = np.zeros(keys, np.float32)
            defaults[contract.internals_input(stack)] = np.zeros(1, np.float32)  # these two only where the graph
    if defaults:
        defaults[contract.LOGIT_ROWS] = np.arange(max(metadata.max_positions.values()), dtype=np.int64)
    return defaults
