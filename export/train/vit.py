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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from explorer import contract
from explorer.shared.images import pixels_to_patches
from explorer.shared.rollout import class_token_map
from export.data.shapes import CLASSES, ShapeBatch, ShapesConfig, generate
from export.kinds import image_spec_for
from export.models import ViT, ViTConfig
from export.train.finish import finish
from export.train.loop import TrainConfig, train_run

# Seed streams: a batch's seed is (run seed, stream, index), so the streams never meet.
TRAIN_STREAM, HELD_OUT_STREAM = 0, 1


@dataclass(frozen=True)
class ViTRecipe:
    """Everything that decides what `train_vit` produces.

    Why these values (short runs on this machine's CPU, 1 thread):
    - 48 x 48 images in 6 x 6 patches: an 8 x 8 grid, so a shape (circumradius 6-10 px) covers
      a few patches and pointing at the centre hits it only about half the time; 4 x 4
      patches (144 tokens) cost 2.8x per step and learned slower per minute.
    - Upright shapes (give or take 10 degrees): freely rotated shapes learned 3-4x slower
      (45% after 1,200 steps against 72% upright); shapes stand out in brightness, not only
      in hue (+3 points early on).
    - AdamW at 1e-3 beat 2e-3 and 4e-3; bf16 autocast; fresh images every step, so no
      augmentation is needed.
    """

    model: ViTConfig = field(
        default_factory=lambda: ViTConfig(
            image_size=48, patch_size=6, classes=len(CLASSES), d_model=128, heads=4, layers=4, d_ff=256
        )
    )
    data: ShapesConfig = field(default_factory=ShapesConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(steps=6000, lr=1e-3, warmup=300, weight_decay=0.05, bf16=True)
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


class BatchMaker:
    """make_batch(step) -> (pixel_values, labels) for the training loop; batch `step` depends
    on (seed, step) alone."""

    def __init__(self, recipe: ViTRecipe, seed: int):
        self.recipe, self.seed = recipe, seed
        self.spec = image_spec_for(recipe.model)

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        shapes = generate(self.recipe.batch, (self.seed, TRAIN_STREAM, step), self.recipe.data)
        return to_pixel_values(shapes.images, self.spec), torch.from_numpy(shapes.labels)


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
def evaluate_torch(model: ViT, shapes: ShapeBatch, chunk: int = 250) -> dict:
    """Run the PyTorch model on `shapes` and score it."""
    spec = image_spec_for(model.config)
    model.eval()
    logits, attentions = [], []
    for start in range(0, len(shapes.labels), chunk):
        out = model(to_pixel_values(shapes.images[start : start + chunk], spec))
        logits.append(out.logits.numpy())
        attentions.append(torch.stack(out.stacks["encoder"].probs).numpy())  # (L, b, H, T, T)
    return score(np.concatenate(logits), np.concatenate(attentions, axis=1), shapes, spec)


def evaluate_onnx(path: str | Path, shapes: ShapeBatch, chunk: int = 250) -> dict:
    """Run an exported contract file on `shapes` with ONNX Runtime and score it."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map.get(contract.METADATA_KEY))
    spec = meta.image
    outputs = [contract.LOGITS, contract.attention_output("encoder")]
    logits, attentions = [], []
    for start in range(0, len(shapes.labels), chunk):
        pixel_values = to_pixel_values(shapes.images[start : start + chunk], spec).numpy()
        patch_mask = np.ones((len(pixel_values), 1 + spec.num_patches), np.int64)
        batch_logits, batch_attentions = session.run(
            outputs, {contract.PIXEL_VALUES: pixel_values, contract.PATCH_MASK: patch_mask}
        )
        logits.append(batch_logits)
        attentions.append(batch_attentions)  # (L, b, H, T, T)
    return score(np.concatenate(logits), np.concatenate(attentions, axis=1), shapes, spec)


DESCRIPTION = ("Tells six shapes apart in small images: drop an image to see which patches [CLS] attends to, "
               "and how the class changes when you hide them.")


def figures(provenance: dict) -> tuple[contract.Figure, ...]:
    """The held-out figures as a reader wants them, from the exported file's own measurement."""
    return (
        contract.Figure("held-out accuracy", provenance["accuracy_onnx"], "%", 1 / len(CLASSES), "chance"),
        contract.Figure("pointing game (rollout's top patch on the shape)", provenance["pointing_game_onnx"], "%",
                        provenance["centre_baseline"], "centre-patch baseline"),
    )


def train_vit(
    out_dir: str | Path,
    work_dir: str | Path,
    seed: int = 0,
    steps: int | None = None,
    recipe: ViTRecipe | None = None,
    progress: bool = True,
) -> dict:
    """Train, score on held-out images (PyTorch and the exported ONNX file), export
    `out_dir/vit.onnx` with the figures in its provenance. Returns the provenance."""
    recipe = recipe or ViTRecipe()
    if steps is not None:
        recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, steps=steps))
    train_config = dataclasses.replace(recipe.train, seed=seed)
    run = train_run("vit", lambda: ViT(recipe.model), BatchMaker(recipe, seed), classification_loss, train_config,
                    work_dir, progress)

    held_out = held_out_images(recipe, seed)
    torch_figures = evaluate_torch(run.model, held_out)

    def measure_onnx(path: Path) -> dict:
        figures = evaluate_onnx(path, held_out)
        return {
            "accuracy_onnx": figures["accuracy"],
            "pointing_game_onnx": figures["pointing_game"],
            "centre_baseline": figures["centre_baseline"],
            "pointing_note": (
                "share of held-out images where the patch with the most attention-rollout mass from [CLS] "
                "(heads averaged, nothing discarded) holds a pixel of the shape; centre_baseline: share where "
                "the centre patch (the 2 x 2 centre patches on an even grid) touches the shape"
            ),
        }

    return finish(
        run, out_dir,
        about={
            "task": f"classify the shape in the image: {', '.join(CLASSES)}",
            "data": "generated by export.data.shapes: " + recipe.data.describe(),
            "data_config": dataclasses.asdict(recipe.data),
            "held_out": f"{recipe.held_out} images from a seed stream no training step draws from",
        },
        settings={
            "batch_size": recipe.batch,
            "lr": train_config.lr,
            "warmup": train_config.warmup,
            "weight_decay": train_config.weight_decay,
            "bf16": train_config.bf16,
        },
        measured_in_torch={
            "accuracy_torch": torch_figures["accuracy"],
            "pointing_game_torch": torch_figures["pointing_game"],
        },
        measure_onnx=measure_onnx, figures_of=figures, description=DESCRIPTION,
        name_machine=True,
        name="Shapes classifier (ViT)", labels=CLASSES, image=image_spec_for(recipe.model),
    )
