"""A random-weight Hugging Face checkpoint for a benchmark, written once and imported once with
`attention-export hf`; both are kept in the work folder and reused by later runs."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_checkpoint(work: Path, name: str, make_checkpoint: Callable[[Path], None], what: str) -> Path:
    """WORK/NAME.onnx, imported from WORK/NAME/ (written by `make_checkpoint(folder)` if missing)."""
    folder, model = work / name, work / f"{name}.onnx"
    if not (folder / "model.safetensors").exists():
        print(f"writing a random {what} checkpoint to {folder} ...", flush=True)
        make_checkpoint(folder)
    if not model.exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "export.cli", "hf", str(folder), "--out", str(model)],
                       check=True, cwd=REPO)
        print(f"attention-export hf: {time.perf_counter() - started:.0f} s", flush=True)
    return model
