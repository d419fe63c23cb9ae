"""The contract's head mask, applied the one way every family allows, whoever wrote its attention:
a forward pre-hook on each layer's W_O scales head h's slice [h·hd, (h+1)·hd) of its input by
head_mask[layer, h]. That is the head's probabilities scaled on their way to V, as the contract says."""

from __future__ import annotations

import torch
from torch import nn


class HeadMaskHooks:
    """While open, the k-th call of a W_O module (layers run in order) takes row k of the head mask:
    one hook per module, so ALBERT's one W_O shared by every layer takes every row in turn."""

    def __init__(self, w_o: list[nn.Module], head_mask: torch.Tensor):
        self.w_o = list(dict.fromkeys(w_o))
        self.head_mask = head_mask  # (layers, heads): the traced input, so the graph takes it
        self.calls = 0
        self.handles = []

    def _scale(self, module: nn.Module, args: tuple) -> tuple:
        heads_side_by_side = args[0]  # (..., heads * head_dim)
        row = self.head_mask[self.calls]  # (heads,)
        self.calls += 1
        scale = row.repeat_interleave(heads_side_by_side.shape[-1] // row.shape[0])  # (heads * head_dim,)
        return (heads_side_by_side * scale, *args[1:])

    def __enter__(self) -> HeadMaskHooks:
        self.handles = [module.register_forward_pre_hook(self._scale) for module in self.w_o]
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        for handle in self.handles:
            handle.remove()
        layers = self.head_mask.shape[0]
        if error is None and self.calls != layers:  # W_O bypassed (BLOOM's pretraining_tp > 1, say)
            raise ValueError(f"the output projection ran {self.calls} times for {layers} layers: "
                             "this checkpoint's head masks cannot be applied")
