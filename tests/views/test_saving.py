"""Saving what you see: a view as PNG and SVG, the attention arrays with their tokens as .npz."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage

from explorer.core.result import StackAttention
from explorer.core.saving import load_npz, save_npz
from explorer.ui.render import save_image, save_png, save_svg
from explorer.ui.views import HeadView, MatrixView, ModelView

DRAWN = {"path", "polyline", "polygon", "line", "rect", "image", "text"}


@pytest.mark.parametrize("view_class", [HeadView, MatrixView, ModelView])
def test_png_has_the_picture(view_class, selection, hand_stacks, show, tmp_path):
    view = show(view_class(selection), 500, 400)
    selection.set_stacks(hand_stacks)
    selection.set_token(1)
    path = save_png(view, tmp_path / "view.png", scale=2)
    image = QImage(str(path))
    assert (image.width(), image.height()) == (2 * view.width(), 2 * view.height())
    pixels = np.frombuffer(image.convertToFormat(QImage.Format.Format_RGB32).constBits(), dtype=np.uint32)
    assert len(np.unique(pixels)) > 20  # heatmap colours, lines and text, not a blank page


@pytest.mark.parametrize("view_class", [HeadView, MatrixView, ModelView])
def test_svg_parses_and_draws(view_class, selection, hand_stacks, show, tmp_path):
    view = show(view_class(selection), 500, 400)
    selection.set_stacks(hand_stacks)
    selection.set_token(1)
    path = save_svg(view, tmp_path / "view.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    tags = [element.tag.rsplit("}", 1)[-1] for element in root.iter()]
    assert sum(tag in DRAWN for tag in tags) > 10, sorted(set(tags))


def test_save_image_goes_by_suffix(selection, hand_stacks, show, tmp_path):
    view = show(MatrixView(selection), 300, 300)
    selection.set_stacks(hand_stacks)
    assert save_image(view, tmp_path / "a.PNG").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in save_image(view, tmp_path / "a.svg").read_text()
    with pytest.raises(ValueError, match=".png or .svg"):
        save_image(view, tmp_path / "a.jpg")
    with pytest.raises(OSError, match="could not write"):
        save_image(view, tmp_path / "missing" / "a.svg")


@pytest.mark.slow  # exports an untrained BERT and runs it (once per session)
def test_npz_round_trips_arrays_and_tokens(bert_run, hand_stacks, tmp_path):
    stacks = {"encoder": bert_run.stack, "decoder": hand_stacks["decoder"], "cross": hand_stacks["cross"]}
    loaded = load_npz(save_npz(tmp_path / "attention.npz", stacks))
    assert list(loaded) == list(stacks)
    for name, stack in stacks.items():
        got = loaded[name]
        assert got.name == name
        assert got.attentions.dtype == stack.attentions.dtype
        assert np.array_equal(got.attentions, stack.attentions)
        assert got.query_tokens == stack.query_tokens
        assert got.key_tokens == stack.key_tokens
        assert got.causal == stack.causal
        if stack.key_mask is None:
            assert got.key_mask is None
        else:
            assert np.array_equal(got.key_mask, stack.key_mask)


def test_npz_takes_one_stack_and_odd_tokens(tmp_path):
    tokens = ("", "héllo", "##ing", "[CLS]", "🙂")
    stack = StackAttention("encoder", np.eye(5, dtype=np.float32)[None, None], tokens, tokens)
    loaded = load_npz(save_npz(tmp_path / "one.npz", stack))
    assert loaded["encoder"].query_tokens == tokens
    assert (tmp_path / "one.npz").exists()  # the name as given, no second suffix
