"""Peak memory of a long input: the full attention against exact rows and pooled attention.

An untrained BERT (8 layers, 8 heads, d_model 256, 2,048 positions) is exported once; then each
(path, length) runs in a fresh process with the app's session options (explorer.core.model), which
measures its peak resident memory (VmHWM: ru_maxrss would count the parent's, which a child
inherits) after a 2-token run (the model's baseline: weights,
session) and after one run at the length. The full path feeds the defaults (every row: all
layers' [layers, 1, heads, T, T] come back); the long path feeds 3 rows and a block of 64, in
graph order as the app runs it and in ONNX Runtime's default order. Prints each path's growth over
the baseline at both lengths and the ratios, measured in this one run.

    python benchmarks/long_inputs.py [--lengths 1024 2048]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MODEL = {"vocab_size": 160, "d_model": 256, "heads": 8, "layers": 8, "d_ff": 1024, "max_positions": 2048}
ROWS = 3
BLOCK = 64
# name -> (feeds rows and a block, runs in graph order)
PATHS = {"full": (False, True), "long": (True, True), "long, ORT's default order": (True, False)}


def export_model(path: Path, config: dict) -> Path:
    import torch

    from export.bundle import export_untrained

    torch.set_num_threads(1)
    return export_untrained("bert", path, config)


def peak_growth_mb(path: Path, length: int, long_path: bool, graph_order: bool = True) -> float:
    """Megabytes that one run at `length` adds to the peak resident memory, in a fresh process."""
    command = [sys.executable, __file__, "--child", str(path), str(length), str(int(long_path)), str(int(graph_order))]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    peaks = json.loads(done.stdout.splitlines()[-1])
    return (peaks["peak"] - peaks["baseline"]) / 1024


def _child(path: str, length: int, long_path: bool, graph_order: bool) -> None:
    import onnxruntime as ort

    from explorer import contract
    from explorer.core.model import session_options

    options = session_options()  # the app's: no arena, graph order
    if not graph_order:
        options.execution_order = ort.ExecutionOrder.DEFAULT
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def feeds(n: int) -> dict[str, np.ndarray]:
        fed = {contract.INPUT_IDS: np.random.default_rng(0).integers(5, 160, (1, n)).astype(np.int64),
               contract.ATTENTION_MASK: np.ones((1, n), np.int64)}
        if long_path:
            fed[contract.attention_rows_input("encoder")] = np.linspace(0, n - 1, ROWS).astype(np.int64)
            fed[contract.attention_block_input("encoder")] = np.zeros(BLOCK, np.float32)
        return fed

    session.run(None, feeds(2))
    baseline = _peak_kb()
    session.run(None, feeds(length))
    print(json.dumps({"baseline": baseline, "peak": _peak_kb()}))


def _peak_kb() -> int:
    """This process's peak resident memory so far, in kB (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def measure(path: Path, lengths: tuple[int, int], paths: dict = PATHS) -> dict[str, list[float]]:
    """Peak growth in MB per path at each of the two lengths."""
    return {name: [peak_growth_mb(path, n, *how) for n in lengths] for name, how in paths.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lengths", type=int, nargs=2, default=(1024, 2048))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_model(Path(tmp) / "bert.onnx", {**MODEL, "max_positions": max(args.lengths)})
        growth = measure(path, tuple(args.lengths))
    short, long = args.lengths
    print(f"{MODEL['layers']} layers, {MODEL['heads']} heads; peak memory over the model's baseline (MB)")
    for name, (at_short, at_long) in growth.items():
        print(f"  {name:26} {at_short:7.0f} at {short} tokens, {at_long:7.0f} at {long}: x{at_long / at_short:.2f}")
    print(f"  full / long at {long} tokens: x{growth['full'][1] / growth['long'][1]:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1")
    else:
        main()
