"""What one run of a model gives the views: plain numpy arrays and token strings, no Qt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from explorer import contract

if TYPE_CHECKING:
    from explorer.core.kv_cache import Room


@dataclass(frozen=True)
class StackAttention:
    """One attention stack of one input (batch item 0), exactly as ONNX Runtime returned it."""

    name: str  # "encoder", "decoder" or "cross"
    attentions: np.ndarray  # (layers, heads, queries, keys) float32, rows sum to 1
    query_tokens: tuple[str, ...]
    key_tokens: tuple[str, ...]
    causal: bool = False
    key_mask: np.ndarray | None = None  # (keys,) bool, False where the key was masked out
    kv_heads: int | None = None  # grouped-query attention: the key/value heads the query heads share

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

    def head(self, layer: int, head: int | None) -> np.ndarray:
        """(queries, keys) for one head, or the mean over heads when `head` is None."""
        per_layer = self.attentions[layer]
        return per_layer.mean(axis=0) if head is None else per_layer[head]


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
