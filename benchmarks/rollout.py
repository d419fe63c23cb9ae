"""Time attention rollout at ViT-B/16 size: 12 layers x 12 heads x 197 tokens.

Prints the median milliseconds of explorer.shared.rollout next to a straightforward
per-layer Python loop (the same maths written plainly), measured in the same run.

    python benchmarks/rollout.py [--repeats 50] [--discard 0.9] [--fusion mean]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from explorer.shared.rollout import rollout


def loop_rollout(attentions: np.ndarray, head_fusion: str, discard_ratio: float) -> np.ndarray:
    """One layer at a time, one head at a time, as a first implementation would do it."""
    layers, heads, tokens, _ = attentions.shape
    result = np.eye(tokens)
    for layer in range(layers):
        fused = attentions[layer, 0].astype(np.float64).copy()
        for head in range(1, heads):
            if head_fusion == "mean":
                fused += attentions[layer, head]
            else:
                fused = getattr(np, f"{head_fusion}imum")(fused, attentions[layer, head])
        if head_fusion == "mean":
            fused /= heads
        if discard_ratio:
            body = fused[:, 1:].flatten()
            order = np.argsort(body)
            body[order[: int(discard_ratio * body.size)]] = 0.0
            fused[:, 1:] = body.reshape(tokens, tokens - 1)
        mixed = 0.5 * fused + 0.5 * np.eye(tokens)
        mixed /= mixed.sum(axis=1, keepdims=True)
        result = mixed @ result
    return result


def median_ms(fn, repeats: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--tokens", type=int, default=197)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--discard", type=float, default=0.9)
    parser.add_argument("--fusion", default="mean", choices=("mean", "max", "min"))
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(args.layers, args.heads, args.tokens, args.tokens)).astype(np.float32)
    attentions = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)  # softmax rows

    ours = lambda: rollout(attentions, args.fusion, args.discard)
    plain = lambda: loop_rollout(attentions, args.fusion, args.discard)
    gap = np.abs(ours() - plain()).max()
    ours_ms = median_ms(ours, args.repeats)
    plain_ms = median_ms(plain, args.repeats)
    shape = f"{args.layers} layers x {args.heads} heads x {args.tokens} tokens"
    print(f"rollout, {shape}, fusion={args.fusion}, discard={args.discard}")
    print(f"  explorer.shared.rollout : {ours_ms:7.2f} ms (median of {args.repeats})")
    print(f"  per-layer Python loop : {plain_ms:7.2f} ms  ({plain_ms / ours_ms:.1f}x slower)")
    print(f"  largest difference    : {gap:.1e}")


if __name__ == "__main__":
    main()
