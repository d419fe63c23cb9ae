"""Greedy decoding of a seq2seq model, in one go or one step at a time.

Both ways share `next_token_id` and `finished`, so decoding step by step gives the same
target as decoding in one go by construction. `greedy_decode` asks the graph for the logits
only; `GreedyDecoder` keeps every step's whole run, so that the views can show the
attention the model had when it chose each token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from explorer import contract
from explorer.core.masking import TokenEdits
from explorer.core.result import RunResult

if TYPE_CHECKING:
    from explorer.core.runner import Runner

# A run of the graph: feeds in, every output asked for by name out.
RunGraph = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
RunTarget = Callable[[list[int]], dict[str, np.ndarray]]  # the target so far -> the graph's outputs


def next_token_id(logits: np.ndarray) -> int:
    """The most likely token after the target so far; `logits` is (T, vocab) of one target."""
    return int(logits[-1].argmax())


def finished(target: list[int], eos: int, max_len: int) -> bool:
    """`target` from its start token has ended: with a written eos (BART's decoder starts from eos itself)."""
    return (len(target) > 1 and target[-1] == eos) or len(target) >= max_len


def seq2seq_feeds(src_ids: np.ndarray, src_mask: np.ndarray, target: list[int]) -> dict[str, np.ndarray]:
    """Feeds for one step: `src_ids`, `src_mask` (S,) int64 and the target so far."""
    tgt = np.asarray(target, np.int64)[None, :]  # (1, T)
    return {
        contract.SRC_IDS: src_ids[None, :], contract.SRC_MASK: src_mask[None, :],  # (1, S)
        contract.TGT_IDS: tgt, contract.TGT_MASK: np.ones_like(tgt),  # (1, T) the causal mask is the model's
    }


def greedy_decode(
    run_graph: RunGraph,
    src_ids: tuple[int, ...],
    bos: int,
    eos: int,
    max_len: int,
    src_mask: np.ndarray | None = None,
) -> list[int]:
    """Target ids from `bos`, taking the most likely next token until `eos` or `max_len` tokens.
    `src_mask` (S,) hides source keys where 0; default all ones."""
    src = np.asarray(src_ids, np.int64)  # (S,)
    mask = np.ones_like(src) if src_mask is None else np.asarray(src_mask, np.int64)  # (S,)
    return decode_greedily(lambda target: run_graph(seq2seq_feeds(src, mask, target)), bos, eos, max_len)


def decode_greedily(run_on: RunTarget, bos: int, eos: int, max_len: int) -> list[int]:
    """Target ids from `bos`, each the most likely after the ones before (`run_on(target)` gives the
    graph's outputs for the target so far), until `eos` or `max_len` tokens."""
    target = [bos]
    while not finished(target, eos, max_len):
        target.append(next_token_id(run_on(target)[contract.LOGITS][0]))  # logits (1, T, vocab)
    return target


class Stepper:
    """What the state model steps through, a token at a time: `next` runs the model once more and
    writes one token, `back` forgets the newest, `run_to_end` goes on until `done`. `steps[i]` is
    the run of step i; `tokens()` is the sequence so far, the model's own from `new_from` on, in the
    sequence `ids_input`; `text()` what the model wrote."""

    ids_input: str
    new_from: int
    steps: list[RunResult]

    @property
    def done(self) -> bool:
        raise NotImplementedError

    @property
    def written(self) -> list[int]:
        """The list each step appends its token to (and `back` takes it from)."""
        raise NotImplementedError

    @property
    def current(self) -> RunResult | None:
        """The newest step's run, or None before the first step."""
        return self.steps[-1] if self.steps else None

    def next(self) -> RunResult | None:
        raise NotImplementedError

    def back(self) -> None:
        """Forget the newest token (nothing before the first step)."""
        if self.steps:
            self.steps.pop()
            self.written.pop()

    def run_to_end(self) -> None:
        while self.next() is not None:
            pass

    def tokens(self) -> list[str]:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError


class GreedyDecoder(Stepper):
    """Greedy decoding a step at a time: `next`, `back`, `run_to_end`.

    `target` is the output so far, from bos. `steps[i]` is the run on `target[: i + 1]`
    that chose `target[i + 1]`: its last decoder and cross rows are what the model looked
    at when it chose that token.
    """

    def __init__(
        self,
        runner: Runner,
        text: str,
        head_masks: dict[str, np.ndarray] | None = None,
        edits: Mapping[str, TokenEdits] | None = None,
    ):
        self.runner = runner
        self.head_masks = head_masks
        self.source, self.source_mask = runner.encode(contract.SRC_IDS, text, edits)
        self.bos, self.eos = runner.bos_eos()
        self.max_len = runner.target_max_len()
        self.target: list[int] = [self.bos]
        self.steps: list[RunResult] = []

    ids_input = contract.TGT_IDS  # the sequence it writes
    new_from = 1  # the target's tokens after bos are the model's

    @property
    def done(self) -> bool:
        return finished(self.target, self.eos, self.max_len)

    @property
    def written(self) -> list[int]:
        return self.target

    def next(self) -> RunResult | None:
        """Choose one more token; None when decoding is already done."""
        if self.done:
            return None
        result = self.run_on(self.target)
        self.target.append(next_token_id(result.logits))  # logits (T, vocab)
        self.steps.append(result)
        return result

    def run_on(self, target: list[int]) -> RunResult:
        """The whole run on the source and `target`, which chooses the token after it."""
        return self.runner.run_target(self.source, self.source_mask, target, self.head_masks)

    def tokens(self) -> list[str]:
        return [self.runner.encoders[contract.TGT_IDS].id_to_token(i) for i in self.target]

    def text(self) -> str:
        """The output so far as text."""
        return self.runner.decode(contract.TGT_IDS, tuple(self.target))
