"""A recording as a speech model hears it (the contract's AudioSpec): read a .wav/.flac file, make it
mono at the model's sampling rate, cut or pad it to the model's length, and compute Whisper's log-mel
spectrogram as transformers' WhisperFeatureExtractor does (numpy only):

    samples, rate = read_audio(path)                     # float32 mono, the file's own rate
    heard = fitted(resample(samples, rate, spec.sampling_rate), spec)
    features = log_mel(heard, spec)                      # (mel_bins, frames), the model's input_features[0]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from explorer import contract
from explorer.contract import AudioSpec

SUFFIXES = ("wav", "flac", "ogg", "mp3", "aiff", "aif")  # what libsndfile reads


class AudioError(ValueError):
    """A file that is not a recording the app can read; the message says which and why."""


def read_audio(path: str | Path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """The recording at `path` (its first `max_seconds`, where given: a model hears no more) as float32
    mono samples in [-1, 1] and its sampling rate."""
    import soundfile  # libsndfile, bundled with the wheel: WAV, FLAC, Ogg, MP3

    path = Path(path)
    try:
        frames = -1 if max_seconds is None else int(np.ceil(max_seconds * soundfile.info(str(path)).samplerate))
        samples, rate = soundfile.read(str(path), frames=frames, dtype="float32", always_2d=True)  # (n, channels)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{path.name} is not a recording this app can read ({exc}).") from None
    except OSError as exc:
        raise AudioError(f"{path.name} could not be read: {exc.strerror or exc}.") from None
    if samples.shape[0] == 0:
        raise AudioError(f"{path.name} holds no sound (0 samples).")
    return samples.mean(axis=1).astype(np.float32), int(rate)


def resample(samples: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling by the Fourier transform: the spectrum kept up to the lower Nyquist
    frequency, the length scaled by to_rate / rate."""
    if rate == to_rate:
        return samples.astype(np.float32, copy=False)
    length = max(1, round(len(samples) * to_rate / rate))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    kept = np.zeros(length // 2 + 1, complex)
    n = min(len(kept), len(spectrum))
    kept[:n] = spectrum[:n]
    return (np.fft.irfft(kept, length) * (length / len(samples))).astype(np.float32)


def fitted(samples: np.ndarray, spec: AudioSpec) -> np.ndarray:
    """The first `spec.samples` samples, padded with silence where the recording is shorter."""
    out = np.zeros(spec.samples, np.float32)
    n = min(len(samples), spec.samples)
    out[:n] = samples[:n]
    return out


def _hertz_to_mel(hertz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hertz = np.asarray(hertz, np.float64)
    linear = 3.0 * hertz / 200.0
    return np.where(hertz >= 1000.0, 15.0 + np.log(np.maximum(hertz, 1e-10) / 1000.0) * (27.0 / np.log(6.4)), linear)


def _mel_to_hertz(mels: np.ndarray) -> np.ndarray:
    linear = 200.0 * mels / 3.0
    return np.where(mels >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (mels - 15.0)), linear)


def mel_filters(spec: AudioSpec) -> np.ndarray:
    """(n_fft // 2 + 1, mel_bins) triangular filters from 0 Hz to half the sampling rate, each scaled to
    unit area (Slaney's norm), as transformers' mel_filter_bank(norm="slaney", mel_scale="slaney")."""
    fft_freqs = np.linspace(0, spec.sampling_rate // 2, spec.n_fft // 2 + 1)
    edges = _mel_to_hertz(np.linspace(_hertz_to_mel(0.0), _hertz_to_mel(spec.sampling_rate / 2), spec.mel_bins + 2))
    widths = np.diff(edges)
    slopes = edges[None, :] - fft_freqs[:, None]  # (bins, mel_bins + 2)
    down, up = -slopes[:, :-2] / widths[:-1], slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    return filters * (2.0 / (edges[2:] - edges[:-2]))[None, :]


def log_mel(samples: np.ndarray, spec: AudioSpec) -> np.ndarray:
    """(mel_bins, frames) float32: Whisper's features of `samples` (spec.samples of them, see `fitted`):
    the power of a centred STFT (periodic Hann window, reflected edges), the mel filters, log10,
    floored 8 below the maximum, then (x + 4) / 4."""
    half = spec.n_fft // 2
    padded = np.pad(samples.astype(np.float64), half, mode="reflect")
    count = 1 + (len(padded) - spec.n_fft) // spec.hop_length
    starts = np.arange(count)[:, None] * spec.hop_length + np.arange(spec.n_fft)[None, :]
    window = np.hanning(spec.n_fft + 1)[:-1]  # periodic
    power = np.abs(np.fft.rfft(padded[starts] * window, axis=1)) ** 2  # (count, bins)
    mel = np.maximum(power @ mel_filters(spec), 1e-10).T  # (mel_bins, count)
    log_spec = np.log10(mel)[:, :spec.frames]  # the last frame is dropped, as Whisper does
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def features(samples: np.ndarray, rate: int, spec: AudioSpec) -> np.ndarray:
    """(1, mel_bins, frames) float32: a recording of any rate and length as the model's input_features."""
    return log_mel(fitted(resample(samples, rate, spec.sampling_rate), spec), spec)[None]


def attention_over_time(stacks: dict, specs: dict[str, contract.StackSpec], stack_name: str, layer: int,
                        head: int | None, token: int | None, from_token: bool) -> tuple[np.ndarray, str]:
    """(positions,) attention over the recording's encoder positions, to draw along its time axis, and
    what it is. The shown stack where its keys are the recording (encoder, cross), else the cross
    attention: a focused query's row; else the attention each position receives, the mean over the
    queries (of layer `layer`, head `head` or the mean of its heads)."""
    name = stack_name if specs[stack_name].keys == contract.INPUT_FEATURES else "cross"
    matrix = stacks[name].head(layer, head)  # (queries, positions)
    queries_here = specs[name].queries == specs[stack_name].queries
    head_name = "mean of heads" if head is None else f"head {head}"
    where = f"{name} L{layer} {head_name}"
    if token is not None and from_token and queries_here and token < matrix.shape[0]:
        return matrix[token], f"where {stacks[name].query_tokens[token]!r} listens ({where})"
    return matrix.mean(axis=0), f"attention each moment receives, mean over the queries ({where})"
