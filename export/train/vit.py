"""Train the bundled Vision Transformer on generated shape images, measure it, export it.

Every step draws a fresh batch from `export.data.shapes` with a seed made of the run's
seed and the step, so there is no dataset to overfit, a run is deterministic, and a
resumed run sees the batches a straight one would. Held-out images come from another
seed stream. Two figures are measured at the end: classification accuracy, and the
pointing game — how often the patch with the most attention-rollout mass from [CLS]
lies on the shape — next to the baseline of always pointing at the centre patch(es).
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from explorer import contract
from explorer.core.images import pixels_to_patches
from explorer.core.rollout import class_token_map
from export.bundle import EXPORT_INFO, export_info, image_spec_for
from export.checkpoint import save_model
from export.data.shapes import CLASSES, ShapeBatch, ShapesConfig, generate
from export.models import ViT, ViTConfig
from export.onnx_export import export_onnx, metadata_for
from export.train.loop import TrainConfig, seed_everything, train

# Seed streams: a batch's seed is (run seed, stream, index), so the streams never meet.
TRAIN_STREAM, HELD_OUT_STREAM = 0, 1


@dataclass(frozen=True)
class ViTRecipe:
    """Everything that decides what `train_vit` produces."""

    model: ViTConfig = field(
        default_factory=lambda: ViTConfig(
            image_size=32, patch_size=4, classes=len(CLASSES), d_model=128, heads=4, layers=4, d_ff=256
        )
    )
    data: ShapesConfig = field(default_factory=ShapesConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(steps=6000, lr=2e-3, warmup=300, weight_decay=0.05, bf16=True)
    )
    batch: int = 128
    held_out: int = 2000  # images for the final figures

    def __post_init__(self):
        if self.data.size != self.model.image_size:
            raise ValueError(f"images are {self.data.size} px but the model takes {self.model.image_size} px")


def to_pixel_values(images: np.ndarray, spec: contract.ImageSpec) -> torch.Tensor:
    """(B, H, W, 3) floats in [0, 1] -> normalised (B, 3, H, W), as the ImageSpec says."""
    mean = np.asarray(spec.mean, np.float32)
    std = np.asarray(spec.std, np.float32)
    return torch.from_numpy(((images - mean) / std).transpose(0, 3, 1, 2).copy())  # (B, C, H, W)


def batch_maker(recipe: ViTRecipe, seed: int):
    """make_batch(step) -> (pixel_values, labels) for the training loop."""
    spec = image_spec_for(recipe.model)

    def make_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        shapes = generate(recipe.batch, (seed, TRAIN_STREAM, step), recipe.data)
        return to_pixel_values(shapes.images, spec), torch.from_numpy(shapes.labels)

    return make_batch


def classification_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]):
    pixel_values, labels = batch
    logits = model(pixel_values).logits.float()  # (B, classes)
    loss = nn.functional.cross_entropy(logits, labels)
    accuracy = (logits.argmax(-1) == labels).float().mean()
    return loss, {"acc": float(accuracy)}


def held_out_images(recipe: ViTRecipe, seed: int, count: int | None = None, chunk: int = 250) -> ShapeBatch:
    """`count` images no training step ever draws (their own seed stream)."""
    count = recipe.held_out if count is None else count
    parts = [
        generate(min(chunk, count - start), (seed, HELD_OUT_STREAM, start), recipe.data)
        for start in range(0, count, chunk)
    ]
    return ShapeBatch(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(ShapeBatch)))


def centre_patches(spec: contract.ImageSpec) -> np.ndarray:
    """Row-major indices of the centre patch, or the 2 x 2 centre block when a side is even."""
    def middle(n: int) -> list[int]:
        return [n // 2] if n % 2 else [n // 2 - 1, n // 2]

    rows, cols = spec.grid
    return np.array([r * cols + c for r in middle(rows) for c in middle(cols)])


def score(logits: np.ndarray, attentions: np.ndarray, shapes: ShapeBatch, spec: contract.ImageSpec) -> dict:
    """Accuracy, pointing game and centre baseline from a model's outputs on `shapes`.

    logits (B, classes); attentions (layers, B, heads, T, T) as the contract's `attentions.encoder`.
    Pointing game: the patch with the most [CLS] rollout mass (mean head fusion, nothing
    discarded) is a hit when any of its pixels lies on the shape. The centre baseline
    points at all centre patches at once (a hit when any of them touches the shape),
    which flatters it on even grids.
    """
    on_shape = pixels_to_patches(shapes.masks, spec)  # (B, patches)
    maps = np.stack([class_token_map(attentions[:, i]) for i in range(len(shapes.labels))])  # (B, patches)
    pointed = maps.argmax(axis=1)
    hits = on_shape[np.arange(len(pointed)), pointed]
    centre_hits = on_shape[:, centre_patches(spec)].any(axis=1)
    return {
        "accuracy": float((logits.argmax(axis=1) == shapes.labels).mean()),
        "pointing_game": float(hits.mean()),
        "centre_baseline": float(centre_hits.mean()),
        "images": len(shapes.labels),
    }


@torch.no_grad()
def evaluate(model: ViT, shapes: ShapeBatch, chunk: int = 250) -> dict:
    """Run the PyTorch model on `shapes` and score it (float32, as exported)."""
    spec = image_spec_for(model.config)
    model.eval()
    logits, attentions = [], []
    for start in range(0, len(shapes.labels), chunk):
        out = model(to_pixel_values(shapes.images[start : start + chunk], spec))
        logits.append(out.logits.numpy())
        attentions.append(torch.stack(out.stacks["encoder"].probs).numpy())  # (L, b, H, T, T)
    return score(np.concatenate(logits), np.concatenate(attentions, axis=1), shapes, spec)


def _recipe_description(recipe: ViTRecipe, seed: int) -> dict:
    return {
        "model": dataclasses.asdict(recipe.model),
        "data_config": dataclasses.asdict(recipe.data),
        "data": recipe.data.describe(),
        "optimiser": "AdamW, linear warm-up then cosine decay, bf16 autocast" if recipe.train.bf16 else "AdamW",
        "train": dataclasses.asdict(recipe.train),
        "batch": recipe.batch,
        "seed": seed,
    }


def train_vit(
    out_dir: str | Path,
    work_dir: str | Path,
    seed: int = 0,
    steps: int | None = None,
    recipe: ViTRecipe | None = None,
    progress: bool = True,
) -> dict:
    """Train, evaluate on held-out images, export `out_dir/vit.onnx`; return the figures.

    Checkpoints go to `work_dir/vit` and a run resumes from them; the final weights are
    saved there as `vit.safetensors`, exportable with `attention-export export`.
    """
    recipe = recipe or ViTRecipe()
    if steps is not None:
        recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, steps=steps))
    train_config = dataclasses.replace(recipe.train, seed=seed)
    work = Path(work_dir) / "vit"

    seed_everything(seed)
    model = ViT(recipe.model)
    began = time.perf_counter()
    result = train(
        model, batch_maker(recipe, seed), classification_loss, train_config, work, description="vit", progress=progress
    )
    figures = evaluate(model, held_out_images(recipe, seed))
    figures.update(
        steps=train_config.steps,
        steps_this_run=result.steps,
        train_seconds=round(result.seconds, 1),
        threads=torch.get_num_threads(),
        machine=f"{platform.machine()} CPU",
    )

    provenance = {
        "source": "trained by attention-export train vit",
        "figures": figures,
        **_recipe_description(recipe, seed),
    }
    spec = image_spec_for(recipe.model)
    meta = metadata_for(model, name="ViT on generated shapes", labels=CLASSES, image=spec, provenance=provenance)
    save_model(model, work / "vit.safetensors", extra={EXPORT_INFO: export_info(meta)})
    path = export_onnx(model, meta, Path(out_dir) / "vit.onnx", internals=True)
    figures["onnx"] = str(path)
    figures["total_seconds"] = round(time.perf_counter() - began, 1)
    print(json.dumps({"vit": figures}, indent=2))
    return figures
