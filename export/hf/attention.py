"""transformers' eager attention with a record of what each call saw.

`recorded_eager_attention` keeps each call's query, key and value and how it scored them, for the
file's step-by-step outputs, and, for a long input, only the rows and pooled map the caller asked
for of its probabilities (export/long_inputs.py), made inside the call so that no layer's full
map outlives its layer. Registered under its own name, so a model loaded with
attn_implementation=ATTENTION runs it in every layer. Head masks are not applied here but on W_O's
input (head_mask.py), which also covers the families whose attention code is their own."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from export.long_inputs import AttentionSelection, attend_in_chunks, kept_positions

INTERNALS = ("queries", "keys", "values")  # the contract's step-by-step outputs, per attention call
ATTENTION = "attention_explorer_eager"  # our name for eager attention with a record


@dataclass(frozen=True)
class Scoring:
    """How one layer made its scores, as the model passed it to the attention function."""

    scale: float  # q·k is multiplied by it
    softcap: float | None  # scores -> softcap · tanh(scores / softcap)
    sliding_window: int | None  # a query sees itself and sliding_window - 1 keys before it


class AttentionRecord:
    """What one forward's attention calls saw: each call's query, key and value (after any rotary
    positions, one per query head) and how it scored them, in the order the layers run; with a
    `selection`, each call's selected rows and pooled map of its probabilities."""

    def __init__(self, selection: AttentionSelection | None = None):
        self.seen: dict[str, list[torch.Tensor]] = {name: [] for name in INTERNALS}
        self.scoring: list[Scoring] = []
        self.selection = selection
        self.rows: list[torch.Tensor] = []  # (B, H, rows, S) per call
        self.pooled: list[torch.Tensor] = []  # (B, H, T / b, S / b) per call
        # Each chunk's part of a mask, made once for all the layers that share the mask: made per layer,
        # ONNX Runtime would make every layer's at the start of the run (they depend on the inputs
        # only) and hold them until the layer (1.1 GB at 4,096 tokens over 30 layers).
        self._mask_parts: dict[tuple[int, object], tuple[torch.Tensor, torch.Tensor]] = {}

    def mask_part(self, mask: torch.Tensor, chunk: object, make) -> torch.Tensor:
        """`make()`, the part of `mask` that `chunk` names, made at its first call only."""
        key = (id(mask), chunk)
        if key not in self._mask_parts:
            self._mask_parts[key] = (mask, make())  # holding `mask` keeps its id from being reused
        return self._mask_parts[key][1]

    def add(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scoring: Scoring,
            rows: torch.Tensor | None = None, pooled: torch.Tensor | None = None) -> None:
        """One call: what it saw (none of its positions where the selection leaves the internals out) and,
        with a selection, its rows and pooled map (attend_in_chunks)."""
        for name, tensor in zip(self.seen, (query, key, value), strict=True):
            self.seen[name].append(kept_positions(tensor, 2, self.selection))  # (B, H, T, hd)
        self.scoring.append(scoring)
        if self.selection is not None:
            self.rows.append(rows)
            self.pooled.append(pooled)

    def stacked(self, name: str) -> torch.Tensor:
        return torch.stack(self.seen[name])  # (L, B, H, T, hd)


def per_query_head(states: torch.Tensor, query_heads: int) -> torch.Tensor:
    """(B, kv_heads, S, hd) -> (B, query_heads, S, hd): query head h reads key/value head
    h // (query_heads / kv_heads), as transformers' repeat_kv lays them out."""
    return states.repeat_interleave(query_heads // states.shape[1], dim=1)


def recorded_eager_attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    softcap: float | None = None,
    attention_record: AttentionRecord | None = None,
    sliding_window: int | None = None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """transformers' eager attention (grouped key/value heads repeated per query head; Gemma 2's
    tanh soft-capping of the scores). The mask already holds any sliding window, which the model
    passes only for the record."""
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    key, value = per_query_head(key, query.shape[1]), per_query_head(value, query.shape[1])
    # a mask broadcast over the queries (query axis 1 in the graph) is every query's
    broadcast = attention_mask is None or (isinstance(attention_mask.shape[-2], int) and attention_mask.shape[-2] == 1)

    def probs_of(select, seen=None, chunk=None) -> torch.Tensor:
        """The probabilities of the queries `select` picks (the chunk `chunk` names) over the first `seen`
        keys (all where None): (B, H, q, seen); masked keys exactly 0."""
        seen_keys = key if seen is None else key[:, :, :seen]
        scores = torch.matmul(select(query), seen_keys.transpose(-1, -2)) * scaling  # (B, H, q, S)
        if softcap is not None:
            scores = torch.tanh(scores / softcap) * softcap
        if attention_mask is not None:  # 0 where allowed, the most negative float where masked

            def part() -> torch.Tensor:
                mask = attention_mask if broadcast else select(attention_mask)
                return mask if seen is None else mask[..., :seen]

            shared = chunk is not None and attention_record is not None
            scores = scores + (attention_record.mask_part(attention_mask, chunk, part) if shared else part())
        return torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)

    scoring = Scoring(float(scaling), None if softcap is None else float(softcap), sliding_window)
    if attention_record is not None and attention_record.selection is not None:  # a long input's layer
        # a decoder's causal mask: each chunk of queries is scored against the keys up to its last only
        out, rows, pooled = attend_in_chunks(probs_of, value, attention_record.selection, query.shape[2],
                                             causal=bool(getattr(module, "is_causal", False)))
        attention_record.add(query, key, value, scoring, rows, pooled)
        return out.transpose(1, 2).contiguous(), None  # the record holds what the file returns
    probs = probs_of(lambda t: t)  # (B, H, T, S)
    if attention_record is not None:
        attention_record.add(query, key, value, scoring)
    out = torch.matmul(probs, value).transpose(1, 2).contiguous()  # (B, T, H, hs)
    return out, probs


def register_attention() -> None:
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import eager_mask

    AttentionInterface.register(ATTENTION, recorded_eager_attention)
    AttentionMaskInterface.register(ATTENTION, eager_mask)  # additive float masks, as eager takes
