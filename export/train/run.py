"""`attention-export train {transformer,bert,vit,gpt,all}`: train the bundled models, evaluate them
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
import json  # noqa: E402

import torch  # noqa: E402

from export.train.bert import train_bert  # noqa: E402
from export.train.finish import exported_file  # noqa: E402
from export.train.gpt import train_gpt  # noqa: E402
from export.train.transformer import train_transformer  # noqa: E402
from export.train.vit import train_vit  # noqa: E402

# Each takes (out_dir, work_dir, seed, steps) and returns the provenance it wrote.
PIPELINES = {"transformer": train_transformer, "bert": train_bert, "vit": train_vit, "gpt": train_gpt}


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
    names = tuple(PIPELINES) if args.model == "all" else (args.model,)
    for name in names:
        with deterministic():
            figures = PIPELINES[name](out_dir=args.out_dir, work_dir=args.work_dir, seed=args.seed, steps=args.steps)
        print(f"\n{name}: {exported_file(args.out_dir, name)}")
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0
