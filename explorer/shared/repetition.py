"""The repeated-random-tokens probe of a decoder's heads, which the app's head table and the GPT's
training figures both measure: random tokens, then the same again; a head that attends from the
second copy to the token after the first copy of the current token completes patterns it has seen
(an induction head), one that attends to that first copy itself is a duplicate-token head."""

from __future__ import annotations

import numpy as np


def repeated_random_ids(token_ids: list[int], span: int = 50, seed: int = 0) -> tuple[int, ...]:
    """`span` tokens drawn at random (seeded) from `token_ids`, then the same again: 2 * span ids."""
    rng = np.random.default_rng(seed)
    first = rng.choice(np.asarray(token_ids), size=span, replace=len(token_ids) < span)
    return tuple(int(i) for i in np.concatenate([first, first]))


def probe_ids(vocab_size: int, special_ids: set[int], bos: int | None, max_positions: int | None,
              span: int = 50, seed: int = 0) -> tuple[tuple[int, ...], int, int]:
    """(ids, start, span): the model's BOS first where it has one, then repeated random tokens of
    the vocabulary but its special tokens, from `start`; `span` shorter where the model takes fewer
    positions than 2 * span + 1."""
    prefix = () if bos is None else (bos,)
    span = min(span, ((max_positions or 2 * span + len(prefix)) - len(prefix)) // 2)
    ids = prefix + repeated_random_ids([i for i in range(vocab_size) if i not in special_ids], span, seed)
    return ids, len(prefix), span


def repetition_scores(attentions: np.ndarray, start: int, span: int) -> tuple[np.ndarray, np.ndarray]:
    """(induction, duplicate), each (layers, heads): over the queries q of the second copy (which
    begins at `start` + `span`), the mean attention on key q - span + 1 (the token after the first
    copy of q's token) and on key q - span (that first copy itself)."""
    queries = np.arange(start + span, start + 2 * span)
    induction = attentions[..., queries, queries - span + 1].mean(-1)
    duplicate = attentions[..., queries, queries - span].mean(-1)
    return induction, duplicate
