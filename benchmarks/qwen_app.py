"""A Qwen2.5-0.5B-shaped decoder imported from a Hugging Face checkpoint, in the app at 512 tokens.

Qwen2.5-0.5B's sizes (24 layers, 14 query heads sharing 2 key/value heads, hidden 896, feed-forward
4,864, vocabulary 151,936, tied embeddings; random weights) with a small byte-level BPE tokenizer
(the model's ids beyond it are never fed). Figures, in one run:

1. `attention-export hf` on the checkpoint: seconds (the first run only; later runs reuse the file).
2. Text edit to all views redrawn at 512 tokens, as benchmarks/bert_base_app.py measures it.
3. The app's peak memory (its process never imports torch).

    python benchmarks/qwen_app.py [--edits 3] [--work build/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bert_base_app import WORDS, measure_app  # benchmarks/bert_base_app.py
from hf_checkpoint import imported_checkpoint, write_decoder  # benchmarks/hf_checkpoint.py

REPO = Path(__file__).resolve().parents[1]
TOKENS = 512


def make_checkpoint(folder: Path) -> None:
    write_decoder(folder, "Qwen2Config", "Qwen2ForCausalLM", hidden_size=896, intermediate_size=4864,
                  num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                  max_position_embeddings=4096)


def texts(folder: Path, count: int) -> list[str]:
    """`count` texts of exactly TOKENS tokens, each a word away from the last."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    base = " ".join(WORDS[i % len(WORDS)] for i in range(2 * TOKENS))
    out = []
    for i in range(count):
        ids = tokenizer.encode(f"{WORDS[i % len(WORDS)]} {base}", add_special_tokens=False).ids
        out.append(tokenizer.decode(ids[: TOKENS - 1]))  # the app puts <|endoftext|> first
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench")
    parser.add_argument("--app", type=Path, help=argparse.SUPPRESS)  # the measuring child process
    args = parser.parse_args()
    if args.app is not None:
        print(json.dumps(measure_app(args.app, texts(args.app.with_suffix(""), args.edits + 1))))
        return 0

    model = imported_checkpoint(args.work, "hf-qwen2.5-0.5b", make_checkpoint, "Qwen2.5-0.5B-shaped")
    print(f"model: {model} ({model.stat().st_size / 1e6:.0f} MB); machine: {os.cpu_count()} CPUs")
    child = subprocess.run([sys.executable, __file__, "--app", str(model), "--edits", str(args.edits)],
                           capture_output=True, text=True, check=True)
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    medians = figures["medians_s"]
    print(f"open in the app: {figures['open_s']:.1f} s; provider {figures['provider']}")
    print(f"text edit to all views redrawn, {figures['tokens']} tokens, median of {args.edits}: "
          f"{medians.pop('total'):.2f} s")
    for name, seconds in medians.items():
        print(f"  {name:>14}: {seconds * 1e3:8.0f} ms")
    print(f"app peak memory (max RSS, torch imported: {figures['torch_imported']}): {figures['peak_rss_gb']:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
