"""Head statistics for a 12-layer, 12-head stack at 512 tokens (target under 100 ms).

Prints the median time of explorer.core.head_stats next to a per-head loop over the same
numpy operations, measured in this one run.

    python benchmarks/head_stats.py [--tokens 512] [--repeats 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from explorer.core.head_stats import head_stats


def per_head_loop(att: np.ndarray) -> None:
    """The obvious version: one head at a time."""
    layers, heads, q, k = att.shape
    gaps = np.abs(np.arange(q)[:, None] - np.arange(k)[None, :])
    for layer in range(layers):
        for h in range(heads):
            a = att[layer, h]
            -(a * np.log(np.maximum(a, 1e-30))).sum(-1).mean()
            (a * gaps).sum(-1).mean()
            a[:, 0].mean(), np.diagonal(a).mean(), np.diagonal(a, -1).sum() / q, np.diagonal(a, 1).sum() / q, a.max()


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((12, 12, args.tokens, args.tokens)).astype(np.float32)
    att = np.exp(scores - scores.max(-1, keepdims=True))
    att /= att.sum(-1, keepdims=True)

    ours = median_ms(lambda: head_stats(att, end_positions=[args.tokens - 1]), args.repeats)
    loop = median_ms(lambda: per_head_loop(att), args.repeats)
    print(f"head statistics, 12 x 12 heads, {args.tokens} tokens, median of {args.repeats}")
    print(f"  explorer.core.head_stats   {ours:7.1f} ms  (target < 100 ms: {'met' if ours < 100 else 'MISSED'})")
    print(f"  per-head numpy loop        {loop:7.1f} ms  ({loop / ours:.2f}x ours)")


if __name__ == "__main__":
    main()
