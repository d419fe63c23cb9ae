"""What the three models share: the encoder stack and the per-stack trace they return."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from export.layers import EncoderBlock, StackTrace
from export.long_inputs import AttentionSelection


@dataclass
class ModelOutput:
    logits: torch.Tensor
    stacks: dict[str, StackTrace] = field(default_factory=dict)  # "encoder", "decoder", "cross"


Selections = dict[str, AttentionSelection]  # per stack: what its trace keeps of each layer's attention


def layer_head_mask(head_mask: torch.Tensor | None, layer: int) -> torch.Tensor | None:
    """Row `layer` of a (layers, heads) head mask, or None when no mask is given."""
    return None if head_mask is None else head_mask[layer]


class Encoder(nn.Module):
    """A stack of encoder blocks; records each layer's attention and hidden states.
    Causal, it is a GPT's stack, and `past` gives each layer the cached keys and values."""

    def __init__(
        self, layers: int, d_model: int, heads: int, d_ff: int, norm_first: bool, dropout: float, causal: bool = False
    ):
        super().__init__()
        self.blocks = nn.ModuleList(
            EncoderBlock(d_model, heads, d_ff, norm_first, dropout, causal) for _ in range(layers)
        )
        # Pre-norm stacks end with a norm (the residual stream is never normalised inside).
        self.final_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()

    def forward(
        self,
        x: torch.Tensor,
        key_mask: torch.Tensor | None,
        head_mask: torch.Tensor | None,
        past: list[tuple[torch.Tensor, torch.Tensor]] | None = None,  # per layer
        selection: AttentionSelection | None = None,  # what the trace keeps of each layer's attention
    ) -> tuple[torch.Tensor, StackTrace]:
        trace = StackTrace.empty(selection)
        trace.hidden_states.append(x)
        for i, block in enumerate(self.blocks):
            out = block(x, key_mask, layer_head_mask(head_mask, i), None if past is None else past[i])
            x = out.hidden
            trace.record(out.attentions["self"])
            trace.hidden_states.append(x)
        return self.final_norm(x), trace
