"""What benchmarks/soak.py feeds the app and how it reads the process: the ordinary and hostile texts,
the sample and hostile pictures, files that are no model, the RSS (VmRSS) and glibc's malloc_trim, and
the small helpers that format the soak's report.

Import it after setting OPENBLAS_NUM_THREADS (it imports numpy), as benchmarks/soak.py does.
"""

from __future__ import annotations

import collections
import gc
import random
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

ORDINARY = (
    "The cat sat on the mat because it was tired.",
    "Return a new [MASK] containing the items of the iterable.",
    "the 27th of November, 2026",
    "1 jan 1999",
    "march 3rd 2001",
    "Sort the list in place and return None.",
    "The quick brown fox jumps over the lazy dog.",
    "A dictionary maps keys to [MASK].",
)
WORDS = ("the", "cat", "list", "iterable", "of", "and", "return", "tuple", "dog", "über", "naïve", "x", "42", "—")


def hostile_texts(rng: random.Random) -> dict[str, str]:
    """Name -> text: what a person may type or paste that a model was never trained on."""
    many = " ".join(rng.choice(WORDS) for _ in range(5000))
    return {
        "empty": "",
        "one space": " ",
        "only spaces": " " * 40,
        "whitespace": " \t\n\r \u00a0\u2003\u3000 ",
        "5,000 random words": many,
        "one 20,000-letter word": "a" * 20_000,
        "emoji": "😀🙈🚀 👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🇩🇪",
        "only emoji": "🙈" * 300,
        "control characters": "".join(chr(i) for i in range(32)) + "\x7f",
        "NUL": "\x00",
        "NULs inside": "the\x00cat\x00sat\x00",
        "zero width": "\u200b\u200c\u200d\ufeff",
        "RTL Arabic": "مرحبا بالعالم، كيف حالك اليوم؟",
        "RTL Hebrew": "שלום עולם",
        "bidi override": "abc \u202eשלום def\u202c [MASK]",
        "combining marks": "e\u0301\u0302\u0303" * 500,
        "CJK": "注意力机制是变压器的核心。",
        "mathematical letters": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕋𝕖𝕩𝕥",
        "a single [MASK]": "[MASK]",
        "[MASK] [MASK]": "[MASK] [MASK]",
        "300 [MASK]s": " ".join(["[MASK]"] * 300),
        "special tokens": "[CLS] [SEP] [PAD] [UNK] [MASK] <s> </s> <pad>",
        "lower-case [mask]": "[mask] [Mask]",
        "broken [MASK": "[MASK [MAS] MASK]",
        # what `--text` holds when the shell passes bytes that are not UTF-8 (Python's surrogateescape)
        "invalid UTF-8 (a lone surrogate)": "caf\udce9 au lait",
        "huge number": "9" * 400,
        "date-like garbage": "31/02/99999 00:00 --- 13th of Smarch",
        "newlines": "the\ncat\n\n\nsat\n",
    }


def load_pictures(rng: np.random.Generator) -> list:
    """The bundled sample images as the image page reads them, and a few hostile pictures."""
    from explorer.core.assets import sample_images
    from explorer.core.state.runs import Picture
    from explorer.ui.image_file import read_rgb

    pictures = [Picture(path.name, read_rgb(path), path) for path in sample_images()]
    pictures += [
        Picture("1x1", np.full((1, 1, 3), 200, np.uint8)),
        Picture("1x400 sliver", rng.integers(0, 256, (1, 400, 3), dtype=np.uint8)),
        Picture("500x2 sliver", rng.integers(0, 256, (500, 2, 3), dtype=np.uint8)),
        Picture("all black", np.zeros((64, 64, 3), np.uint8)),
        Picture("all white", np.full((31, 47, 3), 255, np.uint8)),
        Picture("noise 1500x1100", rng.integers(0, 256, (1500, 1100, 3), dtype=np.uint8)),
    ]
    return pictures


def broken_models(folder: Path) -> list[Path]:
    """Files a person might open by mistake: none, a folder, a text file, a cut-off model, an empty file."""
    from explorer.core.assets import BUNDLED_MODEL

    cut = folder / "cut.onnx"
    cut.write_bytes(BUNDLED_MODEL.read_bytes()[:100_000])
    empty = folder / "empty.onnx"
    empty.write_bytes(b"")
    return [folder / "missing.onnx", folder, REPO / "README.md", cut, empty]


# -- the process's memory ------------------------------------------------------------------------
Curve = Sequence[tuple[int, float]]  # (interaction index, RSS in MB)


def rss_mb() -> float:
    """The process's resident set size now, in MB (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the peak, where /proc is missing


def trim_malloc() -> bool:
    """Hand the memory glibc's malloc keeps free back to the system; False where that is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


def nearest(curve: Curve, index: int) -> float:
    """The reading taken nearest to interaction `index` (the earlier one on a tie)."""
    return min(curve, key=lambda point: abs(point[0] - index))[1]


def span(curve: Curve, start: int) -> str:
    """The lowest and highest reading from interaction `start` on, as "low-high"."""
    window = [mb for index, mb in curve if index >= start]
    return f"{min(window):.1f}-{max(window):.1f}"


class RssCurve:
    """The RSS read after gc.collect() now and then: as it is (`raw`), and after malloc_trim(0) has handed
    back what glibc keeps free (`trimmed`; the raw reading again where there is no glibc)."""

    def __init__(self) -> None:
        self.raw: list[tuple[int, float]] = []
        self.trimmed: list[tuple[int, float]] = []

    def measure(self, index: int) -> None:
        gc.collect()
        self.raw.append((index, rss_mb()))
        self.trimmed.append((index, rss_mb() if trim_malloc() else self.raw[-1][1]))

    def report(self, every: int, window: int, target: float, trimmed: bool) -> tuple[int, int, float, float]:
        """Print the readings and the growth over the last `window` interactions (judged on the trimmed
        readings against `target` MB); (first and last interaction of that window, growth, raw growth)."""
        raw, curve = self.raw, self.trimmed
        print(f"\nRSS (MB, after gc.collect()) every {every} interactions"
              + (", as it is / after malloc_trim(0):" if trimmed else ":"))
        row = [f"{index:>5}: {raw_mb:5.0f}/{mb:5.0f}" if trimmed else f"{index:>5}: {raw_mb:6.1f}"
               for (index, raw_mb), (_, mb) in zip(raw, curve, strict=True)]
        for first in range(0, len(row), 6):
            print("  " + "  ".join(row[first:first + 6]))
        end_index, end_mb = curve[-1]
        start_index = max(end_index - window, 0)
        growth = end_mb - nearest(curve, start_index)
        raw_growth = raw[-1][1] - nearest(raw, start_index)
        print(f"raw RSS growth over interactions {start_index}-{end_index}: {raw_growth:+.1f} MB, "
              f"{span(raw, start_index)} MB in that window, peak {max(mb for _, mb in raw):.1f} MB")
        print(f"RSS growth over interactions {start_index}-{end_index} (after warm-up"
              f"{', after malloc_trim' if trimmed else ''}): {growth:+.1f} MB "
              f"(target < {target:.0f} MB: {'met' if growth < target else 'MISSED'}); "
              f"{span(curve, start_index)} MB in that window, peak {max(mb for _, mb in curve):.1f} MB")
        return start_index, end_index, growth, raw_growth


# -- the report -----------------------------------------------------------------------------------
def call(target: object, method: str, *args: object) -> str:
    """Call `target.method(*args)`; the call as the soak describes it: "method(arg, ...)" (the args' repr)."""
    getattr(target, method)(*args)
    return f"{method}({', '.join(map(repr, args))})"


def median_ms(values: list[float]) -> float:
    return float(np.median(values)) * 1e3 if values else 0.0


def print_interactions(by_model: collections.Counter[str], by_kind: collections.Counter[str],
                       seconds: dict[str, list[float]]) -> None:
    """How many interactions each model and each kind of interaction had, and a kind's median time."""
    print("\ninteractions by model:", ", ".join(f"{m} {n}" for m, n in by_model.most_common()))
    print("interactions by kind (median ms):")
    for name, count in by_kind.most_common():
        print(f"  {name:>22}: {count:5d}  {median_ms(seconds[name]):7.1f} ms")


def print_messages(signal: str, counter: collections.Counter[str], is_bug: Callable[[str], object]) -> None:
    """The messages a failure signal carried, most frequent first, the catch-all ones marked."""
    print(f"{signal} messages: {sum(counter.values())} ({len(counter)} distinct)")
    for message, count in counter.most_common():
        print(f"  {count:5d}  {'CATCH-ALL ' if is_bug(message) else ''}{message[:200]}")


def print_bugs(catch_all: dict[str, tuple[str, str]], non_finite: collections.Counter[str],
               escaped: list[tuple[int, str, str]], shown: int) -> None:
    """The bugs in detail: each catch-all message with the interaction that first gave it and the app's
    traceback, the first `shown` results with non-finite attention, the first `shown` exceptions that
    escaped and how many of each kind."""
    if catch_all:
        print("\ncatch-all messages (bugs), the first interaction that gave each and the app's traceback:")
        for message, (where, tb) in catch_all.items():
            print(f"- {message[:300]}\n  first at {where[:300]}")
            print(textwrap.indent(tb.strip() or "(no traceback printed)", "    "))
    if non_finite:
        print("\nshown results with non-finite attention (first few):")
        for where, count in list(non_finite.items())[:shown]:
            print(f"  {count:4d}  {where}")
    if escaped:
        print(f"\nexceptions that escaped: {len(escaped)}; the first {min(len(escaped), shown)}:")
        for _, where, tb in escaped[:shown]:
            print(f"- {where[:300]}")
            print(textwrap.indent(tb.strip(), "    "))
        kinds = collections.Counter(tb.strip().splitlines()[-1][:160] for _, _, tb in escaped)
        for line, count in kinds.most_common():
            print(f"  {count:5d}  {line}")
