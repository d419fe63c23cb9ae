"""GPT: a decoder-only language model; each token predicts the next one from those before it."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from export.layers import LearnedPositions, TokenEmbedding
from export.models.common import Encoder, ModelOutput, Selections

Past = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: cached (keys, values), each (B, H, P, hd)


@dataclass
class GPTConfig:
    vocab_size: int = 4096
    d_model: int = 256
    heads: int = 8
    layers: int = 4
    d_ff: int = 1024
    max_positions: int = 256
    dropout: float = 0.0
    pad_id: int = 0


class GPT(nn.Module):
    """Token embedding + learned positions -> pre-norm blocks of causal self-attention and
    feed-forward (GPT-2's layout) -> final LayerNorm -> projection tied to the token embedding.

    With `past` (each layer's keys and values of the P tokens before), the ids are only the new
    tokens: they take positions P, P + 1, ... and attend to the cached keys and to each other.
    The stack's trace then holds the new queries and every key and value, the next step's past.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        c = config
        self.embed = TokenEmbedding(c.vocab_size, c.d_model, scale=False)
        self.positions = LearnedPositions(c.max_positions, c.d_model)
        self.decoder = Encoder(c.layers, c.d_model, c.heads, c.d_ff, norm_first=True, dropout=c.dropout, causal=True)

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T) int64: the new tokens
        attention_mask: torch.Tensor | None = None,  # (B, P + T) 1 attend, 0 masked key
        head_mask: torch.Tensor | None = None,  # (layers, heads)
        past: Past | None = None,
        selections: Selections | None = None,
    ) -> ModelOutput:
        start = 0 if past is None else past[0][0].shape[2]  # P
        x = self.embed(input_ids) + self.positions.weight[start : start + input_ids.shape[1]]  # (B, T, D)
        selection = (selections or {}).get("decoder")
        x, trace = self.decoder(x, attention_mask, head_mask, past, selection)  # x after the final norm
        logits = x @ self.embed.weight.T  # (B, T, vocab)
        return ModelOutput(logits, {"decoder": trace})

    @torch.no_grad()
    def greedy_generate(self, ids: torch.Tensor, max_new_tokens: int, eos_id: int | None = None) -> torch.Tensor:
        """(1, T) prompt -> (1, T + n) with the most likely token appended n times (with the cache)."""
        out = self.forward(ids)
        sequence = ids
        for _ in range(max_new_tokens):
            next_id = out.logits[:, -1].argmax(-1, keepdim=True)  # (1, 1)
            sequence = torch.cat([sequence, next_id], dim=1)
            if next_id.item() == eos_id or sequence.shape[1] >= self.config.max_positions:
                break
            trace = out.stacks["decoder"]
            out = self.forward(next_id, None, None, list(zip(trace.keys, trace.values, strict=True)))
        return sequence
