"""The Transformer's pieces, one concept per class, written as the seed explains them.

token ids -> TokenEmbedding -> (+ SinusoidalPositions or LearnedPositions)
-> MultiHeadAttention (Q, K, V; scaled dot products; masks; softmax; weighted V; concat; W_O)
-> residual + LayerNorm -> FeedForward -> residual + LayerNorm
= EncoderBlock; DecoderBlock adds cross-attention over the encoder's output.

Shapes: B batch, T query length, S key length, D d_model, H heads, hd head_dim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from export.long_inputs import AttentionSelection, exact_rows, pooled_attention


@dataclass
class AttentionOutput:
    """What one attention layer computed, kept for the app to show."""

    output: torch.Tensor  # (B, T, D) after W_O
    probs: torch.Tensor  # (B, H, T, S) softmax probabilities, before head_mask
    queries: torch.Tensor  # (B, H, T, hd)
    keys: torch.Tensor  # (B, H, S, hd)
    values: torch.Tensor  # (B, H, S, hd); with a cache, keys and values are the next step's past


class TokenEmbedding(nn.Module):
    """Token id -> a learned vector of d_model numbers (scaled by sqrt(d_model) as in the seed)."""

    def __init__(self, vocab_size: int, d_model: int, scale: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(vocab_size, d_model) * 0.02)
        self.scale = math.sqrt(d_model) if scale else 1.0

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        vectors = self.weight[ids]  # (B, T, D)
        return vectors if self.scale == 1.0 else vectors * self.scale


def sinusoidal_table(max_positions: int, d_model: int) -> torch.Tensor:
    """PE[pos, 2i] = sin(pos / 10000^(2i/D)), PE[pos, 2i+1] = cos(pos / 10000^(2i/D))."""
    position = torch.arange(max_positions, dtype=torch.float32)[:, None]  # (P, 1)
    rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(max_positions, d_model)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)
    return table  # (P, D)


class SinusoidalPositions(nn.Module):
    """Fixed sine/cosine positions added to the embeddings (the original Transformer)."""

    def __init__(self, max_positions: int, d_model: int):
        super().__init__()
        self.register_buffer("table", sinusoidal_table(max_positions, d_model), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: x.shape[1]]  # (B, T, D)


class LearnedPositions(nn.Module):
    """One learned vector per position (BERT, ViT)."""

    def __init__(self, max_positions: int, d_model: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(max_positions, d_model) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[: x.shape[1]]  # (B, T, D)


def causal_mask(queries: int, keys: int, device: torch.device | None = None) -> torch.Tensor:
    """(T, S) bool: query i may attend key j only when j <= i + S - T. The T queries are the last
    T positions of the S keys: with a key-value cache, S - T keys come from earlier steps."""
    query_positions = torch.arange(queries, device=device) + (keys - queries)  # (T,)
    return torch.arange(keys, device=device)[None, :] <= query_positions[:, None]


class MultiHeadAttention(nn.Module):
    """The one attention implementation all three models use.

    Q = X_q Wq, K = X_kv Wk, V = X_kv Wv for all tokens at once; per head
    alpha = softmax(Q K^T / sqrt(hd) with masked keys removed); b = alpha V;
    heads concatenated and multiplied by W_O. Masked keys get exactly 0.
    """

    def __init__(self, d_model: int, heads: int):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by {heads} heads")
        self.heads = heads
        self.head_dim = d_model // heads
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)

    def forward(
        self,
        x_q: torch.Tensor,  # (B, T, D)
        x_kv: torch.Tensor,  # (B, S, D)
        key_mask: torch.Tensor | None = None,  # (B, S) 1 attend, 0 masked key
        causal: bool = False,
        head_mask: torch.Tensor | None = None,  # (H,) 1 keep, 0 remove the head's output
        past: tuple[torch.Tensor, torch.Tensor] | None = None,  # cached (K, V) of earlier tokens, (B, H, P, hd)
    ) -> AttentionOutput:
        q = self._split_heads(self.w_q(x_q))  # (B, H, T, hd)
        k = self._split_heads(self.w_k(x_kv))  # (B, H, S, hd)
        v = self._split_heads(self.w_v(x_kv))  # (B, H, S, hd)
        if past is not None:  # the earlier tokens' keys and values, computed once (S = P + T)
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)

        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, T, S)
        # (T, S), broadcast over batch and heads: a mask as large as the scores was two more maps of
        # the layer's size (bool, then float) alive beside them, where a long input's peak is that size.
        allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device)
        if key_mask is not None:
            allowed = allowed & key_mask[:, None, None, :].bool()
        if causal:
            allowed = allowed & causal_mask(scores.shape[-2], scores.shape[-1], scores.device)
        # The most negative finite value, not -inf: its exp is exactly 0, and a row
        # with every key masked (a padding query) stays finite instead of NaN.
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        probs = scores.softmax(dim=-1)  # (B, H, T, S)
        probs = probs * allowed  # exact zeros on masked keys, also in all-masked rows

        weights = probs if head_mask is None else probs * head_mask[None, :, None, None]
        context = weights @ v  # (B, H, T, hd)
        b, h, t, hd = context.shape
        concat = context.transpose(1, 2).reshape(b, t, h * hd)  # (B, T, D)
        return AttentionOutput(self.w_o(concat), probs, q, k, v)


class FeedForward(nn.Module):
    """Position-wise: Linear -> GELU -> Linear."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Sublayer(nn.Module):
    """Residual connection and layer norm around one sublayer.

    Post-norm (the seed's "add & norm": LN(x + f(x))) or pre-norm (x + f(LN(x)), as ViT does).
    """

    def __init__(self, d_model: int, norm_first: bool, dropout: float = 0.0):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.norm_first = norm_first
        self.dropout = nn.Dropout(dropout)

    def normed_input(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x) if self.norm_first else x

    def add(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        y = x + self.dropout(out)
        return y if self.norm_first else self.norm(y)


@dataclass
class BlockOutput:
    hidden: torch.Tensor  # (B, T, D)
    attentions: dict[str, AttentionOutput]  # "self" and, in decoder blocks, "cross"


class EncoderBlock(nn.Module):
    """Self-attention over the whole sequence, then feed-forward; each with residual + norm.
    With `causal`, each token attends only to itself and earlier ones: a GPT's block."""

    def __init__(
        self, d_model: int, heads: int, d_ff: int, norm_first: bool = False, dropout: float = 0.0, causal: bool = False
    ):
        super().__init__()
        self.causal = causal
        self.attention = MultiHeadAttention(d_model, heads)
        self.attention_sub = Sublayer(d_model, norm_first, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.feed_forward_sub = Sublayer(d_model, norm_first, dropout)

    def forward(
        self,
        x: torch.Tensor,
        key_mask: torch.Tensor | None,
        head_mask: torch.Tensor | None,
        past: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> BlockOutput:
        h = self.attention_sub.normed_input(x)
        att = self.attention(h, h, key_mask=key_mask, causal=self.causal, head_mask=head_mask, past=past)
        x = self.attention_sub.add(x, att.output)
        x = self.feed_forward_sub.add(x, self.feed_forward(self.feed_forward_sub.normed_input(x)))
        return BlockOutput(x, {"self": att})


class DecoderBlock(nn.Module):
    """Masked (causal) self-attention, cross-attention over the encoder's output, feed-forward."""

    def __init__(self, d_model: int, heads: int, d_ff: int, norm_first: bool = False, dropout: float = 0.0):
        super().__init__()
        self.self_attention = MultiHeadAttention(d_model, heads)
        self.self_attention_sub = Sublayer(d_model, norm_first, dropout)
        self.cross_attention = MultiHeadAttention(d_model, heads)
        self.cross_attention_sub = Sublayer(d_model, norm_first, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.feed_forward_sub = Sublayer(d_model, norm_first, dropout)

    def forward(
        self,
        x: torch.Tensor,  # (B, T, D) target side
        memory: torch.Tensor,  # (B, S, D) encoder output
        tgt_mask: torch.Tensor | None,  # (B, T)
        src_mask: torch.Tensor | None,  # (B, S)
        self_head_mask: torch.Tensor | None,
        cross_head_mask: torch.Tensor | None,
    ) -> BlockOutput:
        h = self.self_attention_sub.normed_input(x)
        self_att = self.self_attention(h, h, key_mask=tgt_mask, causal=True, head_mask=self_head_mask)
        x = self.self_attention_sub.add(x, self_att.output)
        h = self.cross_attention_sub.normed_input(x)
        cross_att = self.cross_attention(h, memory, key_mask=src_mask, head_mask=cross_head_mask)
        x = self.cross_attention_sub.add(x, cross_att.output)
        x = self.feed_forward_sub.add(x, self.feed_forward(self.feed_forward_sub.normed_input(x)))
        return BlockOutput(x, {"self": self_att, "cross": cross_att})


@dataclass
class StackTrace:
    """Everything one attention stack computed, layer by layer (lists of length `layers`).

    With a `selection` (the contract's long inputs), each layer keeps only the selected rows of its
    probabilities and their pooled map, made as it records them: no layer's full map outlives it."""

    probs: list[torch.Tensor]  # (B, H, T, S), or (B, H, rows, S) with a selection
    queries: list[torch.Tensor]
    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    hidden_states: list[torch.Tensor]  # layers + 1 entries (input of the first block, then each output)
    selection: AttentionSelection | None = None
    pooled: list[torch.Tensor] = field(default_factory=list)  # with a selection: (B, H, T / b, S / b)

    @classmethod
    def empty(cls, selection: AttentionSelection | None = None) -> StackTrace:
        return cls([], [], [], [], [], selection)

    def record(self, att: AttentionOutput) -> None:
        if self.selection is None:
            self.probs.append(att.probs)
        else:
            self.probs.append(exact_rows(att.probs, self.selection.rows))
            self.pooled.append(pooled_attention(att.probs, self.selection.block))
        self.queries.append(att.queries)
        self.keys.append(att.keys)
        self.values.append(att.values)
