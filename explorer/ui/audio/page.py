"""A speech model's recording along one time axis: its waveform, the log-mel spectrogram the model
hears, and under them the attention over the encoder's positions (where the focused word listens, or
what each moment receives). A click on any of the three focuses the moment there.

It draws the state model and forwards a person's actions to it, as the image page does: a recording
opened or dropped is `state.set_sound`, a click is `state.focus_token(input_features, position)`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from explorer import contract
from explorer.core import audio
from explorer.core.result import RunResult
from explorer.core.state.app_state import AppState
from explorer.core.state.runs import Sound
from explorer.core.state.selection import FROM
from explorer.ui.views.colors import BACKGROUND, heatmap

ENVELOPE_POINTS = 4000  # the waveform is drawn as this many min/max pairs, whatever its length
FILE_FILTER = "Recordings (" + " ".join(f"*.{s}" for s in audio.SUFFIXES) + ");;All files (*)"


def envelope(samples: np.ndarray, points: int = ENVELOPE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(indices, values): each of `points` stretches of the samples as its minimum then its maximum, so a
    long recording draws in a few thousand vertices and no peak is lost."""
    if len(samples) <= 2 * points:
        return np.arange(len(samples), dtype=np.float64), samples
    edges = np.linspace(0, len(samples), points + 1).astype(int)
    lows, highs = np.minimum.reduceat(samples, edges[:-1]), np.maximum.reduceat(samples, edges[:-1])
    x = np.repeat(edges[:-1], 2).astype(np.float64)
    return x, np.column_stack([lows, highs]).reshape(-1)


def heard_note(sound: Sound, spec: contract.AudioSpec) -> str:
    """What the model hears of the recording: "2.4 s at 44,100 Hz; the model hears 30.0 s at 16,000 Hz (the
    rest silence)"."""
    hears = f"the model hears {spec.seconds:.1f} s at {spec.sampling_rate:,} Hz"
    if sound.seconds > spec.seconds + 1e-9:
        rest = f"cut at {spec.seconds:.1f} s"
    elif sound.seconds < spec.seconds - 1e-9:
        rest = "the rest silence"
    else:
        rest = "all of it"
    return f"{sound.name}: {sound.seconds:.1f} s at {sound.rate:,} Hz; {hears} ({rest})"


class AudioPage(QWidget):
    message_changed = Signal(str)  # why a file could not be read ("" clears it)

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        state.shown_changed.connect(self._on_shown)
        state.selection.changed.connect(self._draw_attention)
        state.selection.stacks_changed.connect(self._draw_attention)

        self.open_button = QPushButton("Open recording…")
        self.open_button.setToolTip("Open a .wav, .flac, .ogg or .mp3 file (or drop one on the window)")
        self.open_button.clicked.connect(self.choose_files)
        self.note = QLabel("Drop a recording on the window, or open one.")
        self.caption = QLabel()  # what the attention curve shows
        self.caption.setStyleSheet("color: palette(mid);")
        header = QHBoxLayout()
        header.addWidget(self.open_button)
        header.addWidget(self.note, 1)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(BACKGROUND)
        self.plots.setMinimumHeight(240)
        self.plots.setMaximumHeight(330)  # the views below keep most of the window
        self.wave_plot = self.plots.addPlot(row=0, col=0)
        self.mel_plot = self.plots.addPlot(row=1, col=0)
        self.attention_plot = self.plots.addPlot(row=2, col=0)
        for plot, label in ((self.wave_plot, "wave"), (self.mel_plot, "mel"), (self.attention_plot, "attention")):
            plot.setLabel("left", label)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(64)  # the three time axes line up
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
        for plot in (self.wave_plot, self.mel_plot):
            plot.setXLink(self.attention_plot)
            plot.getAxis("bottom").setStyle(showValues=False)
        self.attention_plot.setLabel("bottom", "time", units="s")
        self.wave = self.wave_plot.plot(pen=pg.mkPen("#3d5a8a"))
        self.spectrogram = pg.ImageItem(axisOrder="row-major")
        self.spectrogram.setColorMap(heatmap())
        self.mel_plot.addItem(self.spectrogram)
        self.curve = self.attention_plot.plot(stepMode="center", fillLevel=0, brush=(220, 90, 40, 150),
                                              pen=pg.mkPen("#c0501f"))
        self.markers = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#2a8", width=2)) for _ in range(3)]
        for plot, marker in zip((self.wave_plot, self.mel_plot, self.attention_plot), self.markers, strict=True):
            plot.addItem(marker)
            marker.hide()
        self.plots.scene().sigMouseClicked.connect(self._on_click)
        QShortcut(QKeySequence("Ctrl+Shift+O"), self, self.choose_files, context=Qt.ShortcutContext.WindowShortcut)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.caption)
        self._drawn_sound: Sound | None = None

    @property
    def spec(self) -> contract.AudioSpec | None:
        model = self.state.model
        return model.meta.audio if model is not None else None

    # -- opening --------------------------------------------------------------------------------
    def reset(self) -> None:
        """A new model: no recording yet."""
        self._drawn_sound = None
        self.note.setText("Drop a recording on the window, or open one.")
        self.caption.clear()
        for item in (self.wave, self.curve):
            item.setData([], [])
        self.spectrogram.clear()
        for marker in self.markers:
            marker.hide()

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open a recording", "", FILE_FILTER)
        if paths:
            self.open_files([Path(p) for p in paths])

    def open_files(self, paths: list[Path], now: bool = False) -> bool:
        """Run the model on the first of `paths` that is a readable recording; say why the others are not.
        True when one was read (`now`: run on this thread, drawn before returning)."""
        spec = self.spec
        if spec is None:
            self.message_changed.emit("Open a speech model (an imported Whisper) first, then drop recordings on it.")
            return False
        problems = []
        for path in paths:
            try:
                samples, rate = audio.read_audio(path, max_seconds=spec.seconds)
            except audio.AudioError as exc:
                problems.append(str(exc))
                continue
            self.message_changed.emit(" ".join(problems))
            self.state.set_sound(Sound(Path(path).name, samples, rate, Path(path)), now=now)
            return True
        self.message_changed.emit(" ".join(problems))
        return False

    # -- drawing --------------------------------------------------------------------------------
    def _on_shown(self, result: RunResult) -> None:
        run, spec = self.state.run, self.spec
        if run is None or run.sound is None or spec is None:
            return
        if run.sound is not self._drawn_sound:
            self._draw_recording(run.sound, run.prepared, spec)
        self._draw_attention()

    def _draw_recording(self, sound: Sound, features: np.ndarray | None, spec: contract.AudioSpec) -> None:
        self._drawn_sound = sound
        self.note.setText(heard_note(sound, spec))
        x, y = envelope(sound.samples)
        self.wave.setData(x / sound.rate, y)
        if features is not None:  # (1, mel_bins, frames): what the model heard, low bins at the bottom
            self.spectrogram.setImage(features[0], autoLevels=True)
            self.spectrogram.setRect(QRectF(0, 0, spec.seconds, spec.mel_bins))
        self.attention_plot.setXRange(0, max(spec.seconds, 1e-3), padding=0)

    def _draw_attention(self) -> None:
        selection, spec, model = self.state.selection, self.spec, self.state.model
        if spec is None or model is None or selection.stack_name is None or self._drawn_sound is None:
            return
        values, caption = audio.attention_over_time(
            selection.stacks, model.meta.stacks, selection.stack_name, selection.layer, selection.head,
            selection.token, selection.direction == FROM)
        edges = np.arange(len(values) + 1) * spec.position_seconds
        self.curve.setData(edges, values)
        self.caption.setText(caption)
        self._mark(self._focused_position())

    def _focused_position(self) -> int | None:
        """The encoder position focused in the views, if the focus is on the recording."""
        if self.state.focused_input() != contract.INPUT_FEATURES:
            return None
        return self.state.selection.token

    def _mark(self, position: int | None) -> None:
        for marker in self.markers:
            marker.setVisible(position is not None)
            if position is not None:
                marker.setValue((position + 0.5) * self.spec.position_seconds)

    def _on_click(self, event) -> None:
        spec = self.spec
        if spec is None or self._drawn_sound is None or self.state.shown is None:
            return
        for plot in (self.wave_plot, self.mel_plot, self.attention_plot):
            if plot.sceneBoundingRect().contains(event.scenePos()):
                seconds = plot.vb.mapSceneToView(event.scenePos()).x()
                position = int(seconds // spec.position_seconds)
                if 0 <= position < spec.positions:
                    self.state.focus_token(contract.INPUT_FEATURES, position)
                return
