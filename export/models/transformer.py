"""The encoder-decoder Transformer of "Attention Is All You Need", for sequence-to-sequence tasks."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from export.layers import DecoderBlock, SinusoidalPositions, StackTrace, TokenEmbedding
from export.models.common import Encoder, ModelOutput, Selections, layer_head_mask


@dataclass
class TransformerConfig:
    vocab_size: int = 64  # shared by source and target
    d_model: int = 128
    heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 2
    d_ff: int = 512
    max_positions: int = 64
    dropout: float = 0.0
    pad_id: int = 0


class Transformer(nn.Module):
    """Source: embedding + sinusoidal positions -> encoder blocks.
    Target: embedding + sinusoidal positions -> decoder blocks (masked self-attention,
    cross-attention over the encoder output) -> projection to the vocabulary."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        c = config
        self.embed = TokenEmbedding(c.vocab_size, c.d_model)  # shared by both sides
        self.positions = SinusoidalPositions(c.max_positions, c.d_model)
        self.encoder = Encoder(c.encoder_layers, c.d_model, c.heads, c.d_ff, norm_first=False, dropout=c.dropout)
        self.decoder_blocks = nn.ModuleList(
            DecoderBlock(c.d_model, c.heads, c.d_ff, norm_first=False, dropout=c.dropout)
            for _ in range(c.decoder_layers)
        )
        self.dropout = nn.Dropout(c.dropout)
        self.generator = nn.Linear(c.d_model, c.vocab_size)

    def encode(
        self,
        src_ids: torch.Tensor,
        src_mask: torch.Tensor | None,
        head_mask: torch.Tensor | None = None,
        selections: Selections | None = None,
    ) -> tuple[torch.Tensor, StackTrace]:
        x = self.dropout(self.positions(self.embed(src_ids)))  # (B, S, D)
        return self.encoder(x, src_mask, head_mask, selection=(selections or {}).get("encoder"))

    def decode(
        self,
        tgt_ids: torch.Tensor,
        memory: torch.Tensor,
        tgt_mask: torch.Tensor | None,
        src_mask: torch.Tensor | None,
        decoder_head_mask: torch.Tensor | None = None,
        cross_head_mask: torch.Tensor | None = None,
        selections: Selections | None = None,
    ) -> tuple[torch.Tensor, StackTrace, StackTrace]:
        x = self.dropout(self.positions(self.embed(tgt_ids)))  # (B, T, D)
        selections = selections or {}
        self_trace, cross_trace = StackTrace.empty(selections.get("decoder")), StackTrace.empty(selections.get("cross"))
        self_trace.hidden_states.append(x)
        for i, block in enumerate(self.decoder_blocks):
            out = block(
                x, memory, tgt_mask, src_mask,
                layer_head_mask(decoder_head_mask, i), layer_head_mask(cross_head_mask, i),
            )
            x = out.hidden
            self_trace.record(out.attentions["self"])
            cross_trace.record(out.attentions["cross"])
            self_trace.hidden_states.append(x)
        cross_trace.hidden_states = list(self_trace.hidden_states)
        return self.generator(x), self_trace, cross_trace  # logits (B, T, vocab)

    def forward(
        self,
        src_ids: torch.Tensor,  # (B, S)
        src_mask: torch.Tensor | None,  # (B, S)
        tgt_ids: torch.Tensor,  # (B, T)
        tgt_mask: torch.Tensor | None,  # (B, T)
        encoder_head_mask: torch.Tensor | None = None,
        decoder_head_mask: torch.Tensor | None = None,
        cross_head_mask: torch.Tensor | None = None,
        selections: Selections | None = None,
    ) -> ModelOutput:
        memory, enc_trace = self.encode(src_ids, src_mask, encoder_head_mask, selections)
        logits, dec_trace, cross_trace = self.decode(
            tgt_ids, memory, tgt_mask, src_mask, decoder_head_mask, cross_head_mask, selections
        )
        return ModelOutput(logits, {"encoder": enc_trace, "decoder": dec_trace, "cross": cross_trace})

    @torch.no_grad()
    def greedy_decode(
        self, src_ids: torch.Tensor, src_mask: torch.Tensor, bos_id: int, eos_id: int, max_len: int
    ) -> torch.Tensor:
        """Greedy decoding, one token per step; returns (B, <= max_len) ids starting with bos."""
        memory, _ = self.encode(src_ids, src_mask)
        out = torch.full((src_ids.shape[0], 1), bos_id, dtype=torch.long, device=src_ids.device)
        done = torch.zeros(src_ids.shape[0], dtype=torch.bool, device=src_ids.device)
        for _ in range(max_len - 1):
            logits, _, _ = self.decode(out, memory, torch.ones_like(out), src_mask)
            next_id = logits[:, -1].argmax(-1)
            next_id = torch.where(done, torch.full_like(next_id, self.config.pad_id), next_id)
            out = torch.cat([out, next_id[:, None]], dim=1)
            done |= next_id == eos_id
            if bool(done.all()):
                break
        return out
