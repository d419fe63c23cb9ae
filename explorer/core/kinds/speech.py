"""A speech recognizer (Whisper): fed a recording, it writes what it hears, greedily and step by step.
The encoder's sequence is the recording's positions (20 ms each for Whisper), not text."""

from __future__ import annotations

from explorer import contract
from explorer.core import audio
from explorer.core.decoding import GreedyDecoder, decode_greedily
from explorer.core.errors import RunError
from explorer.core.kinds.base import Kind
from explorer.core.state.runs import Outcome


class SpeechDecoder(GreedyDecoder):
    """GreedyDecoder over a recording's features instead of a source text."""

    def __init__(self, runner, features, head_masks=None):
        self.runner, self.features, self.head_masks = runner, features, head_masks
        self.bos, self.eos = runner.bos_eos()
        self.max_len = runner.target_max_len()
        self.target = [self.bos]
        self.steps = []

    def run_on(self, target):
        return self.runner.run_speech(self.features, target, self.head_masks)


class SpeechToText(Kind):
    name = "speech-seq2seq"
    title = "speech recognizer"
    takes_audio = True
    steps = True
    shows_output = True
    sample_text = None
    empty_hint = "This is a speech model: drop a recording (.wav, .flac) on the window to see its attention."

    def editable(self, ids_input):
        return False  # the recording's frames and the model's own words: nothing to hide or [MASK]

    def run_text(self, runner, text, head_masks, edits, rows=None):
        raise RunError("This is a speech model: drop a recording (.wav, .flac) on the window to run it.")

    def waits(self, inputs):
        return inputs.sound is None

    def prepare(self, runner, inputs):
        """The recording as the model's input_features (1, mel_bins, frames)."""
        if inputs.sound is None:
            raise RunError("Drop a recording on the window to run the model.")
        return audio.features(inputs.sound.samples, inputs.sound.rate, runner.model.meta.audio)

    def run(self, runner, inputs, prepared=None):
        """Transcribe greedily, then run once more on the whole transcript, so that all three stacks
        describe the same recording and words."""
        features = self.prepare(runner, inputs) if prepared is None else prepared
        masks = inputs.head_mask_feeds()
        bos, eos = runner.bos_eos()
        target = decode_greedily(lambda so_far: runner.run_graph(runner.speech_feeds(features, so_far), masks,
                                                                 outputs=[contract.LOGITS]),
                                 bos, eos, runner.target_max_len())
        return runner.run_speech(features, target, masks)

    def outcome(self, runner, inputs, result, baseline):
        def transcript(run):
            return runner.decode(contract.TGT_IDS, run.token_ids.get(contract.TGT_IDS, ()))

        name = inputs.sound.name if inputs.sound else ""
        return Outcome(output=(("Recording", name), ("Heard", transcript(result))),
                       baseline_output=transcript(baseline) if baseline else None)

    def stepper(self, runner, inputs, sampling, shown=None):
        return SpeechDecoder(runner, self.prepare(runner, inputs), inputs.head_mask_feeds())

    def output_while_stepping(self, runner, decoder):
        return (("Heard so far", decoder.text()),)
