"""transformers' eager attention with the contract's head mask, and a record of what each call saw.

transformers 5 dropped the `head_mask` argument; `eager_attention_with_head_mask` puts it back and
keeps each call's query, key and value for the file's step-by-step outputs. Registered under its own
name, so a model loaded with attn_implementation=ATTENTION runs it in every layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

INTERNALS = ("queries", "keys", "values")  # the contract's step-by-step outputs, per attention call
ATTENTION = "attention_explorer_eager"  # our name for eager attention with a head mask


@dataclass(frozen=True)
class Scoring:
    """How one layer made its scores, as the model passed it to the attention function."""

    scale: float  # q·k is multiplied by it
    softcap: float | None  # scores -> softcap · tanh(scores / softcap)
    sliding_window: int | None  # a query sees itself and sliding_window - 1 keys before it


class AttentionCalls:
    """What one forward's attention calls share: each call takes its layer's head-mask row and
    leaves its query, key and value (after any rotary positions, one per query head) and how it
    scored them, in the order the layers run."""

    def __init__(self, head_mask: torch.Tensor):
        self.head_mask = head_mask  # (layers, heads)
        self.layer = 0
        self.seen: dict[str, list[torch.Tensor]] = {name: [] for name in INTERNALS}
        self.scoring: list[Scoring] = []

    def next(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scoring: Scoring) -> torch.Tensor:
        for name, tensor in zip(self.seen, (query, key, value), strict=True):
            self.seen[name].append(tensor)  # (B, H, T, hd)
        self.scoring.append(scoring)
        row = self.head_mask[self.layer]  # (heads,)
        self.layer += 1
        return row

    def stacked(self, name: str) -> torch.Tensor:
        return torch.stack(self.seen[name])  # (L, B, H, T, hd)


def per_query_head(states: torch.Tensor, query_heads: int) -> torch.Tensor:
    """(B, kv_heads, S, hd) -> (B, query_heads, S, hd): query head h reads key/value head
    h // (query_heads / kv_heads), as transformers' repeat_kv lays them out."""
    return states.repeat_interleave(query_heads // states.shape[1], dim=1)


def eager_attention_with_head_mask(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    softcap: float | None = None,
    head_mask_rows: AttentionCalls | None = None,
    sliding_window: int | None = None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """transformers' eager attention (grouped key/value heads repeated per query head; Gemma 2's
    tanh soft-capping of the scores); the head mask scales each head's probabilities on their way
    to V, which is scaling that head's slice of the input of W_O, and the probabilities returned
    are those before it (the contract's rule). The mask already holds any sliding window, which
    the model passes only for the record."""
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    key, value = per_query_head(key, query.shape[1]), per_query_head(value, query.shape[1])
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling  # (B, H, T, S)
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    if attention_mask is not None:
        scores = scores + attention_mask  # 0 where allowed, the most negative float where masked
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)  # (B, H, T, S); masked keys 0
    if head_mask_rows is None:
        weights = probs
    else:
        scoring = Scoring(float(scaling), None if softcap is None else float(softcap), sliding_window)
        weights = probs * head_mask_rows.next(query, key, value, scoring)[None, :, None, None]
    out = torch.matmul(weights, value).transpose(1, 2).contiguous()  # (B, T, H, hs)
    return out, probs


def register_attention() -> None:
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import eager_mask

    AttentionInterface.register(ATTENTION, eager_attention_with_head_mask)
    AttentionMaskInterface.register(ATTENTION, eager_mask)  # additive float masks, as eager takes
