"""A Vision Transformer classifier: fed a picture, some of whose patches a person may hide."""

from __future__ import annotations

import dataclasses

import numpy as np

from explorer.core.errors import RunError
from explorer.core.kinds.base import Kind
from explorer.core.state.runs import Outcome
from explorer.shared import images


class ImageClassifier(Kind):
    name = "vit-classifier"
    title = "image classifier"
    takes_images = True
    shows_output = True
    sample_text = None
    empty_hint = "This is an image model: drop an image on the window to see its attention."

    def run_text(self, runner, text, head_masks, edits, rows=None):
        raise RunError("This is an image model: drop an image on the window to run it.")

    def waits(self, inputs):
        return inputs.picture is None

    def prepare(self, runner, inputs):
        """The picture as the model's image spec says: (1, C, H, W) pixel values."""
        if inputs.picture is None:
            raise RunError("Drop an image on the window to run the model.")
        return images.preprocess(inputs.picture.pixels, runner.model.meta.image)

    def run(self, runner, inputs, pixel_values=None):
        """`pixel_values` (1, C, H, W): the picture prepared (`prepare`)."""
        spec = runner.model.meta.image
        if pixel_values is None:
            pixel_values = self.prepare(runner, inputs)
        masks = inputs.head_mask_feeds()
        if inputs.hidden:
            return runner.run_pixels(pixel_values, head_masks=masks, patch_mask=images.patch_mask(inputs.hidden, spec))
        return runner.run_pixels(pixel_values, head_masks=masks) if masks else runner.run_pixels(pixel_values)

    def before(self, inputs):
        """Nothing hidden and every head kept."""
        return dataclasses.replace(inputs, head_masks=None, hidden=frozenset())

    def outcome(self, runner, inputs, result, baseline):
        labels = runner.model.meta.labels
        classes = tuple(images.top_classes(result.logits, labels))
        predicted = labels[int(np.argmax(result.logits))] if len(labels) == len(result.logits) else classes[0][0]
        return Outcome(
            output=(("Image", inputs.picture.name if inputs.picture else ""), ("predicted", predicted)),
            classes=classes,
            baseline_classes=tuple(images.top_classes(baseline.logits, labels)) if baseline else None,
        )
