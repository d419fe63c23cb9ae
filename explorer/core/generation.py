"""A decoder language model writing on from its prompt, one token at a time: `next`, `back`,
`run_to_end`, greedy or sampled (temperature, top-k, top-p, seed: the same seed gives the same text).

Each step's result is the model's run on the prompt and the tokens generated so far; its last
row is the newest token's attention over everything before it, and its last logits choose the
next token. A model with a key-value cache runs only the newest token each step
(explorer.core.kv_cache); one without runs the whole sequence again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from explorer.core.decoding import Stepper
from explorer.core.errors import RunError
from explorer.core.kv_cache import CachedSequence
from explorer.core.masking import TokenEdits
from explorer.core.predictions import Sampling, sampling_distribution
from explorer.core.result import RunResult
from explorer.core.text import Encoded

if TYPE_CHECKING:
    from explorer.core.runner import Runner

MAX_NEW_TOKENS = 32  # a step-by-step look, not a novel; the model's max positions may stop it sooner


def choose(logits: np.ndarray, sampling: Sampling, step: int) -> int:
    """The next token from a (vocab,) row of logits: the most likely, or drawn from the shown
    distribution with a generator seeded by (seed, step), so that going back and on again, or
    starting over with the same seed, draws the same token."""
    if sampling.greedy:
        return int(np.argmax(logits))
    probabilities = sampling_distribution(logits, sampling)
    return int(np.random.default_rng((sampling.seed, step)).choice(len(probabilities), p=probabilities))


class TextGenerator(Stepper):
    """`steps[i]` is the run on the prompt and the first i + 1 generated tokens."""

    def __init__(
        self,
        runner: Runner,
        text: str,
        head_masks: dict[str, np.ndarray] | None = None,
        edits: Mapping[str, TokenEdits] | None = None,
        sampling: Sampling | None = None,
        max_new_tokens: int = MAX_NEW_TOKENS,
        prompt_run: RunResult | None = None,  # the run on the prompt with these head masks and edits, if made
    ):
        meta = runner.model.meta
        self.runner, self.head_masks, self.sampling = runner, head_masks, sampling or Sampling()
        self.ids_input = meta.sequence_inputs[0][0]
        self.encoder = runner.encoders[self.ids_input]
        prompt, self.prompt_mask = runner.encode(self.ids_input, text, edits)  # hidden keys stay hidden
        self.prompt: tuple[int, ...] = prompt.ids
        eos = meta.special_tokens.get("eos")
        self.eos = None if eos is None else self.encoder.token_to_id(eos)
        limit = self.encoder.max_positions or len(self.prompt) + max_new_tokens
        self.max_len = min(len(self.prompt) + max_new_tokens, limit)
        self.generated: list[int] = []
        self.steps: list[RunResult] = []
        self._prompt_run = prompt_run
        self._cached: CachedSequence | None = None  # made with the prompt's run, where the model caches

    @property
    def target(self) -> list[int]:
        """The whole sequence so far: the prompt, then what was generated."""
        return [*self.prompt, *self.generated]

    @property
    def new_from(self) -> int:
        """Where the generated tokens begin in `target`."""
        return len(self.prompt)

    @property
    def done(self) -> bool:
        ended = bool(self.generated) and self.generated[-1] == self.eos
        return ended or len(self.target) >= self.max_len

    @property
    def written(self) -> list[int]:
        return self.generated

    def _run(self, ids: list[int]) -> RunResult:
        tokens = tuple(self.encoder.id_to_token(i) for i in ids)
        mask = np.concatenate([self.prompt_mask, np.ones(len(ids) - len(self.prompt), np.int64)])
        return self.runner.run_sequences({self.ids_input: Encoded(tuple(ids), tokens, len(ids))},
                                         {self.ids_input: mask}, self.head_masks)

    def next(self) -> RunResult | None:
        """One more token; None when generation is already done."""
        if self.done:
            return None
        if self.steps:
            chooser = self.steps[-1]
        else:
            self._prompt_run = self._prompt_run or self._run(list(self.prompt))
            if not all(stack.complete for stack in self._prompt_run.stacks.values()):
                # each step shows the whole sequence's attention, which a long input does not hold
                raise RunError(f"This text is too long to generate from step by step ({len(self.prompt):,} "
                               "tokens): its full attention would not fit in memory. Shorten it to generate.")
            if self._cached is None and self.runner.model.meta.kv_cache:
                self._cached = CachedSequence(self.runner, self._prompt_run, self.prompt_mask, self.max_len)
            chooser = self._prompt_run
        self.generated.append(choose(chooser.logits[-1], self.sampling, len(self.generated)))
        result = self._step()
        self.steps.append(result)
        return result

    def _step(self) -> RunResult:
        """The run on the target, the newest token now in it: one cached token, or all of them."""
        if self._cached is None:
            return self._run(self.target)
        outputs = self._cached.step(self.generated[-1], self.head_masks)
        return self._cached.result(self.target, tuple(self.tokens()), outputs)

    def back(self) -> None:
        if self.steps and self._cached is not None:
            self._cached.back()
        super().back()

    def tokens(self) -> list[str]:
        return [self.encoder.id_to_token(i) for i in self.target]

    def text(self) -> str:
        """The generated text (the prompt left out)."""
        return self.encoder.decode(tuple(self.generated))
