"""Training data made on this machine: generated dates, and English text that Python itself carries."""

from __future__ import annotations

import numpy as np


def pad_rows(rows: list[list[int]], pad: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, longest) int64 ids padded with `pad`, and the (B, longest) int64 mask of real entries."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask
