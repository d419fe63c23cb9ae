"""`attention-export train {transformer,bert,vit,all}`: train the bundled models, evaluate them
on held-out data, and export them to contract ONNX files with the figures in their provenance."""

from __future__ import annotations

import os

# Training shares the machine's two cores with whatever else runs. While one other process was
# busy, OpenMP threads that spin while they wait made a BERT step 15 times slower (2.0 s);
# waiting passively, the same step took 0.14 s, as with one thread. It only takes effect when
# set before torch is first imported, as on the `attention-export train` path.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import onnx  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from explorer import contract  # noqa: E402
from export.bundle import EXPORT_INFO, export_info  # noqa: E402
from export.checkpoint import save_model  # noqa: E402
from export.onnx_export import export_onnx, metadata_for  # noqa: E402

MODELS = ("transformer", "bert", "vit")


def run_dir(work_dir: str | Path, model: str, seed: int, steps: int) -> Path:
    """Checkpoints of one run: a run resumes only from a run with the same seed and step count
    (the learning-rate schedule depends on both)."""
    return Path(work_dir) / f"{model}-seed{seed}-steps{steps}"


def set_provenance(path: str | Path, provenance: dict) -> contract.ModelMetadata:
    """Rewrite the provenance in an exported file's metadata, leaving the graph as it is."""
    proto = onnx.load(str(path))
    entry = next(p for p in proto.metadata_props if p.key == contract.METADATA_KEY)
    meta = dataclasses.replace(contract.parse_metadata(entry.value), provenance=provenance)
    entry.value = meta.to_json()
    onnx.save_model(proto, str(path), save_as_external_data=False)
    return meta


def export_trained(
    model: nn.Module,
    out: Path,
    checkpoint: Path,
    provenance: dict,
    evaluate: Callable[[Path], dict],
    **metadata: object,
) -> dict:
    """Export `model` to `out` with its queries/keys/values/hidden states, measure it with
    `evaluate(out)`, write those figures into `provenance` (in the file and in place), and save
    `checkpoint` so that `attention-export export CHECKPOINT` can export it again."""
    meta = metadata_for(model, provenance=provenance, **metadata)
    provenance.update(meta.provenance)  # metadata_for adds the exact parameter count
    export_onnx(model, meta, out, internals=True)
    provenance.update(evaluate(out))
    meta = set_provenance(out, provenance)
    save_model(model, checkpoint, extra={EXPORT_INFO: export_info(meta)})
    return provenance


def _train_one(name: str, args: argparse.Namespace) -> dict:
    kwargs = {"out_dir": args.out_dir, "work_dir": args.work_dir, "seed": args.seed, "steps": args.steps}
    if name == "transformer":
        from export.train.transformer import train_transformer

        return train_transformer(**kwargs)
    if name == "bert":
        from export.train.bert import train_bert

        return train_bert(**kwargs)
    from export.train.vit import train_vit

    return train_vit(**kwargs)


@contextlib.contextmanager
def deterministic():
    """Same seed, same weights. Without this, the backward of an embedding lookup
    (``weight[ids]``) adds into the gradient in a varying order on several threads, and two runs
    of the date model drifted apart (1e-8 after 30 steps, then further). Measured here, the
    deterministic kernels cost no speed."""
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


def run_training(args: argparse.Namespace) -> int:
    names = MODELS if args.model == "all" else (args.model,)
    for name in names:
        with deterministic():
            figures = _train_one(name, args)
        print(f"\n{name}: {Path(args.out_dir) / (name + '.onnx')}")
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0
