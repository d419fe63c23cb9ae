"""Masks and heads at work: median time from a toggle to every view and output updated, on the
bundled BERT and Transformer, and full greedy decoding of held-out dates through ONNX Runtime
against the PyTorch model (rebuilt from the same file's weights by export.bundle.model_from_onnx).

    python benchmarks/masking.py [--bert explorer/assets/models/bert.onnx] [--transformer ...] [--repeats 20]

Without the bundled files, untrained models of the default sizes are exported (and said so).
Toggles run on the GUI thread (`run_now`) so that the time covers the run and all drawing; a
Transformer's toggle decodes the whole output again. Both decoders run the whole prefix at each
step (no cache), as the app does. Close other CPU-heavy work first: the figures are wall time.
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


def toggles(path: Path, text: str, repeats: int) -> dict[str, float]:
    """Median ms per toggle and view: hide a key, put [MASK] in (where the model has one), ablate a head."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(settings=QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 860)
    window.show()
    window.open_path(path, text)
    workspace = window.workspace
    workspace.run_now()
    app.processEvents()
    ids_input = workspace.model.meta.sequence_inputs[0][0]  # input_ids, or a seq2seq's src_ids
    actions = {"hide a key": lambda: workspace.toggle_hidden(ids_input, 3)}
    if workspace.runner.mask_token() is not None:
        actions["replace by [MASK]"] = lambda: workspace.toggle_masked(ids_input, 4)
    actions["ablate a head"] = lambda: workspace.selection.toggle_head(0, 1)
    workspace.runs.request = workspace.runs.run_now  # toggles run on this thread: the time covers run and drawing
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


def decoding(transformer: Path, dates: int, repeats: int) -> dict:
    """Greedy decoding of `dates` held-out dates, one at a time, in ONNX Runtime and in PyTorch:
    the median over `repeats` of each one's total time, and whether the outputs agree."""
    import onnxruntime
    import torch

    from explorer import contract
    from explorer.core.decoding import greedy_decode
    from explorer.core.model import open_model
    from explorer.core.runner import Runner
    from export.bundle import model_from_onnx
    from export.data import dates as date_data

    runner = Runner(open_model(transformer))
    model = model_from_onnx(transformer)
    bos, eos = runner.bos_eos()
    max_len = runner.target_max_len()
    examples = date_data.generate(dates, seed=0, split="test")
    sources = [runner.encode(contract.SRC_IDS, e.source) for e in examples]  # (Encoded, (S,) mask)

    def logits_only(feeds):
        return runner.run_graph(feeds, outputs=[contract.LOGITS])

    def ort_decode() -> list[list[int]]:
        return [greedy_decode(logits_only, s.ids, bos, eos, max_len, mask) for s, mask in sources]

    def torch_decode() -> list[list[int]]:
        return [
            model.greedy_decode(torch.tensor([s.ids]), torch.tensor(mask[None, :]), bos, eos, max_len)[0].tolist()
            for s, mask in sources
        ]

    ort_ms, torch_ms = [], []
    for _ in range(repeats):  # interleaved, so that a busy spell on the machine hits both
        start = time.perf_counter()
        ort_ids = ort_decode()
        ort_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        torch_ids = torch_decode()
        torch_ms.append((time.perf_counter() - start) * 1000)
    ort_texts = [runner.decode(contract.TGT_IDS, tuple(ids)) for ids in ort_ids]
    torch_texts = [runner.decode(contract.TGT_IDS, tuple(ids)) for ids in torch_ids]
    targets = [e.target for e in examples]
    return {
        "ort_ms": statistics.median(ort_ms),
        "torch_ms": statistics.median(torch_ms),
        "same_ids": sum(a == b for a, b in zip(ort_ids, torch_ids, strict=True)),
        "same_text": sum(a == b for a, b in zip(ort_texts, torch_texts, strict=True)),
        "right": sum(t == target for t, target in zip(ort_texts, targets, strict=True)),
        "tokens": sum(len(ids) - 1 for ids in ort_ids),
        "threads": f"torch {torch.get_num_threads()} threads, ONNX Runtime {onnxruntime.__version__} "
                   f"on {runner.model.session.get_providers()[0]}",
        "example": (examples[0].source, ort_texts[0], torch_texts[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bert", type=Path, default=REPO / "explorer/assets/models/bert.onnx")
    parser.add_argument("--transformer", type=Path, default=REPO / "explorer/assets/models/transformer.onnx")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--dates", type=int, default=50, help="held-out dates to decode")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    bert, bert_note = model_file("bert", args.bert, tmp)
    transformer, transformer_note = model_file("transformer", args.transformer, tmp)
    models = (("BERT", bert, TEXT, bert_note), ("Transformer", transformer, DATE, transformer_note))
    for name, path, text, note in models:
        print(f"{name}: {note}, text {text!r}")
        for toggle, ms in toggles(path, text, args.repeats).items():
            print(f"  toggle -> all views and outputs updated, {toggle}: median {ms:.1f} ms (target < 50 ms)")
    d = decoding(transformer, args.dates, max(3, args.repeats // 4))
    n = args.dates
    print(f"Greedy decoding of {n} held-out dates, one at a time ({d['tokens']} tokens chosen; {d['threads']}):")
    print(f"  ONNX Runtime {d['ort_ms']:.0f} ms ({d['ort_ms'] / n:.2f} ms a date), "
          f"PyTorch {d['torch_ms']:.0f} ms ({d['torch_ms'] / n:.2f} ms a date): "
          f"PyTorch / ONNX Runtime = {d['torch_ms'] / d['ort_ms']:.2f}")
    print(f"  same ids {d['same_ids']}/{n}, same text {d['same_text']}/{n}, right (ISO date) {d['right']}/{n}; "
          f"e.g. {d['example'][0]!r} -> ORT {d['example'][1]!r}, PyTorch {d['example'][2]!r}")


if __name__ == "__main__":
    main()
