"""Peak memory of a long input: the full attention against exact rows and pooled attention.

An untrained BERT (8 layers, 8 heads, d_model 256, 2,048 positions) is exported once; then each
(path, length) runs in a fresh process with the app's session options (explorer.core.model), which
measures its resident memory after a 2-token run (the model's baseline: weights, session) and its
peak (VmHWM, started again from there: ru_maxrss would count the parent's, which a child inherits,
and the session's own making) over one run at the length. The full path feeds the defaults (every row: all
layers' [layers, 1, heads, T, T] come back); the long path feeds 3 rows and a block of 64, in
graph order as the app runs it and in ONNX Runtime's default order. Prints each path's growth over
the baseline at both lengths and the ratios, measured in this one run.

With --model, a contract file of a text model instead (a Hugging Face import, e.g. the SmolLM-shaped
Llama of benchmarks/long_app.py) at any number of lengths, fed as the app feeds its long path: 3 rows,
a block that pools to 256 cells a side, and, where the file takes them, no internals and the rows'
logits only; the full path where its attention alone stays under --full-below GB.

    python benchmarks/long_inputs.py [--lengths 1024 2048]
    python benchmarks/long_inputs.py --model build/bench/hf-smollm-135m.onnx --lengths 1024 2048 4096
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


def peak_growth_mb(path: Path, length: int, long_path: bool, graph_order: bool = True, block: int = BLOCK) -> float:
    """Megabytes that one run at `length` adds to the peak resident memory, in a fresh process."""
    command = [sys.executable, __file__, "--child", str(path), str(length), str(int(long_path)), str(int(graph_order)),
               str(block)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    peaks = json.loads(done.stdout.splitlines()[-1])
    return (peaks["peak"] - peaks["baseline"]) / 1024


def _child(path: str, length: int, long_path: bool, graph_order: bool, block: int) -> None:
    import onnxruntime as ort

    from explorer import contract
    from explorer.core import long_path as app_long_path  # the parameter long_path is a flag
    from explorer.core.model import session_options

    options = session_options()  # the app's: no arena, graph order
    if not graph_order:
        options.execution_order = ort.ExecutionOrder.DEFAULT
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    graph_inputs = {i.name for i in (*session.get_inputs(), *session.get_overridable_initializers())}

    def feeds(n: int) -> dict[str, np.ndarray]:
        """On the long path, what the app feeds (explorer.core.long_path.feeds): a few rows and a block,
        and, where the file takes them, no internals and the rows' logits."""
        fed = {contract.INPUT_IDS: np.random.default_rng(0).integers(5, 160, (1, n)).astype(np.int64),
               contract.ATTENTION_MASK: np.ones((1, n), np.int64)}
        if long_path:
            rows = tuple(int(r) for r in np.linspace(0, n - 1, ROWS).astype(np.int64))
            fed.update(app_long_path.feeds({stack: app_long_path.LongPath(rows, block) for stack in meta.stacks},
                                           graph_inputs))
        return fed

    session.run(None, feeds(2))
    # The baseline is what the session holds now; its peak while it was made (the file read whole)
    # is forgotten, so that a short run's own peak is not hidden below it.
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from VmRSS
    baseline = _status_kb("VmRSS")
    session.run(None, feeds(length))
    print(json.dumps({"baseline": baseline, "peak": _status_kb("VmHWM")}))


def _status_kb(field: str) -> int:
    """A memory figure of this process (VmRSS: resident now, VmHWM: its peak), in kB (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith(f"{field}:")).split()[1])


def measure(path: Path, lengths: tuple[int, int], paths: dict = PATHS) -> dict[str, list[float]]:
    """Peak growth in MB per path at each of the two lengths."""
    return {name: [peak_growth_mb(path, n, *how) for n in lengths] for name, how in paths.items()}


def measure_file(path: Path, lengths: list[int], full_below_gb: float) -> None:
    """The app's long path on a contract file at each length, and the full path where it fits."""
    from explorer import contract
    from explorer.core import long_path

    meta = contract.parse_metadata(contract.read_metadata_text(path))
    print(f"{path.name}: peak memory over the model's baseline (MB), the app's long path (3 rows, "
          f"{long_path.POOLED_SIDE} cells a side)")
    long, full = [], {}
    for n in lengths:
        block = long_path.block_for(n, n, long_path.POOLED_SIDE)
        long.append(peak_growth_mb(path, n, True, block=block))
        need = long_path.full_attention_bytes(meta, {contract.INPUT_IDS: n}) / 2**30
        if need < full_below_gb:
            full[n] = peak_growth_mb(path, n, False)
        print(f"  {n:6,} tokens, blocks of {block:3}: long {long[-1]:7.0f}" +
              (f", full {full[n]:7.0f}" if n in full else f" (full attention alone: {need:.1f} GB)"), flush=True)
    for i in range(1, len(lengths)):
        (a, at_a), (b, at_b) = (lengths[i - 1], long[i - 1]), (lengths[i], long[i])
        print(f"  long path x{at_b / at_a:.2f} from {a:,} to {b:,} tokens (x{b / a:.0f} tokens; quadratic would be "
              f"x{(b / a) ** 2:.0f})" + (f"; full x{full[b] / full[a]:.2f}" if a in full and b in full else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lengths", type=int, nargs="+", default=(1024, 2048))
    parser.add_argument("--model", type=Path, help="a text model's contract file, measured as the app feeds it")
    parser.add_argument("--full-below", type=float, default=6.0, help="GB of full attention the full path may take")
    args = parser.parse_args()
    if args.model is not None:
        measure_file(args.model, args.lengths, args.full_below)
        return
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
        _child(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1", int(sys.argv[6]))
    else:
        main()
