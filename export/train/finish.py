"""The tail every training pipeline shares: describe the run in a provenance, export the trained
model to a contract file, measure that file through ONNX Runtime, write the figures into its
provenance, and save a checkpoint that `attention-export export` can export again.

A pipeline brings what is its own: what the model learns and from what data, its settings,
its held-out figures in PyTorch, and how to measure the exported file.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Callable
from pathlib import Path

import onnx
import torch

from explorer import contract
from export.bundle import EXPORT_INFO, export_info
from export.checkpoint import save_model
from export.half import store_float16
from export.onnx_export import export_onnx, metadata_for
from export.train.loop import TrainedRun


def exported_file(out_dir: str | Path, name: str) -> Path:
    return Path(out_dir) / f"{name}.onnx"


def describe_run(
    run: TrainedRun, about: dict, settings: dict, measured_in_torch: dict, name_machine: bool = False
) -> dict:
    """The provenance up to the PyTorch figures, in the order the files have always listed it:
    what was trained (`about`: task, data, tokenizer...), the run, its `settings` (batch size,
    learning rate...), its cost and outcome, then the held-out figures."""
    return {
        "source": f"trained by attention-export train {run.name}",
        **about,
        "seed": run.config.seed,
        "steps": run.config.steps,
        "steps_this_run": run.result.steps,
        **settings,
        "train_seconds": round(run.train_seconds, 1),
        "threads": torch.get_num_threads(),
        # As the files have always had it: only the ViT's provenance names the machine.
        **({"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores"} if name_machine else {}),
        "final_loss": round(run.result.final_loss, 4),
        **measured_in_torch,
    }


def finish(
    run: TrainedRun,
    out_dir: str | Path,
    *,
    about: dict,
    settings: dict,
    measured_in_torch: dict,
    measure_onnx: Callable[[Path], dict],
    figures_of: Callable[[dict], tuple[contract.Figure, ...]],
    name_machine: bool = False,
    float16: bool = False,
    **metadata: object,
) -> dict:
    """Export `run.model` to `out_dir/<name>.onnx` with its queries/keys/values/hidden states and
    the provenance `describe_run` makes, add `measure_onnx(file)` to it and the labelled
    `figures_of(provenance)` plus the training time, and save the model with its export
    information next to its checkpoints. Returns the provenance.
    `float16`: store the file's large weights in float16 (export.half) before it is measured, so
    the figures are the shipped file's; the checkpoint keeps float32.
    `metadata`: metadata_for's name, description, sample_text, tokenizer_json, special_tokens, labels, image."""
    provenance = describe_run(run, about, settings, measured_in_torch, name_machine)
    out = exported_file(out_dir, run.name)
    meta = metadata_for(run.model, provenance=provenance, **metadata)
    provenance.update(meta.provenance)  # metadata_for adds the exact parameter count
    export_onnx(run.model, meta, out, internals=True)
    if float16:
        store_float16(out)
    provenance.update(measure_onnx(out))
    figures = (*figures_of(provenance), training_time(provenance))
    meta = rewrite_metadata(out, provenance=provenance, figures=figures)
    save_model(run.model, run.checkpoint_dir / "model.safetensors", extra={EXPORT_INFO: export_info(meta)})
    return provenance


def training_time(provenance: dict) -> contract.Figure:
    return contract.Figure(f"training time ({provenance['steps']:,} steps)", provenance["train_seconds"], "s")


def rewrite_metadata(path: str | Path, **fields: object) -> contract.ModelMetadata:
    """Replace metadata `fields` (provenance, figures...) in an exported file, leaving the graph as it is."""
    proto = onnx.load(str(path))
    entry = next(p for p in proto.metadata_props if p.key == contract.METADATA_KEY)
    meta = dataclasses.replace(contract.parse_metadata(entry.value), **fields)
    entry.value = meta.to_json()
    onnx.save_model(proto, str(path), save_as_external_data=False)
    return meta
