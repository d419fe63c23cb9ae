"""The inputs a contract graph takes that a caller may leave out, filled with their neutral values:
head masks of ones (every head kept) and, for a file with a key-value cache, an empty past sized
to the batch (a whole sequence from its first token). The app's runner and the training's
held-out evaluation both run files this way."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from explorer import contract


def complete_feeds(meta: contract.ModelMetadata, feeds: dict[str, np.ndarray], graph_inputs: Collection[str],
                   head_masks: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """`feeds` plus each head-mask input of `graph_inputs` (from `head_masks` by stack, else ones)
    and each past input not given (empty)."""
    feeds = dict(feeds)
    for stack, spec in meta.stacks.items():
        name = contract.head_mask_input(stack)
        if name in graph_inputs and name not in feeds:
            given = (head_masks or {}).get(stack)
            feeds[name] = np.ones((spec.layers, spec.heads), np.float32) if given is None else given
    if meta.kv_cache:
        batch = feeds[meta.sequence_inputs[0][0]].shape[0]
        for name in meta.kv_cache.past_inputs():
            feeds.setdefault(name, np.zeros(meta.kv_cache.shape(batch, 0), np.float32))
    return feeds
