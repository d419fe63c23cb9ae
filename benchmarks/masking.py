"""Masks and heads at work: median time from a toggle to every view and output updated, and a
full greedy decode of a date through ONNX Runtime against the PyTorch model.

    python benchmarks/masking.py [--bert assets/models/bert.onnx] [--repeats 20]

Without the bundled files, untrained models of the default sizes are exported (and said so).
Toggles run on the GUI thread (`run_now`) so that the time covers the run and all drawing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
TEXT = "The cat sat on the mat because it was tired."
DATE = "the 27th of November, 2026"


def model_file(kind: str, bundled: Path, tmp: Path) -> tuple[Path, str]:
    if bundled.exists():
        return bundled, f"bundled {bundled.name}"
    out = tmp / f"{kind}.onnx"
    subprocess.run([sys.executable, "-m", "export.cli", "untrained", kind, "--out", str(out)], check=True, cwd=REPO,
                   capture_output=True)
    return out, f"UNTRAINED {kind} of the default size ({bundled} missing)"


def toggles(bert: Path, repeats: int) -> dict[str, float]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer import contract
    from explorer.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(settings=QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 860)
    window.show()
    window.open_path(bert, TEXT)
    workspace = window.workspace
    workspace.run_now()
    app.processEvents()
    actions = {
        "hide a key": lambda: workspace.toggle_hidden(contract.INPUT_IDS, 3),
        "replace by [MASK]": lambda: workspace.toggle_masked(contract.INPUT_IDS, 4),
        "ablate a head": lambda: workspace.selection.toggle_head(0, 1),
    }
    workspace.request_run = workspace.run_now  # toggles run on this thread: the time covers run and drawing
    times = {}
    for view in ("matrix", "model", "head"):
        workspace.views.show_view(view)
        app.processEvents()
        for name, action in actions.items():
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                action()
                app.processEvents()
                samples.append((time.perf_counter() - start) * 1000)
            times[f"{name} ({view} view)"] = statistics.median(samples)
    workspace.shutdown()
    window.close()
    return times


def decoding(transformer: Path, repeats: int) -> tuple[float, float, str]:
    import torch

    from explorer.core.decoding import GreedyDecoder
    from explorer.core.model import open_model
    from explorer.core.runner import Runner
    from export.bundle import untrained_model

    runner = Runner(open_model(transformer))
    decoder = GreedyDecoder(runner, DATE)
    model = untrained_model("transformer", {"vocab_size": 160})  # what `untrained transformer` exports
    src = torch.tensor([decoder.source.ids])

    def ort_decode():
        return runner.run_text(DATE)

    def torch_decode():
        return model.greedy_decode(src, torch.ones_like(src), decoder.bos, decoder.eos, decoder.max_len)

    ort_ms, torch_ms = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ort_decode()
        ort_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        torch_decode()
        torch_ms.append((time.perf_counter() - start) * 1000)
    same = "same" if list(ort_decode().token_ids["tgt_ids"]) == torch_decode()[0].tolist() else "DIFFERENT"
    return statistics.median(ort_ms), statistics.median(torch_ms), same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bert", type=Path, default=REPO / "assets/models/bert.onnx")
    parser.add_argument("--transformer", type=Path, default=REPO / "assets/models/transformer.onnx")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    bert, bert_note = model_file("bert", args.bert, tmp)
    transformer, transformer_note = model_file("transformer", args.transformer, tmp)
    print(f"BERT: {bert_note}")
    for name, ms in toggles(bert, args.repeats).items():
        print(f"  toggle -> all views and outputs updated, {name}: median {ms:.1f} ms")
    print(f"Transformer: {transformer_note}")
    if not args.transformer.exists():
        ort_ms, torch_ms, same = decoding(transformer, args.repeats)
        print(f"  greedy decode of {DATE!r}: ONNX Runtime {ort_ms:.1f} ms (decode + the run the views show), "
              f"PyTorch {torch_ms:.1f} ms, ratio ORT/PyTorch {ort_ms / torch_ms:.2f}; outputs {same}")
    else:
        print("  (PyTorch comparison needs the bundled checkpoint's weights; run with the untrained export)")


if __name__ == "__main__":
    main()
