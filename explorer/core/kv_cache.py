"""A decoder writing one token at a time with its key-value cache (contract `kv_cache`).

The prompt runs once, whole; each later step feeds only the newest token and the keys and values
the step before returned (`present.*` fed back as `past_key_values.*`), so a step costs one token's
work instead of the whole sequence's. The views still get the whole sequence: a causal model's
earlier rows do not change when a token is added (the new key is in their future, exactly 0), so
the sequence's attention is the previous one with the new row below it. Each output that grows
lives in one buffer sized for the longest sequence, and every step's result is a view of its
first n rows: going back costs nothing, and 32 steps hold one copy of the attention, not 32.

The app runs a cached decoder's text with room to grow (`Runner.run_sequences(room=...)`): masked
padding after the prompt, which a causal model's prompt positions never see, so ONNX Runtime
returns every output already the size the generation will reach; the run shows views of its first
T tokens, and the first step takes those arrays as its buffers instead of copying the prompt's
attention into new ones (for GPT-2 small at 1,024 tokens that copy was 0.9 GB and 0.4-3.8 s).
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


# Per output (batch item 0), every axis of tokens: the growing ones, and the keys, values and
# presents, which each step returns whole.
_TOKEN_AXES = {**_GROWING_AXES, "keys": (2,), "values": (2,), "present": (1,)}


def _growing_axes(output: str) -> tuple[int, ...] | None:
    return _GROWING_AXES.get(output.split(".")[0])


@dataclasses.dataclass(eq=False)
class Room:
    """A prompt run's growing outputs as ONNX Runtime made them, `capacity` tokens long: the buffers
    the first generation from that run grows into (a second one copies: the first writes in them)."""

    arrays: dict[str, np.ndarray]  # batch item 0
    capacity: int
    taken: bool = False


def cut_with_room(item: dict[str, np.ndarray], length: int) -> tuple[dict[str, np.ndarray], Room]:
    """Outputs of a run on `length` tokens and masked padding after them: each cut to the first
    `length` tokens (views), and the room of the growing ones."""
    cut = {}
    for name, value in item.items():
        index = [slice(None)] * value.ndim
        for axis in _TOKEN_AXES.get(name.split(".")[0], ()):
            index[axis] = slice(0, length)
        cut[name] = value[tuple(index)]
    grown = {name: value for name, value in item.items() if _growing_axes(name) is not None}
    return cut, Room(grown, item[contract.LOGITS].shape[0])


class _Buffer:
    """One output over the sequence so far, in an array with room for `capacity` tokens."""

    def __init__(self, first: np.ndarray, axes: tuple[int, ...], capacity: int, room: np.ndarray | None = None):
        """`first` (the prompt's) copied into a new array, or `room`, which holds it in its first tokens
        already: a run with masked padding after them, where a causal row's future keys are exactly 0."""
        self.axes, self.length = axes, first.shape[axes[0]]
        if room is not None:
            self.array = room
            return
        shape = list(first.shape)
        for axis in axes:
            shape[axis] = capacity
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
        room = prompt_run.room
        take = room is not None and not room.taken and room.capacity >= capacity
        if take:
            room.taken = True
        self.buffers = {name: _Buffer(value, axes, capacity, room.arrays[name] if take else None)
                        for name, value in prompt_run.outputs.items() if (axes := _growing_axes(name)) is not None}

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
                                   notices=(), outputs=outputs, room=None)
