"""The vision families' side of the wrapper: the key mask a tower without one of its own takes, the
pooled features a checkpoint without a classifier gives as its "logits", and the patch embedding's
weights where the contract's `patch_embedding` can say how the patches enter the first layer."""

from __future__ import annotations

import torch
from torch import nn

from explorer import contract
from explorer.shared.images import first_patch
from export.hf.families import Vision
from export.onnx_export import initializer_name


def additive_key_mask(mask: torch.Tensor) -> torch.Tensor:
    """(B, T) 1/0 -> (B, 1, 1, T): 0 where a key may be attended, the most negative float where hidden,
    the mask eager attention adds to every head's scores (CLIP's and SigLIP's towers take no 1/0 mask)."""
    hidden = (mask == 0)[:, None, None, :]
    return torch.zeros(hidden.shape).masked_fill(hidden, torch.finfo(torch.float32).min)


def pooled_features(out) -> torch.Tensor:
    """(B, d_model): the model's pooled output where it has one (CLIP's normed [CLS], SigLIP's attention
    pooling, DINOv2's normed [CLS]), else the class token's final features (ViTModel without its pooler)."""
    pooled = getattr(out, "pooler_output", None)
    return out.last_hidden_state[:, 0] if pooled is None else pooled


def patch_embedding(wrapper: nn.Module, vision: Vision, image: contract.ImageSpec) -> contract.PatchEmbedding | None:
    """The graph's names of the patch embedding's weights, where the family's way in is the contract's
    ([class token;] patches @ Wᵀ + b, + positions, straight into the first layer) and its positions are
    not interpolated (as many rows as tokens: DINOv2's are, where it sees fewer pixels than its table)."""
    paths = vision.patch_embedding
    if paths is None:
        return None
    base = wrapper.hf.base_model
    projection = base.get_submodule(paths.projection)  # Conv2d(C, D, kernel p, stride p): weight (D, C, p, p)
    positions = base.get_parameter(paths.positions)  # (1, tokens, D) or (tokens, D)
    if positions.shape[-2] != first_patch(image) + image.num_patches:
        return None
    return contract.PatchEmbedding(
        weight=initializer_name(wrapper, projection.weight),
        bias=None if projection.bias is None else initializer_name(wrapper, projection.bias),
        class_token=None if paths.class_token is None else initializer_name(wrapper, base.get_parameter(
            paths.class_token)),
        positions=initializer_name(wrapper, positions),
    )
