"""English text that every Python installation carries, the start of BERT's corpus
(`export.data.english` adds the machine's other documentation), and BERT's token streams and masking.

The corpus: the topics of the Python documentation shipped with CPython
(``pydoc_data.topics``, the text ``help("if")`` shows) and the docstrings of the standard
library's modules, classes and functions. The docstrings are collected in a child process,
so that importing some hundred modules leaves this process untouched; modules that cannot be
imported here, or that do something on import, are skipped. The order is deterministic, so
one Python build always gives the same corpus (`english.describe()` names the version).

One document in ten (by a hash of its name) is held out: it feeds neither the WordPiece
vocabulary nor training.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from dataclasses import dataclass

import numpy as np

from export.tokenizer import BERT_SPECIAL

# Not imported: they open windows or browsers, print on import, need a display, are the test suite,
# are read another way (pydoc_data), or only exist on Windows.
SKIP_MODULES = frozenset({
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "pydoc_data",
    "ensurepip", "venv", "lib2to3", "msilib", "winreg", "winsound", "msvcrt", "nt",
})

_COLLECT = r"""
import contextlib, importlib, inspect, io, json, pkgutil, sys, warnings
warnings.simplefilter("ignore")
skip = set(json.loads(sys.argv[1]))
docs, seen = [], set()

def add(name, obj):
    text = getattr(obj, "__doc__", None)
    if isinstance(text, str):
        text = inspect.cleandoc(text).strip()
        if len(text) >= 40 and text not in seen:
            seen.add(text)
            docs.append([name, text])

def walk(module):
    add(module.__name__, module)
    for attr in sorted(vars(module)):
        obj = getattr(module, attr, None)
        if attr.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj):
            add(f"{module.__name__}.{attr}", obj)
            for member in sorted(vars(obj)):
                if not member.startswith("_"):
                    add(f"{module.__name__}.{attr}.{member}", vars(obj)[member])
        elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
            add(f"{module.__name__}.{attr}", obj)

def names():
    for top in sorted(sys.stdlib_module_names):
        if top.startswith("__") or top in skip:
            continue
        yield top
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                path = importlib.import_module(top).__path__
        except BaseException:
            continue
        subs = sorted(pkgutil.walk_packages(path, top + ".", onerror=lambda name: None), key=lambda m: m.name)
        for sub in subs:
            parts = sub.name.split(".")
            if not any(p.startswith("__") or p in skip or p in ("test", "tests") for p in parts):
                yield sub.name

for name in names():
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            module = importlib.import_module(name)
    except BaseException:
        continue
    walk(module)
sys.stdout.write(json.dumps(docs))
"""


@dataclass(frozen=True)
class Document:
    name: str  # "topic:if" or a dotted name such as "json.dumps"
    text: str


def clean(text: str) -> str:
    """Drop the lines that hold no word: reStructuredText underlines and table rules
    ("-----", "=====  ====", "+---+---+"). They would teach the model to repeat dashes."""
    return "\n".join(line for line in text.splitlines() if any(c.isalnum() for c in line)).strip()


def pydoc_topics() -> list[Document]:
    from pydoc_data.topics import topics

    return [Document(f"topic:{key}", clean(topics[key])) for key in sorted(topics)]


def stdlib_docstrings(timeout: float = 300) -> list[Document]:
    """Docstrings of standard-library modules, classes, methods and functions, in a child process."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", _COLLECT, json.dumps(sorted(SKIP_MODULES))],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=True,
    )
    return [Document(name, clean(text)) for name, text in json.loads(done.stdout)]


def corpus() -> list[Document]:
    return pydoc_topics() + stdlib_docstrings()


def is_held_out(doc: Document) -> bool:
    return zlib.crc32(doc.name.encode()) % 10 == 0


def split(docs: list[Document]) -> tuple[list[Document], list[Document]]:
    """(train, test) by document."""
    return [d for d in docs if not is_held_out(d)], [d for d in docs if is_held_out(d)]


# -- token streams and masking ------------------------------------------------------------------


def token_stream(tokenizer, docs: list[Document], sep_id: int) -> np.ndarray:
    """All documents' tokens end to end, each document followed by [SEP]."""
    encodings = tokenizer.encode_batch([d.text for d in docs], add_special_tokens=False)
    parts = [np.asarray(e.ids + [sep_id], dtype=np.int64) for e in encodings]
    return np.concatenate(parts)


def windows(stream: np.ndarray, length: int) -> np.ndarray:
    """(N, length) consecutive, non-overlapping slices of the stream (the tail is dropped)."""
    n = len(stream) // length
    return stream[: n * length].reshape(n, length)


def random_windows(stream: np.ndarray, length: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, length) slices of the stream starting anywhere."""
    starts = rng.integers(0, len(stream) - length + 1, size=count)
    return stream[starts[:, None] + np.arange(length)]


def special_ids(tokenizer) -> dict[str, int]:
    return {role: tokenizer.token_to_id(token) for role, token in BERT_SPECIAL.items()}


def masked_batch(
    rows: np.ndarray, special: dict[str, int], vocab_size: int, rng: np.random.Generator, short: float = 0.0
) -> dict[str, np.ndarray]:
    """[CLS] row [SEP] for each row of token ids, then BERT's masking. With probability `short`
    a sequence is cut to a random length of at least 8 (padded, its attention mask 0), so that
    the model also sees short inputs. Returns input_ids, attention_mask and labels (B, T)."""
    b, t = rows.shape[0], rows.shape[1] + 2
    ids = np.concatenate(
        [np.full((b, 1), special["cls"]), rows, np.full((b, 1), special["sep"])], axis=1
    ).astype(np.int64)
    lengths = np.where(rng.random(b) < short, rng.integers(8, t, size=b), t)
    keep = np.arange(t)[None, :] < lengths[:, None]
    ids[np.arange(b), lengths - 1] = special["sep"]
    ids[~keep] = special["pad"]
    maskable = keep & ~np.isin(ids, list(special.values()))
    first_plain = max(special.values()) + 1  # the special tokens come first in the vocabulary
    inputs, labels = mask_tokens(ids, maskable, rng, special["mask"], (first_plain, vocab_size))
    return {"input_ids": inputs, "attention_mask": keep.astype(np.int64), "labels": labels}


def held_out_batches(
    tokenizer, docs: list[Document], seed: int, length: int = 126, batch_size: int = 64,
    max_windows: int | None = None,
) -> list[dict[str, np.ndarray]]:
    """The held-out documents cut into windows of `length` tokens, masked once with a
    generator seeded by `seed`, in batches. With `max_windows`, that many windows spread evenly
    over the stream, so that every part of a large held-out set is measured."""
    special = special_ids(tokenizer)
    rows = windows(token_stream(tokenizer, docs, special["sep"]), length)
    if max_windows is not None and len(rows) > max_windows:
        rows = rows[np.linspace(0, len(rows) - 1, max_windows).astype(np.int64)]
    rng = np.random.default_rng([seed, 1])
    return [
        masked_batch(rows[i : i + batch_size], special, tokenizer.get_vocab_size(), rng)
        for i in range(0, len(rows), batch_size)
    ]


def mask_tokens(
    ids: np.ndarray,
    maskable: np.ndarray,
    rng: np.random.Generator,
    mask_id: int,
    random_ids: tuple[int, int],
    rate: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """BERT's masking: each maskable position is chosen with probability `rate`; a chosen position
    becomes [MASK] 80% of the time, a random token from [random_ids[0], random_ids[1]) 10%, and
    stays as it is 10%. Returns (input ids, labels): labels hold the original id at chosen
    positions and -100 elsewhere."""
    chosen = (rng.random(ids.shape) < rate) & maskable
    how = rng.random(ids.shape)
    inputs = ids.copy()
    inputs[chosen & (how < 0.8)] = mask_id
    swap = chosen & (how >= 0.8) & (how < 0.9)
    inputs[swap] = rng.integers(random_ids[0], random_ids[1], size=int(swap.sum()))
    labels = np.where(chosen, ids, -100)
    return inputs, labels


def unigram_counts(stream: np.ndarray, vocab_size: int, special_ids: list[int]) -> np.ndarray:
    """How often each token occurs in the stream, special tokens left at 0."""
    counts = np.bincount(stream, minlength=vocab_size).astype(np.int64)
    counts[special_ids] = 0
    return counts
