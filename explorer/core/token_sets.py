"""The attention of a set of tokens: the rows (or columns) of several tokens summed or averaged.

A person Shift-clicks several tokens to ask "where do these look, together?" (BertViz issue
125). With direction "from" the tokens are queries and their rows combine into one
distribution over the keys; with "to" they are keys and their columns combine into the
attention each query pays the set.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

FROM = "from"  # the tokens are queries: their attention over the keys
TO = "to"  # the tokens are keys: the attention they receive from the queries
SUM = "sum"
MEAN = "mean"
HOWS = (SUM, MEAN)


def combine(attention: np.ndarray, indices: Iterable[int], how: str = SUM, direction: str = FROM) -> np.ndarray:
    """The chosen tokens' attention as one row: (..., Q, K) -> (..., K) for FROM, (..., Q) for TO.

    Leading axes (layers, heads) are kept, so one call combines every head. The mean of rows
    that each sum to 1 sums to 1 again; their sum is the total attention the set pays.
    """
    if how not in HOWS:
        raise ValueError(f"how must be one of {HOWS}, got {how!r}")
    if direction not in (FROM, TO):
        raise ValueError(f"direction must be {FROM!r} or {TO!r}, got {direction!r}")
    chosen = sorted(set(indices))
    if not chosen:
        raise ValueError("no tokens to combine")
    axis = -2 if direction == FROM else -1  # the axis the chosen tokens index
    if not all(0 <= i < attention.shape[axis] for i in chosen):
        raise IndexError(f"token indices {chosen} outside 0..{attention.shape[axis] - 1}")
    picked = np.take(attention, chosen, axis=axis)  # (..., n, K) or (..., Q, n)
    return picked.sum(axis=axis) if how == SUM else picked.mean(axis=axis)
