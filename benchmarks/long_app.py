"""Long inputs in the app (issue 15): a SmolLM-135M-shaped Llama at 4,096 tokens, or a BERT-base with
2,048 positions at 2,048 tokens, imported from random-weight Hugging Face checkpoints.

Figures, in one run of the app's own process (which never imports torch):

1. Text to all views drawn: tokenizing, the run (which takes the long path: pooled maps and exact
   rows, explorer.core.long_path), handing the result to the views, painting every view and the
   token strip. Target < 15 s for the Llama.
2. Switching layer or head: the selection changed and the view on screen painted again, with no
   run. Median over switches, for the matrix, model and head views. Target < 300 ms.
3. Zooming the matrix view in to a window of rows: the rerun that fetches them exactly, and the
   view painted.
4. The app's peak memory (max RSS). Target < 3 GB; beside it, what the full attention of every
   layer would take (the full path's output alone).

    python benchmarks/long_app.py [--family llama|bert] [--work build/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bert_base_app import WORDS  # benchmarks/bert_base_app.py
from bert_base_app import make_checkpoint as make_bert
from hf_checkpoint import imported_checkpoint, open_window, write_decoder  # benchmarks/hf_checkpoint.py

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
TOKENS = {"llama": 4096, "bert": 2048}
VIEWS_TARGET_S, SWITCH_TARGET_S, MEMORY_TARGET_GB = 15.0, 0.3, 3.0


def make_llama(folder: Path) -> None:
    """SmolLM-135M's sizes: 30 layers, 9 query heads sharing 3 key/value heads, hidden 576, feed-forward
    1,536, vocabulary 49,152, tied embeddings; random weights, a small byte-level BPE tokenizer."""
    write_decoder(folder, "LlamaConfig", "LlamaForCausalLM", hidden_size=576, intermediate_size=1536,
                  num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                  max_position_embeddings=8192)


def make_long_bert(folder: Path) -> None:
    make_bert(folder, max_position_embeddings=2048)


FAMILIES = {"llama": ("hf-smollm-135m", make_llama, "SmolLM-135M-shaped Llama"),
            "bert": ("hf-bert-base-2048", make_long_bert, "BERT-base with 2,048 positions")}


def text_of(folder: Path, tokens: int, first: str) -> str:
    """A text of `tokens` tokens less one (the app may put a first token of its own), or cut there."""
    from tokenizers import Tokenizer

    words = first + " " + " ".join(WORDS[i % len(WORDS)] for i in range(tokens * 2))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    return tokenizer.decode(tokenizer.encode(words, add_special_tokens=False).ids[: tokens - 2])


def paint(app, view) -> float:
    before = time.perf_counter()
    app.processEvents()
    view.grab()
    return time.perf_counter() - before


def measure_app(model: Path, tokens: int) -> dict:
    from explorer.core import long_path

    app, window, opened = open_window(model, "long-app")
    workspace = window.workspace
    while workspace.runs.busy or workspace.result is None:  # the sample text's run, on the worker thread
        app.processEvents()
        time.sleep(0.01)
    views = workspace.views.views
    figures: dict = {"open_s": opened}
    for attempt in ("warm-up", "measured"):  # ORT's first long run allocates its arenas
        start = time.perf_counter()
        workspace.set_text(text_of(model.with_suffix(""), tokens, attempt))
        run = workspace.state.run_job()()  # what the worker thread does after a pause in the typing
        ran = time.perf_counter()
        workspace.state.show_run(run)
        drawn = {name: paint(app, view) for name, view in views.items()}
        drawn["token strip"] = paint(app, next(iter(workspace.strips.values())))
        figures.update(text_to_views_s=time.perf_counter() - start, run_s=ran - start, views_s=drawn)
    selection = workspace.selection
    stack = selection.stack
    figures.update(tokens=len(stack.query_tokens), long=not stack.complete, block=stack.block,
                   notices=list(run.result.notices),
                   full_attention_gb=long_path.full_attention_bytes(
                       workspace.model.meta, {name: len(t) for name, t in run.result.tokens.items()}) / 2**30)
    switches: dict[str, list[float]] = {}
    for name in ("matrix", "model", "head"):
        workspace.views.show_view(name)
        paint(app, views[name])
        times = switches.setdefault(name, [])
        for layer, head in ((1, 0), (2, 3), (2, None), (5, 1), (stack.layers - 1, 2)):
            before = time.perf_counter()
            selection.open_head(layer, head)
            paint(app, views[name])
            times.append(time.perf_counter() - before)
    figures["switch_s"] = {name: statistics.median(t) for name, t in switches.items()}
    figures["runs_during_switches"] = workspace.runs.busy

    matrix = views["matrix"]  # zoom to 32 rows in the middle: they are fetched exactly
    workspace.views.show_view("matrix")
    middle = tokens // 2
    from PySide6.QtCore import QRectF

    before = time.perf_counter()
    matrix.view_box.setRange(QRectF(middle - 16, middle - 16, 32, 32), padding=0)
    matrix._fetch_rows()  # the view does this 250 ms after the zoom settles
    while workspace.runs.busy or middle not in selection.stack.rows:
        app.processEvents()
        time.sleep(0.01)
    paint(app, matrix)
    figures["zoom_to_exact_rows_s"] = time.perf_counter() - before
    figures["rows_held"] = len(selection.stack.rows)
    figures["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # Linux: KiB
    figures["torch_imported"] = "torch" in sys.modules
    workspace.shutdown()
    window.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), default="llama")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench")
    parser.add_argument("--app", type=Path, help=argparse.SUPPRESS)  # the measuring child process
    args = parser.parse_args()
    tokens = TOKENS[args.family]
    if args.app is not None:
        print(json.dumps(measure_app(args.app, tokens)))
        return 0
    name, make, what = FAMILIES[args.family]
    model = imported_checkpoint(args.work, name, make, what)
    print(f"{what}: {model} ({model.stat().st_size / 1e6:.0f} MB); machine: {os.cpu_count()} CPUs")
    child = subprocess.run([sys.executable, __file__, "--app", str(model), "--family", args.family],
                           capture_output=True, text=True)
    if child.returncode:
        print(child.stderr[-4000:])
        return child.returncode
    f = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"open in the app: {f['open_s']:.1f} s")
    print(f"{f['tokens']:,} tokens, long path: {f['long']} (blocks of {f['block']}); {' '.join(f['notices'])}")
    print(f"text to all views drawn: {f['text_to_views_s']:.1f} s (target < {VIEWS_TARGET_S:.0f} s); "
          f"the run {f['run_s']:.1f} s")
    for view, seconds in f["views_s"].items():
        print(f"  {view:>12}: {seconds * 1e3:7.0f} ms")
    print(f"switching layer or head, median (target < {SWITCH_TARGET_S * 1e3:.0f} ms, no run: "
          f"{not f['runs_during_switches']}):")
    for view, seconds in f["switch_s"].items():
        print(f"  {view:>12}: {seconds * 1e3:7.0f} ms")
    print(f"zoom to 32 rows, fetched exactly and drawn: {f['zoom_to_exact_rows_s']:.1f} s ({f['rows_held']} rows held)")
    print(f"app peak memory (max RSS, torch imported: {f['torch_imported']}): {f['peak_rss_gb']:.2f} GB "
          f"(target < {MEMORY_TARGET_GB:.0f} GB); the full attention alone would take {f['full_attention_gb']:.1f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
