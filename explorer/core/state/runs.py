"""What a run is fed and what it gave, as plain values the state model keeps and the widgets draw.

`Inputs` is everything a person set for one run (text and its token edits, or a picture and its
hidden patches, or a recording, and the head masks). `Run` is one finished run: its inputs, the model's result,
the baseline it is compared with (the kind says what "before" means) and the kind's readout of
both (`Outcome`), all computed off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.core.masking import TokenEdits
from explorer.core.predictions import MaskPrediction
from explorer.core.result import RunResult


@dataclass(frozen=True, eq=False)
class Picture:
    """One decoded image: a name to show and its (height, width, 3) uint8 pixels. Two pictures are
    the same picture only when they are the same object (their pixels are never compared)."""

    name: str
    pixels: np.ndarray
    path: Path | None = None  # None for a pasted image


@dataclass(frozen=True, eq=False)
class Sound:
    """One decoded recording: a name to show, its float32 mono samples and their rate per second. Two
    sounds are the same only when they are the same object (as pictures)."""

    name: str
    samples: np.ndarray
    rate: int
    path: Path | None = None

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


@dataclass(frozen=True)
class Inputs:
    """What one run is fed, besides the model."""

    text: str = ""
    edits: Mapping[str, TokenEdits] = field(default_factory=dict)  # per ids input: hidden keys and [MASK]s
    picture: Picture | None = None
    hidden: frozenset[int] = frozenset()  # patch numbers hidden as keys
    head_masks: Mapping[str, np.ndarray] | None = None  # per stack (layers, heads); None: every head kept
    sound: Sound | None = None  # a speech model's recording
    # per stack, the query positions the views want exactly where the input takes the long path
    rows: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def media(self) -> Picture | Sound | None:
        """The picture or recording the run is fed, where the kind takes one."""
        return self.picture if self.picture is not None else self.sound

    def head_mask_feeds(self) -> dict[str, np.ndarray] | None:
        """The head masks as the runner takes them (a dict per stack), or None with every head kept."""
        return None if self.head_masks is None else dict(self.head_masks)

    @property
    def key(self) -> tuple:
        """Equal for inputs that give the same run (arrays by value, the picture by identity)."""
        edits = tuple(sorted((name, e.hidden, e.masked) for name, e in self.edits.items() if e))
        heads = None if self.head_masks is None else tuple(
            (name, mask.tobytes()) for name, mask in sorted(self.head_masks.items()))
        rows = tuple(sorted((name, tuple(r)) for name, r in self.rows.items()))
        return self.text, edits, id(self.media), self.hidden, heads, rows


@dataclass(frozen=True)
class Outcome:
    """What the model made of the input, and of the baseline where the run is compared with one.
    Each kind fills what applies; the widgets show what is there."""

    output: tuple[tuple[str, str], ...] = ()  # (label, text) pairs for one line: a translation, a class
    predictions: tuple[MaskPrediction, ...] = ()  # at each [MASK]
    baseline_predictions: tuple[MaskPrediction, ...] = ()
    baseline_output: str | None = None  # the output before, where it differs from `output`'s run
    classes: tuple[tuple[str, float], ...] = ()  # an image classifier's top classes
    baseline_classes: tuple[tuple[str, float], ...] | None = None


@dataclass(frozen=True)
class Run:
    """One finished run: what it was fed, what it gave, and what it is compared with."""

    inputs: Inputs
    result: RunResult
    baseline: RunResult  # the same input as the kind's "before" (every head kept...); `result` when unaltered
    outcome: Outcome = Outcome()
    # What the kind's prepare made of the picture or recording: the model's pixel_values (1, C, H, W)
    # or input_features (1, mel_bins, frames).
    prepared: np.ndarray | None = None

    @property
    def pixel_values(self) -> np.ndarray | None:
        """(1, C, H, W): what an image model was fed."""
        return self.prepared if self.picture is not None else None

    @property
    def sound(self) -> Sound | None:
        return self.inputs.sound

    @property
    def altered(self) -> bool:
        """Whether the run differs from its baseline (heads ablated, patches hidden)."""
        return self.baseline is not self.result

    @property
    def picture(self) -> Picture | None:
        return self.inputs.picture

    @property
    def hidden(self) -> frozenset[int]:
        return self.inputs.hidden

    @property
    def head_masks(self) -> Mapping[str, np.ndarray] | None:
        return self.inputs.head_masks
