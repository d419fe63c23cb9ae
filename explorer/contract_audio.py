"""The contract's audio input: how a speech model's encoder hears a recording (Whisper's log-mel
spectrogram). Part of the contract (explorer.contract re-exports it); standard library only.

A recording is resampled to `sampling_rate`, cut or padded with silence to `samples`, and turned into
`mel_bins` log-mel energies per hop of `hop_length` samples (explorer.core.audio computes them as
transformers' WhisperFeatureExtractor does): the model's `input_features` [batch, mel_bins, frames].
Every `frames_per_position` frames give one encoder position, the keys of the encoder and cross stacks."""

from __future__ import annotations

from dataclasses import dataclass

INPUT_FEATURES = "input_features"


@dataclass(frozen=True)
class AudioSpec:
    sampling_rate: int  # samples per second the model hears (Whisper: 16,000)
    n_fft: int  # the STFT window, in samples (Whisper: 400, 25 ms)
    hop_length: int  # samples between frames (Whisper: 160, 10 ms)
    mel_bins: int  # mel filters, from 0 Hz to half the sampling rate, Slaney's scale and norm
    frames: int  # mel frames the encoder takes, whatever the recording's length (Whisper: 3,000, 30 s)
    frames_per_position: int = 2  # Whisper's second convolution has stride 2

    @property
    def samples(self) -> int:
        """The recording's length as the model takes it: longer ones are cut, shorter ones padded."""
        return self.frames * self.hop_length

    @property
    def seconds(self) -> float:
        return self.samples / self.sampling_rate

    @property
    def positions(self) -> int:
        return self.frames // self.frames_per_position

    @property
    def position_seconds(self) -> float:
        """How long one encoder position lasts (Whisper: 20 ms)."""
        return self.frames_per_position * self.hop_length / self.sampling_rate


def audio_spec_from(data: object) -> AudioSpec:
    """The metadata's `audio` object as an AudioSpec; ValueError naming the field that is wrong."""
    if data is None:
        raise ValueError("a speech-seq2seq model needs its 'audio' spec")
    if not isinstance(data, dict):
        raise ValueError("'audio' must be an object")
    values = {}
    for name in ("sampling_rate", "n_fft", "hop_length", "mel_bins", "frames", "frames_per_position"):
        value = data.get(name, 2 if name == "frames_per_position" else None)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"audio: field {name!r} must be a positive whole number, got {value!r}")
        values[name] = value
    spec = AudioSpec(**values)
    if spec.frames % spec.frames_per_position:
        raise ValueError(f"audio: {spec.frames} frames do not split into positions of {spec.frames_per_position}")
    return spec


def audio_position_names(spec: AudioSpec) -> tuple[str, ...]:
    """Names for the encoder's positions: the time each begins at ("0.00s", "0.02s", ...)."""
    step = spec.position_seconds
    return tuple(f"{i * step:.2f}s" for i in range(spec.positions))
