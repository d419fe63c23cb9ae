"""One training loop for all three models: seeded, resumable, with a progress bar.

Batches come from ``make_batch(step)``, a pure function of the step index (and the
seed it closes over), so a resumed run sees exactly the batches a straight run would.
`train_run` is how each model's pipeline uses it: seed, build, train in the run's own
checkpoint folder, time it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from export.checkpoint import load_model, load_training_state, save_model, save_training_state


@dataclass
class TrainConfig:
    steps: int
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.01
    min_lr_ratio: float = 0.05  # cosine decay ends at lr * min_lr_ratio
    grad_clip: float = 1.0
    seed: int = 0
    bf16: bool = False  # CPU autocast; explicit attention is much faster under bf16 here
    checkpoint_every: int = 500


@dataclass
class TrainResult:
    steps: int
    seconds: float
    final_loss: float
    history: list[dict] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to lr * min_lr_ratio."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


LossFn = Callable[[nn.Module, object], tuple[torch.Tensor, dict[str, float]]]


def train(
    model: nn.Module,
    make_batch: Callable[[int], object],
    loss_fn: LossFn,
    config: TrainConfig,
    checkpoint_dir: str | Path | None = None,
    description: str = "train",
    progress: bool = True,
) -> TrainResult:
    """Train `model` in place. With `checkpoint_dir`, save every `checkpoint_every` steps and
    resume from the last checkpoint found there."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    start = 0
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else None
    if ckpt_dir and (ckpt_dir / "last.safetensors").exists():
        saved, _ = load_model(ckpt_dir / "last.safetensors")
        model.load_state_dict(saved.state_dict())
        state = load_training_state(ckpt_dir / "last.state.pt")
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["step"])

    model.train()
    history: list[dict] = []
    began = time.perf_counter()
    loss_value = float("nan")
    bar = tqdm(range(start, config.steps), desc=description, disable=not progress, dynamic_ncols=True)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config)
        batch = make_batch(step)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            loss, metrics = loss_fn(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        loss_value = float(loss.detach())
        if step % 10 == 0 or step == config.steps - 1:
            bar.set_postfix(loss=f"{loss_value:.3f}", **{k: f"{v:.3f}" for k, v in metrics.items()})
            history.append({"step": step, "loss": loss_value, **metrics})
        if ckpt_dir and ((step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps):
            save_model(model, ckpt_dir / "last.safetensors")
            save_training_state({"optimizer": optimizer.state_dict(), "step": step + 1}, ckpt_dir / "last.state.pt")
    model.eval()
    return TrainResult(config.steps - start, time.perf_counter() - began, loss_value, history)


def run_dir(work_dir: str | Path, model: str, seed: int, steps: int) -> Path:
    """Checkpoints of one run: a run resumes only from a run with the same seed and step count
    (the learning-rate schedule depends on both)."""
    return Path(work_dir) / f"{model}-seed{seed}-steps{steps}"


@dataclass
class TrainedRun:
    """A model after `train_run`, with what its provenance records of the run."""

    name: str  # transformer, bert or vit: the CLI's name, the checkpoint folder's and the file's
    model: nn.Module
    config: TrainConfig
    checkpoint_dir: Path
    result: TrainResult
    train_seconds: float  # the whole call to `train`, loading a checkpoint to resume from included


def train_run(
    name: str,
    build_model: Callable[[], nn.Module],
    make_batch: Callable[[int], object],
    loss_fn: LossFn,
    config: TrainConfig,
    work_dir: str | Path,
    progress: bool = True,
) -> TrainedRun:
    """Seed, build the model and train it, resuming from this run's checkpoints in `work_dir`."""
    seed_everything(config.seed)
    model = build_model()  # after seeding: the initial weights are the seed's
    checkpoint_dir = run_dir(work_dir, name, config.seed, config.steps)
    began = time.perf_counter()
    result = train(model, make_batch, loss_fn, config, checkpoint_dir, description=name, progress=progress)
    return TrainedRun(name, model, config, checkpoint_dir, result, time.perf_counter() - began)
