"""Attention Explorer beside BertViz on one BERT-base-sized model and one text, in one run.

For 128, 512 and 1,024 tokens each tool shows its head view and its model view from the text:
- Attention Explorer: the app's own process opens the imported ONNX file; the time is the text
  edit (tokenizing, the ONNX Runtime run, the views taking the result) plus painting that view;
  memory is the app process's peak resident memory.
- BertViz (`head_view`, `model_view` with html_action="return"): the time is transformers' eager
  forward with output_attentions, BertViz making its HTML, and headless Chromium loading it until
  every SVG line BertViz draws exists and a frame has been painted; memory is the Python process's
  peak plus the most resident memory Chromium's processes held together. Each view runs in a
  process of its own, stopped past --bertviz-memory GB (its address space while it makes the HTML,
  then its and Chromium's resident memory) or --bertviz-timeout seconds: past either, the row says
  where BertViz failed.
Then Attention Explorer alone at 2,048 tokens (BERT-base with 2,048 positions): text to views.

BertViz runs in an environment of its own (it pins nothing we use, but pulls IPython and boto3):

    python3 -m venv build/bertviz-env
    build/bertviz-env/bin/pip install torch==2.13.0 bertviz playwright psutil 'transformers>=5.24,<6'
    (cd build/bertviz-js && npm pack d3@5.7.0 jquery@2.1.0 requirejs@2.3.6 &&
     for f in *.tgz; do mkdir -p ${f%.tgz} && tar xzf $f -C ${f%.tgz} --strip-components=1; done)
    python benchmarks/bertviz_compare.py --bertviz-env build/bertviz-env --js build/bertviz-js

BertViz's HTML loads require.js, d3 5.7.0 and jQuery 2.0.0 from a CDN; offline, the same d3 and
require.js (and jQuery 2.1.0, the oldest 2.x on npm) are served from --js instead. Chromium is
Debian's (apt install chromium), driven by Playwright.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from bert_base_app import make_checkpoint as make_bert_base  # benchmarks/bert_base_app.py
from bert_base_app import measure_app
from hf_checkpoint import imported_checkpoint

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
LENGTHS = (128, 512, 1024)
LONG = 2048
POSITIONS = 2048
CHROMIUM = "/usr/bin/chromium"
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "while", "a", "cat", "sat", "on", "mat")


def make_checkpoint(folder: Path) -> None:
    """BERT-base (12 layers, 12 heads, hidden 768, random weights) with 2,048 positions."""
    make_bert_base(folder, max_position_embeddings=POSITIONS)


def text_of(tokens: int, tokenizer_json: Path) -> str:
    """Words whose encoding, [CLS] and [SEP] included, is exactly `tokens` tokens long."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_json))
    words = [WORDS[i % len(WORDS)] for i in range(tokens)]
    while len(words) > 1 and len(tokenizer.encode(" ".join(words)).ids) > tokens:
        words.pop()
    while len(tokenizer.encode(" ".join(words)).ids) < tokens:
        words.append("a")  # one token each: fills up exactly
    return " ".join(words)


# --- BertViz, in its own environment -------------------------------------------------------------

def _peak_of_children(pid: int, stop: threading.Event, peak: list[int], cap: int, over: threading.Event) -> None:
    """The most resident memory `pid`'s descendants (Chromium's processes) held together; past `cap`
    bytes with the process's own, they are killed and `over` is set. (An address-space limit cannot
    cap them: Chromium reserves more than 64 GB of addresses just to start.)"""
    import psutil

    parent = psutil.Process(pid)
    while not stop.is_set():
        total, children = 0, parent.children(recursive=True)
        for child in children:
            with contextlib.suppress(psutil.Error):  # a process that ended while we looked
                total += child.memory_info().rss
        peak[0] = max(peak[0], total)
        if total + parent.memory_info().rss > cap:
            over.set()
            for child in children:
                with contextlib.suppress(psutil.Error):
                    child.kill()
            return
        time.sleep(0.1)


def measure_bertviz(folder: Path, text: str, view: str, js: Path, timeout_s: float, memory_gb: float) -> dict:
    import bertviz
    import torch
    from playwright.sync_api import sync_playwright
    from transformers import AutoTokenizer, BertModel

    torch.set_num_threads(os.cpu_count() or 1)
    # Until Chromium starts, the cap is this process's address space (its HTML outgrows the machine at
    # 1,024 tokens); Chromium, which reserves far more addresses than it uses, is watched instead.
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (int(memory_gb * 1e9), hard))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = BertModel.from_pretrained(folder, attn_implementation="eager").eval()
    started = time.perf_counter()
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        attention = model(**inputs, output_attentions=True).attentions
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    html = getattr(bertviz, view)(attention, tokens, html_action="return").data
    made = time.perf_counter()
    cdn, js = "https://cdnjs.cloudflare.com/ajax/libs/", js.resolve()
    html = (html.replace(f"{cdn}require.js/2.3.6/require.min.js", (js / "requirejs-2.3.6/require.js").as_uri())
            .replace(f"{cdn}d3/5.7.0/d3.min", (js / "d3-5.7.0/dist/d3.min").as_uri())
            .replace(f"{cdn}jquery/2.0.0/jquery.min", (js / "jquery-2.1.0/dist/jquery.min").as_uri()))
    page_file = folder.resolve().parent / f"bertviz-{view}-{len(tokens)}.html"
    page_file.write_text(html)
    layers, heads, n = len(attention), attention[0].shape[1], len(tokens)
    lines = (1 if view == "head_view" else layers) * heads * n * n  # one SVG line per head, query and key
    peak, stop, over = [0], threading.Event(), threading.Event()
    watcher = threading.Thread(target=_peak_of_children, args=(os.getpid(), stop, peak, int(memory_gb * 1e9), over),
                               daemon=True)
    watcher.start()
    outcome = "drawn"
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--allow-file-access-from-files"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(page_file.as_uri(), timeout=timeout_s * 1e3)
            left = max(1.0, timeout_s - (time.perf_counter() - made))
            page.wait_for_function(f"document.querySelectorAll('#vis line').length >= {lines}", timeout=left * 1e3,
                                   polling=500)
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        except Exception as exc:  # noqa: BLE001 - a timeout or a crashed page is the figure
            outcome = f"not drawn: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            if over.is_set():
                outcome = f"not drawn: past {memory_gb:.0f} GB, Chromium was stopped"
        drawn = time.perf_counter()
        with contextlib.suppress(Exception):  # a browser killed for its memory is closed already
            browser.close()
    stop.set()
    watcher.join()
    return {"outcome": outcome, "seconds": drawn - started, "html_s": made - started, "html_mb": len(html) / 1e6,
            "lines": lines, "python_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
            "chromium_gb": peak[0] / 1e9}


def run_bertviz(env: Path, folder: Path, text: str, view: str, js: Path, timeout_s: float, memory_gb: float) -> dict:
    """One BertViz view in a child process of the BertViz environment, capped in time and memory (the
    child watches its own and Chromium's resident memory)."""
    command = [str(env / "bin" / "python"), __file__, "--bertviz-child", view, "--checkpoint", str(folder),
               "--js", str(js), "--bertviz-timeout", str(timeout_s), "--bertviz-memory", str(memory_gb)]
    started = time.perf_counter()
    try:
        child = subprocess.run(command, input=text, capture_output=True, text=True, timeout=timeout_s + 120)
    except subprocess.TimeoutExpired:
        return {"outcome": f"not drawn: killed after {timeout_s + 120:.0f} s", "seconds": time.perf_counter() - started}
    if child.returncode != 0:
        lines = child.stderr.strip().splitlines() or ["no message"]
        error = next((line for line in reversed(lines) if "Error" in line), lines[-1])[:200]  # not Playwright's log
        return {"outcome": f"failed (exit {child.returncode}): {error}", "seconds": time.perf_counter() - started}
    return json.loads(child.stdout.strip().splitlines()[-1])


# --- Attention Explorer, in the project's environment ---------------------------------------------

def run_app(model: Path, text: str) -> dict:
    """The app in a process of its own, so that each length's peak memory is its own."""
    child = subprocess.run([sys.executable, __file__, "--app", str(model)], input=text, capture_output=True,
                           text=True, check=True)
    return json.loads(child.stdout.strip().splitlines()[-1])


def app_figures(model: Path, text: str) -> dict:
    """Two edits of the same length (the first warms ONNX Runtime's arenas), the second measured."""
    warm = text.replace("the", "a", 1)
    figures = measure_app(model, [warm, text])
    parts = figures["medians_s"]
    before_paint = parts["tokenize+run"] + parts["views' data"]
    views = {name: before_paint + parts[name] for name in parts if name.lower().startswith(("head", "model"))}
    return {"views_s": views, "total_s": parts["total"], "peak_gb": figures["peak_rss_gb"], "tokens": figures["tokens"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench")
    parser.add_argument("--bertviz-env", type=Path, default=REPO / "build" / "bertviz-env")
    parser.add_argument("--js", type=Path, default=REPO / "build" / "bertviz-js")
    parser.add_argument("--bertviz-timeout", type=float, default=120.0)
    parser.add_argument("--bertviz-memory", type=float, default=12.0)
    parser.add_argument("--lengths", type=int, nargs="*", default=list(LENGTHS))
    parser.add_argument("--app", type=Path, help=argparse.SUPPRESS)  # the app's measuring child
    parser.add_argument("--bertviz-child", help=argparse.SUPPRESS)  # BertViz's measuring child
    parser.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.app is not None:
        print(json.dumps(app_figures(args.app, sys.stdin.read())))
        return 0
    if args.bertviz_child is not None:
        print(json.dumps(measure_bertviz(args.checkpoint, sys.stdin.read(), args.bertviz_child, args.js,
                                         args.bertviz_timeout, args.bertviz_memory)))
        return 0

    model = imported_checkpoint(args.work, "hf-bert-base-2048", make_checkpoint, "BERT-base, 2,048 positions")
    folder = model.with_suffix("")
    print(f"model: {model} ({model.stat().st_size / 1e6:.0f} MB); machine: {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    for tokens in args.lengths:
        text = text_of(tokens, folder / "tokenizer.json")
        ours = run_app(model, text)
        print(f"\n{ours['tokens']} tokens: Attention Explorer, app peak {ours['peak_gb']:.2f} GB")
        for view, bertviz_view in (("head", "head_view"), ("model", "model_view")):
            mine = next(s for name, s in ours["views_s"].items() if name.lower().startswith(view))
            theirs = run_bertviz(args.bertviz_env, folder, text, bertviz_view, args.js, args.bertviz_timeout,
                                 args.bertviz_memory)
            line = f"  {view} view: ours {mine:.2f} s; BertViz {theirs['seconds']:.1f} s, {theirs['outcome']}"
            if "chromium_gb" in theirs:
                line += (f", HTML {theirs['html_mb']:.0f} MB, {theirs['lines']:,} SVG lines, memory "
                         f"{theirs['python_gb'] + theirs['chromium_gb']:.2f} GB (Python {theirs['python_gb']:.2f} + "
                         f"Chromium {theirs['chromium_gb']:.2f})")
            if theirs["outcome"] == "drawn":
                line += f"; ratio {theirs['seconds'] / mine:.0f}x"
            else:
                line += f"; ours drawn, BertViz not (after {theirs['seconds']:.0f} s)"
            print(line, flush=True)
    text = text_of(LONG, folder / "tokenizer.json")
    ours = run_app(model, text)
    views = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in ours["views_s"].items())
    print(f"\n{ours['tokens']} tokens, Attention Explorer alone: text to all views {ours['total_s']:.2f} s ({views}); "
          f"app peak {ours['peak_gb']:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
