"""Tiny random checkpoints of every vision family `attention-export hf` imports besides ViT: DeiT's
distillation token, BEiT's relative position bias, DINOv2 (with registers), the image towers of CLIP
and SigLIP (no class token), saved the way `save_pretrained` writes them, with an image processor's
preprocessor_config.json; and transformers' own eager model to check each against."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import transformers

from .conftest import PREPROCESSOR, VIT_LABELS

HEADS, LAYERS, WIDTH, SIDE, PATCH = 4, 2, 32, 16, 4
PATCHES = (SIDE // PATCH) ** 2
# CLIP's processor: the short side resized, then the centre cropped.
CROPPING = {**PREPROCESSOR, "image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": SIDE},
            "do_center_crop": True, "crop_size": {"height": SIDE, "width": SIDE},
            "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]}


@dataclass(frozen=True)
class Tiny:
    """One family's tiny checkpoint, and what its import should then say."""

    config: str
    model: str
    before_patches: tuple[str, ...]  # the token strip's names of the tokens before the patches
    sizes: dict = field(default_factory=dict)
    classifier: bool = True  # saved with VIT_LABELS' classifier; else the "logits" are its pooled features
    patch_embedding: bool = False  # the file names its way in
    takes_mask: bool = True  # transformers' model takes the 1/0 patch mask (CLIP's and SigLIP's towers do not)
    preprocessor: dict = field(default_factory=lambda: PREPROCESSOR)

    @property
    def tokens(self) -> int:
        return len(self.before_patches) + PATCHES


FAMILIES: dict[str, Tiny] = {
    "deit": Tiny("DeiTConfig", "DeiTForImageClassificationWithTeacher", ("[CLS]", "[DIST]")),
    "beit": Tiny("BeitConfig", "BeitForImageClassification", ("[CLS]",), {
        "use_relative_position_bias": True, "use_absolute_position_embeddings": False, "use_mean_pooling": True}),
    "dinov2": Tiny("Dinov2Config", "Dinov2Model", ("[CLS]",), classifier=False, patch_embedding=True),
    "dinov2_with_registers": Tiny("Dinov2WithRegistersConfig", "Dinov2WithRegistersModel",
                                  ("[CLS]", "[REG0]", "[REG1]"), {"num_register_tokens": 2}, classifier=False),
    "clip_vision_model": Tiny("CLIPVisionConfig", "CLIPVisionModel", ("[CLS]",), classifier=False, takes_mask=False,
                              preprocessor=CROPPING, sizes={"initializer_factor": 6.0}),
    "siglip_vision_model": Tiny("SiglipVisionConfig", "SiglipVisionModel", (), classifier=False,
                                patch_embedding=True, takes_mask=False),
}


def save(folder: Path, model_type: str, image_size: int = SIDE, preprocessor: dict | None = None) -> Path:
    """The tiny checkpoint; `image_size` its positions' side, where the processor gives it other pixels."""
    tiny = FAMILIES[model_type]
    labels = {"id2label": VIT_LABELS, "label2id": {v: k for k, v in VIT_LABELS.items()}} if tiny.classifier else {}
    # Large initial weights, so that the attention is peaked, not uniform.
    config = getattr(transformers, tiny.config)(
        hidden_size=WIDTH, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=64,
        image_size=image_size, patch_size=PATCH, initializer_range=0.3, **labels, **tiny.sizes)
    torch.manual_seed(0)
    getattr(transformers, tiny.model)(config).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor or tiny.preprocessor))
    return folder


def reference(folder: Path, model_type: str):
    """transformers' own model with eager attention."""
    model = getattr(transformers, FAMILIES[model_type].model)
    return model.from_pretrained(folder, attn_implementation="eager").eval()


def images(model_type: str, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(pixels (batch, 3, 16, 16), patch mask (batch, tokens)): every item after the first hides 4 patches."""
    tiny = FAMILIES[model_type]
    rng = np.random.default_rng(seed)
    pixels = rng.standard_normal((batch, 3, SIDE, SIDE)).astype(np.float32)
    mask = np.ones((batch, tiny.tokens), np.int64)
    first = len(tiny.before_patches)
    for b in range(1, batch):
        mask[b, first + rng.choice(PATCHES, size=4, replace=False)] = 0
    return pixels, mask


def reference_mask(model_type: str, mask: np.ndarray) -> torch.Tensor:
    """The mask transformers' model takes: the 1/0 mask, or for a tower without one the additive mask its
    encoder adds to the scores (0 where allowed, the most negative float where hidden)."""
    mask = torch.from_numpy(mask)
    if FAMILIES[model_type].takes_mask:
        return mask
    return torch.zeros(mask.shape[0], 1, 1, mask.shape[1]).masked_fill((mask == 0)[:, None, None, :],
                                                                        torch.finfo(torch.float32).min)
