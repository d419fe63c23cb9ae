"""Which heads are switched off: the `head_mask.<stack>` inputs of the contract, as state a person edits.

`HeadMasks` holds one (layers, heads) float32 array per stack, 1 to keep a head and 0 to
remove its output before W_O. `feeds()` gives what `Runner.run_graph` takes, or None when
every head is kept, so that an unablated run is exactly the model's default run.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from explorer import contract


class HeadMasks:
    def __init__(self, stacks: Mapping[str, contract.StackSpec]):
        self.shapes = {name: (spec.layers, spec.heads) for name, spec in stacks.items()}
        self._masks = {name: np.ones(shape, np.float32) for name, shape in self.shapes.items()}  # (L, H) each

    def mask(self, stack: str) -> np.ndarray:
        """(layers, heads) float32, a copy."""
        return self._masks[stack].copy()

    def is_ablated(self, stack: str, layer: int, head: int) -> bool:
        return self._masks[stack][layer, head] == 0

    def ablated(self, stack: str) -> list[tuple[int, int]]:
        """(layer, head) of every ablated head of `stack`."""
        return [(int(layer), int(head)) for layer, head in np.argwhere(self._masks[stack] == 0)]

    @property
    def any_ablated(self) -> bool:
        return any((mask == 0).any() for mask in self._masks.values())

    def set_ablated(self, stack: str, layer: int, head: int, ablated: bool) -> None:
        self._masks[stack][layer, head] = 0.0 if ablated else 1.0

    def toggle(self, stack: str, layer: int, head: int) -> None:
        self.set_ablated(stack, layer, head, not self.is_ablated(stack, layer, head))

    def keep_only(self, stack: str, layer: int, head: int) -> None:
        """Ablate every head of `layer` in `stack` but `head`: what that one head carries on its own."""
        self._masks[stack][layer] = 0.0
        self._masks[stack][layer, head] = 1.0

    def reset(self) -> None:
        """Keep every head again."""
        for mask in self._masks.values():
            mask[...] = 1.0

    def feeds(self) -> dict[str, np.ndarray] | None:
        """Copies of the masks per stack for `Runner.run_graph`, or None when no head is ablated."""
        return {name: mask.copy() for name, mask in self._masks.items()} if self.any_ablated else None
