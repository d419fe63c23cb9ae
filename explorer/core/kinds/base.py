"""One kind of model as the app sees it: what it is fed, how a run goes, what "before" means for
it, what it answers, and which parts of the window apply. Each kind is one module of this package,
registered in `explorer.core.kinds`; the state model and the widgets look the kind up instead of
comparing kind names.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from explorer import contract
from explorer.core.state.runs import Inputs, Outcome

if TYPE_CHECKING:
    from explorer.core.decoding import Stepper
    from explorer.core.predictions import Sampling
    from explorer.core.result import RunResult
    from explorer.core.runner import Runner

SAMPLE_TEXT = "The cat sat on the mat because it was tired."


class Kind:
    """The behaviour every kind shares; a kind's module overrides what differs."""

    name: str = ""  # the contract's kind
    title: str = ""  # what a person calls it: "masked language model"
    takes_images = False  # fed pixels (a picture and hidden patches), not text
    takes_audio = False  # fed a recording (its log-mel frames), not text
    steps = False  # decodes step by step (Next / Back / Run to end)
    shows_output = False  # a one-line answer above the views (a translation, a class)
    predicts_next = False  # a decoder LM: the next token's distribution, at the end or any token
    sample_text: str | None = SAMPLE_TEXT  # what a freshly opened model of this kind runs on
    placeholder = "Type a sentence…"
    empty_hint = ""  # instead of the views before any input, where the kind needs one first

    @property
    def spec(self) -> contract.KindSpec:
        return contract.KIND_SPECS[self.name]

    def editable(self, ids_input: str) -> bool:
        """Whether a person may hide or [MASK] this sequence's tokens (not a model's own output)."""
        return True

    # -- running --------------------------------------------------------------------------------
    def run_text(self, runner: Runner, text: str, head_masks, edits, rows=None) -> RunResult:
        """Tokenize `text` (with `edits`) and run; the seq2seq kind translates first. `rows`: per stack,
        the query positions a long input keeps exactly (explorer.core.long_path)."""
        ids_input = self.spec.sequences[0][0]
        encoded, attention_mask = runner.encode(ids_input, text, edits)
        return runner.run_sequences({ids_input: encoded}, {ids_input: attention_mask}, head_masks, rows=rows)

    def waits(self, inputs: Inputs) -> bool:
        """Whether there is nothing to run yet: an image model without a picture, say."""
        return False

    def prepare(self, runner: Runner, inputs: Inputs) -> np.ndarray | None:
        """What the model is fed besides text, made once per input: an image model's pixel values."""
        return None

    def run(self, runner: Runner, inputs: Inputs, pixel_values: np.ndarray | None = None) -> RunResult:
        """One run of `inputs`. Text goes through `runner.run_text` (the one entry point for text)."""
        masks = inputs.head_mask_feeds()
        extra = {"edits": inputs.edits} if inputs.edits else {}
        if inputs.rows:
            extra["rows"] = inputs.rows
        return runner.run_text(inputs.text, masks, **extra)  # the plain call: stand-ins for run_text take neither

    def before(self, inputs: Inputs) -> Inputs:
        """The inputs of the run this one is compared with: the same with every head kept."""
        return dataclasses.replace(inputs, head_masks=None)

    # -- what it answered -------------------------------------------------------------------------
    def outcome(self, runner: Runner, inputs: Inputs, result: RunResult, baseline: RunResult | None) -> Outcome:
        """The kind's readout of a run and, where it was altered, of its baseline."""
        return Outcome()

    def stepper(self, runner: Runner, inputs: Inputs, sampling: Sampling, shown: RunResult | None = None) -> Stepper:
        """What steps through the output of `inputs`; `shown` is the run of `inputs` on screen, where
        the stepper can start from it instead of running the model on them again."""
        raise NotImplementedError(f"a {self.name} model does not decode step by step")

    def output_while_stepping(self, runner: Runner, decoder: Stepper) -> tuple[tuple[str, str], ...]:
        return ()
