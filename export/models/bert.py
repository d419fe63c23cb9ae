"""BERT: an encoder over [CLS] tokens [SEP] with a masked-language-model head."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from export.layers import LearnedPositions, TokenEmbedding
from export.models.common import Encoder, ModelOutput, Selections


@dataclass
class BertConfig:
    vocab_size: int = 4096
    d_model: int = 256
    heads: int = 4
    layers: int = 2
    d_ff: int = 1024
    max_positions: int = 128
    dropout: float = 0.0
    pad_id: int = 0


class Bert(nn.Module):
    """Token embedding + learned positions -> LayerNorm -> encoder blocks (post-norm, as BERT)
    -> MLM head (dense, GELU, LayerNorm, projection tied to the token embedding)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        c = config
        self.embed = TokenEmbedding(c.vocab_size, c.d_model, scale=False)
        self.positions = LearnedPositions(c.max_positions, c.d_model)
        self.embed_norm = nn.LayerNorm(c.d_model)
        self.encoder = Encoder(c.layers, c.d_model, c.heads, c.d_ff, norm_first=False, dropout=c.dropout)
        self.mlm_transform = nn.Sequential(nn.Linear(c.d_model, c.d_model), nn.GELU(), nn.LayerNorm(c.d_model))
        self.mlm_bias = nn.Parameter(torch.zeros(c.vocab_size))

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T) int64
        attention_mask: torch.Tensor | None = None,  # (B, T) 1 attend, 0 masked key
        head_mask: torch.Tensor | None = None,  # (layers, heads)
        selections: Selections | None = None,
    ) -> ModelOutput:
        x = self.embed_norm(self.positions(self.embed(input_ids)))  # (B, T, D)
        x, trace = self.encoder(x, attention_mask, head_mask, selection=(selections or {}).get("encoder"))
        h = self.mlm_transform(x)  # (B, T, D)
        logits = h @ self.embed.weight.T + self.mlm_bias  # (B, T, vocab)
        return ModelOutput(logits, {"encoder": trace})
