"""Python source code that every Python installation carries, for the GPT's language model.

The corpus: every ``.py`` file of the standard library this Python runs on (its ``stdlib``
folder), without site-packages and without the test suites, in sorted order, so one Python
build always gives the same corpus (`describe()` names the version). Real code, written by
many people, and full of repeated identifiers: what a small model can learn to continue, and
where copying what came before (an induction head) pays.

One file in ten (by a hash of its path, as for the English corpus) is held out: it feeds
neither the tokenizer nor training.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import numpy as np

from export.data.text import Document, split

__all__ = ["describe", "repeated_span_rows", "split", "stdlib_sources", "token_stream"]

SKIP_FOLDERS = frozenset({"site-packages", "test", "tests", "idle_test"})


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_sources(root: Path | None = None) -> list[Document]:
    """Each source file of the standard library as one document named by its path under `root`."""
    root = root or stdlib_root()
    docs = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if SKIP_FOLDERS.isdisjoint(relative.parts):
            text = path.read_text(encoding="utf-8", errors="replace")
            if text.strip():
                docs.append(Document(str(relative), text))
    return docs


def describe() -> str:
    v = sys.version_info
    return (f"the source code of Python {v.major}.{v.minor}.{v.micro}'s standard library (every .py file "
            "but site-packages and the test suites); one file in ten held out")


def token_stream(tokenizer, docs: list[Document], end_id: int) -> np.ndarray:
    """All files' tokens end to end, each file after <|endoftext|> (as every prompt begins)."""
    encodings = tokenizer.encode_batch([d.text for d in docs], add_special_tokens=False)
    return np.concatenate([np.asarray([end_id, *e.ids], dtype=np.int64) for e in encodings])


def repeated_span_rows(
    count: int, length: int, vocab: int, end_id: int, rng: np.random.Generator, spans: tuple[int, int] = (10, 60)
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels), each (count, length): <|endoftext|>, then random tokens repeated to the end
    of the row. Only the repeats are labelled (-100 elsewhere): a random token cannot be predicted,
    but its repeat can, by finding its earlier copy and reading what came next — an induction head."""
    rows = np.empty((count, length + 1), np.int64)
    labels = np.full((count, length), -100, np.int64)
    for r in range(count):
        span = int(rng.integers(*spans, endpoint=True))
        first = rng.integers(1, vocab, size=span)
        rows[r, 0] = end_id
        rows[r, 1:] = np.resize(first, length)
        labels[r, span:] = rows[r, span + 1:]  # the token at i + 1, from the first repeat on
    return rows[:, :-1], labels
