"""The Vision Transformer: an image cut into patches, each patch a token."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from export.layers import LearnedPositions
from export.models.common import Encoder, ModelOutput, Selections


@dataclass
class ViTConfig:
    image_size: int = 64
    patch_size: int = 8
    channels: int = 3
    classes: int = 6
    d_model: int = 128
    heads: int = 4
    layers: int = 4
    d_ff: int = 512
    dropout: float = 0.0

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class ViT(nn.Module):
    """Patches (row-major) -> linear patch embedding -> [CLS] prepended -> learned positions
    -> pre-norm encoder blocks -> classifier on the [CLS] token."""

    def __init__(self, config: ViTConfig):
        super().__init__()
        if config.image_size % config.patch_size:
            raise ValueError("image_size must be a multiple of patch_size")
        self.config = config
        c = config
        self.patch_embed = nn.Linear(c.channels * c.patch_size * c.patch_size, c.d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.positions = LearnedPositions(1 + c.num_patches, c.d_model)
        self.encoder = Encoder(c.layers, c.d_model, c.heads, c.d_ff, norm_first=True, dropout=c.dropout)
        self.head = nn.Linear(c.d_model, c.classes)

    def patchify(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, N, C*p*p), patches in row-major order."""
        b, c, h, w = pixel_values.shape
        p = self.config.patch_size
        x = pixel_values.reshape(b, c, h // p, p, w // p, p)
        return x.permute(0, 2, 4, 1, 3, 5).reshape(b, (h // p) * (w // p), c * p * p)

    def forward(
        self,
        pixel_values: torch.Tensor,  # (B, C, H, W) normalised
        patch_mask: torch.Tensor | None = None,  # (B, 1 + N) 1 attend, 0 hidden key
        head_mask: torch.Tensor | None = None,  # (layers, heads)
        selections: Selections | None = None,
    ) -> ModelOutput:
        tokens = self.patch_embed(self.patchify(pixel_values))  # (B, N, D)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)  # (B, 1, D)
        x = self.positions(torch.cat([cls, tokens], dim=1))  # (B, 1 + N, D)
        x, trace = self.encoder(x, patch_mask, head_mask, selection=(selections or {}).get("encoder"))
        return ModelOutput(self.head(x[:, 0]), {"encoder": trace})  # logits (B, classes)
