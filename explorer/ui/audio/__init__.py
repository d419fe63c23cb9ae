"""A speech model's recording: waveform, spectrogram and attention along its time axis."""

from explorer.ui.audio.page import AudioPage

__all__ = ["AudioPage"]
