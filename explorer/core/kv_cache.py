"""A decoder writing one token at a time with its key-value cache (contract `kv_cache`).

The prompt runs once, whole; each later step feeds only the newest token and the keys and values
the step before returned (`present.*` fed back as `past_key_values.*`), so a step costs one token's
work instead of the whole sequence's. The views still get the whole sequence: a causal model's
earlier rows do not change when a token is added (the new key is in their future, exactly 0), so
the sequence's attention is the previous one with the new row below it. Each output that grows
lives in one buffer sized for the longest sequence, and every step's result is a view of its
first n rows: going back costs nothing, and 32 steps hold one copy of the attention, not 32.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from explorer import contract
from explorer.core.result import RunResult

if TYPE_CHECKING:
    from explorer.core.runner import Runner

# Per output (batch item 0), the axes that grow by one with each token: attention rows and columns,
# one more query, one more hidden state, one more row of logits. The cached keys and values come
# back whole from every step (present = past + new), so they need no buffer.
_GROWING_AXES = {"attentions": (2, 3), "queries": (2,), "hidden_states": (1,), contract.LOGITS: (0,)}


def _growing_axes(output: str) -> tuple[int, ...] | None:
    return _GROWING_AXES.get(output.split(".")[0])


class _Buffer:
    """One output over the sequence so far, in an array with room for `capacity` tokens."""

    def __init__(self, first: np.ndarray, axes: tuple[int, ...], capacity: int):
        shape = list(first.shape)
        for axis in axes:
            shape[axis] = capacity
        self.axes, self.length = axes, first.shape[axes[0]]
        self.array = np.zeros(shape, first.dtype)  # zeros: a causal row's future keys are exactly 0
        self.array[self._region(self.length)] = first

    def _region(self, length: int, row: slice | int | None = None) -> tuple:
        index = [slice(None)] * self.array.ndim
        for axis in self.axes:
            index[axis] = slice(0, length)
        if row is not None:
            index[self.axes[0]] = row
        return tuple(index)

    def append(self, step: np.ndarray) -> np.ndarray:
        """Write the newest token's slice (size 1 on the first growing axis) and return the whole so far."""
        row = np.take(step, 0, axis=self.axes[0])
        self.array[self._region(self.length + 1, self.length)] = row
        self.length += 1
        return self.view(self.length)

    def view(self, length: int) -> np.ndarray:
        return self.array[self._region(length)]


class CachedSequence:
    """The prompt's run, then one cached step per token; `result(n)` is the run on the first n tokens."""

    def __init__(self, runner: Runner, prompt_run: RunResult, key_mask: np.ndarray, capacity: int):
        meta = runner.model.meta
        self.runner, self.cache = runner, meta.kv_cache
        self.ids_input, self.mask_input = meta.sequence_inputs[0]
        self.prompt_run = prompt_run
        self.key_mask = np.asarray(key_mask, np.int64)  # (T,) grows with each token
        self.past = {name: value[None] for name, value in self.cache.next_past(prompt_run.outputs).items()}  # batch 1
        self.buffers = {name: _Buffer(value, axes, capacity) for name, value in prompt_run.outputs.items()
                        if (axes := _growing_axes(name)) is not None}

    @property
    def length(self) -> int:
        return len(self.key_mask)

    def step(self, token_id: int, head_masks: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        """Run the newest token over the cache; the outputs (batch item 0) for the whole sequence."""
        self.key_mask = np.concatenate([self.key_mask, [1]])
        feeds = {self.ids_input: np.array([[token_id]], np.int64), self.mask_input: self.key_mask[None], **self.past}
        outputs = self.runner.run_graph(feeds, head_masks)
        self.past = self.cache.next_past(outputs)
        item = self.runner.batch_item(outputs)
        return {name: self.buffers[name].append(value) if name in self.buffers else value
                for name, value in item.items()}

    def back(self) -> None:
        """Forget the newest token: the next step overwrites its rows."""
        for buffer in self.buffers.values():
            buffer.length -= 1
        self.key_mask = self.key_mask[:-1]
        self.past = {name: value[:, :, :-1] for name, value in self.past.items()}

    def result(self, ids: list[int], tokens: tuple[str, ...], outputs: dict[str, np.ndarray]) -> RunResult:
        """The run on `ids` as a RunResult, built from `outputs` of the whole sequence."""
        base = self.prompt_run
        key_mask = self.key_mask.astype(bool)
        stacks = {name: dataclasses.replace(stack, attentions=outputs[contract.attention_output(name)],
                                            query_tokens=tokens, key_tokens=tokens, key_mask=key_mask)
                  for name, stack in base.stacks.items()}
        return dataclasses.replace(base, stacks=stacks, logits=outputs[contract.LOGITS],
                                   token_ids={self.ids_input: tuple(ids)}, tokens={self.ids_input: tokens},
                                   notices=(), outputs=outputs)
