"""An encoder–decoder: the source is typed, the target is the model's own greedy output."""

from __future__ import annotations

from explorer import contract
from explorer.core.decoding import GreedyDecoder, greedy_decode
from explorer.core.kinds.base import Kind
from explorer.core.state.runs import Outcome


class Seq2Seq(Kind):
    name = "seq2seq"
    title = "encoder–decoder"
    steps = True
    shows_output = True
    sample_text = "the 27th of November, 2026"  # the bundled Transformer turns dates into ISO dates
    placeholder = "Type a sentence to translate…"

    def editable(self, ids_input):
        return ids_input != contract.TGT_IDS  # the target is the model's own output: nothing to toggle

    def run_text(self, runner, text, head_masks, edits, rows=None):
        """Translate greedily, then run once more on the whole target, so that all three stacks
        describe the same pair of sentences."""
        source, source_mask = runner.encode(contract.SRC_IDS, text, edits)
        bos, eos = runner.bos_eos()
        target_ids = greedy_decode(
            lambda feeds: runner.run_graph(feeds, head_masks, outputs=[contract.LOGITS]),
            source.ids, bos, eos, runner.target_max_len(), source_mask,
        )
        return runner.run_target(source, source_mask, target_ids, head_masks, rows)

    def outcome(self, runner, inputs, result, baseline):
        def translation(run):
            return runner.decode(contract.TGT_IDS, run.token_ids.get(contract.TGT_IDS, ()))

        return Outcome(output=(("Output", translation(result)),),
                       baseline_output=translation(baseline) if baseline else None)

    def stepper(self, runner, inputs, sampling, shown=None):  # greedy: the date model has one right answer
        masks = inputs.head_mask_feeds()
        return GreedyDecoder(runner, inputs.text, masks, dict(inputs.edits))

    def output_while_stepping(self, runner, decoder):
        return (("Output so far", decoder.text()),)
