"""ONNX Runtime against PyTorch eager, and the cost of exposing attention as outputs.

A BERT-base-sized model (12 layers, 12 heads, d_model 768, vocab 30522, random weights)
at 128 tokens, batch 1, both runtimes on the same number of threads. Prints medians and
ratios measured in this one run.

    python benchmarks/export_runtime.py [--threads 2] [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from export.bundle import untrained_metadata, untrained_model
from export.onnx_export import export_onnx

BERT_BASE = {"vocab_size": 30522, "d_model": 768, "heads": 12, "layers": 12, "d_ff": 3072, "max_positions": 512}


def median_ms(fns: dict, repeats: int) -> dict[str, float]:
    """Median milliseconds of each function, run round-robin so that load changes hit all alike."""
    for fn in fns.values():  # warm up
        fn()
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the head-mask default initializer's notice is expected
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = untrained_model("bert", BERT_BASE, seed=0)
    meta = untrained_metadata("bert", model)
    ids = np.random.default_rng(0).integers(5, BERT_BASE["vocab_size"], size=(1, args.tokens)).astype(np.int64)
    mask = np.ones_like(ids)
    feeds = {"input_ids": ids, "attention_mask": mask}

    with tempfile.TemporaryDirectory() as tmp:
        with_att = export_onnx(model, meta, Path(tmp) / "with.onnx", attentions=True)
        without_att = export_onnx(model, meta, Path(tmp) / "without.onnx", attentions=False)
        s_with, s_without = session(with_att, args.threads), session(without_att, args.threads)

        t_ids, t_mask = torch.from_numpy(ids), torch.from_numpy(mask)

        def torch_eager():
            with torch.inference_mode():
                model(t_ids, t_mask)

        ms = median_ms(
            {
                "torch": torch_eager,
                "with": lambda: s_with.run(None, feeds),
                "without": lambda: s_without.run(None, feeds),
            },
            args.repeats,
        )
        ms_torch, ms_with, ms_without = ms["torch"], ms["with"], ms["without"]

    print(f"BERT-base size, {args.tokens} tokens, batch 1, {args.threads} threads, median of {args.repeats}")
    print(f"  PyTorch eager (attentions kept)     {ms_torch:8.1f} ms")
    print(f"  ONNX Runtime, attention outputs     {ms_with:8.1f} ms")
    print(f"  ONNX Runtime, logits only           {ms_without:8.1f} ms")
    print(f"ORT speed-up over PyTorch eager:      {ms_torch / ms_with:.2f}x  (target >= 1.5x)")
    print(f"overhead of exposing attention:       {ms_with / ms_without:.3f}x (target <= 1.15x)")


if __name__ == "__main__":
    main()
