"""Checkpoints as safetensors: tensors plus a JSON header, so loading never unpickles code.

A model checkpoint holds the weights and, in its header, the model class name and
its dataclass config. Optimizer state for resuming is a state dict loaded with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from export import kinds


def save_model(model: nn.Module, path: str | Path, extra: dict | None = None) -> Path:
    """Save weights and config; `extra` (JSON-serialisable) rides along in the header."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "model": type(model).__name__,
        "config": json.dumps(dataclasses.asdict(model.config)),
        "extra": json.dumps(extra or {}),
    }
    # Tied weights share storage; safetensors wants each tensor once, so clone.
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata=header)
    return path


def read_header(path: str | Path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        header = f.metadata() or {}
    if kinds.for_class_name(header.get("model", "")) is None:
        raise ValueError(f"{path}: not an Attention Explorer checkpoint (no known model class in its header)")
    return {
        "model": header["model"],
        "config": json.loads(header["config"]),
        "extra": json.loads(header.get("extra", "{}")),
    }


def load_model(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint describes; returns (model, extra)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    header = read_header(path)
    model_kind = kinds.for_class_name(header["model"])
    model = model_kind.model_class(model_kind.config_class(**header["config"]))
    model.load_state_dict(load_file(str(path)))
    return model, header["extra"]


def save_training_state(state: dict, path: str | Path) -> None:
    torch.save(state, str(path))


def load_training_state(path: str | Path) -> dict:
    return torch.load(str(path), weights_only=True)
