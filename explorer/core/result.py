"""What one run of a model gives the views: plain numpy arrays and token strings, no Qt."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from explorer import contract

if TYPE_CHECKING:
    from explorer.core.kv_cache import Room


@dataclass(frozen=True)
class StackAttention:
    """One attention stack of one input (batch item 0), exactly as ONNX Runtime returned it.

    A long input (explorer.core.long_path) holds only some rows exactly, `rows` saying which query
    positions, and `pooled`: every head's map in blocks of `block` x `block` tokens (each cell the
    mean over its queries of their attention summed over its keys), so that its rows sum to 1 too."""

    name: str  # "encoder", "decoder" or "cross"
    attentions: np.ndarray  # (layers, heads, queries, keys) float32, rows sum to 1; long: (layers, heads, rows, keys)
    query_tokens: tuple[str, ...]
    key_tokens: tuple[str, ...]
    causal: bool = False
    key_mask: np.ndarray | None = None  # (keys,) bool, False where the key was masked out
    kv_heads: int | None = None  # grouped-query attention: the key/value heads the query heads share
    rows: tuple[int, ...] | None = None  # long input: the query positions `attentions` holds; None: all
    pooled: np.ndarray | None = None  # long input: (layers, heads, ceil(queries / block), ceil(keys / block))
    block: int = 1  # tokens a side of a pooled cell

    @property
    def layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def heads(self) -> int:
        return self.attentions.shape[1]

    def head_label(self, head: int) -> str:
        """How the app names a head: "head 5", or "head 5 · shares key/value head 1" where heads are grouped."""
        if self.kv_heads is None:
            return f"head {head}"
        return f"head {head} · shares key/value head {contract.shared_key_value_head(head, self.heads, self.kv_heads)}"

    @property
    def complete(self) -> bool:
        """Whether every row is held exactly (not a long input's selection)."""
        return self.rows is None

    def head(self, layer: int, head: int | None) -> np.ndarray:
        """(queries, keys) for one head, or the mean over heads when `head` is None; a long input's
        (rows, keys), the rows `rows` names."""
        return _of_head(self.attentions[layer], head)

    def row(self, layer: int, head: int | None, query: int) -> np.ndarray | None:
        """(keys,) the exact attention of one query (of the mean of heads), or None where a long input
        did not keep that row."""
        if self.rows is None:
            return _of_head(self.attentions[layer, :, query], head)
        index = self._row_index.get(query)
        return None if index is None else _of_head(self.attentions[layer, :, index], head)

    def pooled_head(self, layer: int, head: int | None) -> np.ndarray:
        """(query blocks, key blocks) of one head or the mean of heads: the pooled map of a long input,
        the attention itself (blocks of one token) otherwise."""
        return _of_head(self.attentions[layer] if self.pooled is None else self.pooled[layer], head)

    @property
    def pooled_all(self) -> np.ndarray:
        """(layers, heads, query blocks, key blocks): what the model view draws."""
        return self.attentions if self.pooled is None else self.pooled

    @functools.cached_property
    def _row_index(self) -> dict[int, int]:
        return {query: i for i, query in enumerate(self.rows or ())}


def _of_head(per_head: np.ndarray, head: int | None) -> np.ndarray:
    """Axis 0 is the heads: one of them, or their mean."""
    return per_head.mean(axis=0) if head is None else per_head[head]


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced; `stacks` keeps the contract's stack order."""

    stacks: dict[str, StackAttention]
    logits: np.ndarray  # as the model returned it, batch item 0
    token_ids: dict[str, tuple[int, ...]] = field(default_factory=dict)  # per ids input
    tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per ids input
    notices: tuple[str, ...] = ()  # e.g. "input cut at 128 tokens"
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # every graph output, batch item 0
    # A cached decoder's prompt run: its outputs with room for the tokens generation adds (kv_cache.Room)
    room: Room | None = None
    # A long input's causal LM: the positions whose logits `logits` holds, in order (None: every position)
    logit_rows: tuple[int, ...] | None = None

    def logits_at(self, position: int) -> np.ndarray | None:
        """The logits (vocab,) at `position` of a per-position model, or None where this run did not keep them."""
        if self.logit_rows is None:
            return self.logits[position]
        return self.logits[self.logit_rows.index(position)] if position in self.logit_rows else None
