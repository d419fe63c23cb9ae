"""The text kinds with one sequence: a masked language model, a plain encoder, a decoder-only LM."""

from __future__ import annotations

from explorer import contract
from explorer.core.generation import MAX_NEW_TOKENS, TextGenerator
from explorer.core.kinds.base import Kind
from explorer.core.predictions import mask_predictions
from explorer.core.state.runs import Outcome


class Encoder(Kind):
    name = "encoder"
    title = "encoder"


class MaskedLanguageModel(Kind):
    name = "bert-mlm"
    title = "masked language model"
    # the bundled BERT read the English of the machine's documentation; it answers "file", "output"...
    sample_text = "The program reads the [MASK] and prints each line."

    def outcome(self, runner, inputs, result, baseline):
        """The top 5 at each [MASK], and the same with every head kept where heads are ablated."""
        mask = runner.mask_token()
        if mask is None:
            return Outcome()
        id_to_token = runner.encoders[contract.INPUT_IDS].id_to_token

        def at_masks(run):
            return tuple(mask_predictions(run.logits, run.token_ids.get(contract.INPUT_IDS, ()), mask[1], id_to_token))

        return Outcome(predictions=at_masks(result), baseline_predictions=at_masks(baseline) if baseline else ())


class DecoderLanguageModel(Kind):
    name = "decoder-lm"
    title = "decoder language model"
    predicts_next = True
    steps = True  # generation: Next / Back / Run to end

    def run_text(self, runner, text, head_masks, edits, rows=None):
        """With a key-value cache, the run has room for the tokens Next will add (kv_cache: no copy then)."""
        if runner.model.meta.kv_cache is None:
            return super().run_text(runner, text, head_masks, edits, rows)
        ids_input = self.spec.sequences[0][0]
        encoded, attention_mask = runner.encode(ids_input, text, edits)
        limit = runner.encoders[ids_input].max_positions
        room = MAX_NEW_TOKENS if limit is None else min(MAX_NEW_TOKENS, limit - len(encoded.ids))
        return runner.run_sequences({ids_input: encoded}, {ids_input: attention_mask}, head_masks, room=room, rows=rows)

    def stepper(self, runner, inputs, sampling, shown=None):
        return TextGenerator(runner, inputs.text, inputs.head_mask_feeds(), dict(inputs.edits), sampling,
                             prompt_run=shown)  # the prompt's run is the one on screen: not run again

    def output_while_stepping(self, runner, generator):
        return (("Generated", generator.text()),)
