"""Typing runs the model off the GUI thread; the views hold exactly what ONNX Runtime returned."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from explorer import contract
from explorer.core.state.selection import FROM, TO
from explorer.core.text import TextEncoder
from explorer.shared import images
from explorer.ui import workspace as workspace_module
from explorer.ui.workspace import DEBOUNCE_MS


def up_to_date(view):
    """A view in a background tab draws when shown; bring it up to date to read what it holds."""
    view.refresh()
    return view


def _reference_attention(path, ids: tuple[int, ...]) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"input_ids": np.asarray(ids, np.int64)[None], "attention_mask": np.ones((1, len(ids)), np.int64)}
    return session.run(["attentions.encoder"], feeds)[0][:, 0]  # (layers, heads, T, T)


def test_typing_runs_after_a_pause_and_draws_what_onnx_runtime_returns(qtbot, window, bert_path, wait_for_result):
    window.open_path(bert_path, "a")
    wait_for_result(window)
    workspace = window.workspace
    workspace.text_box.clear()
    requests = []
    request = workspace.runs.request
    workspace.runs.request = lambda job: requests.append(job) or request(job)
    text = "apple orange"
    with qtbot.waitSignal(workspace.result_shown, timeout=10_000):
        qtbot.keyClicks(workspace.text_box, text)
    qtbot.wait(2 * DEBOUNCE_MS)  # any run still pending would land now
    encoded = TextEncoder(window.model.meta.tokenizer).encode(text)
    result = workspace.result
    assert result.token_ids["input_ids"] == encoded.ids
    assert len(requests) < len(text)  # runs wait for a pause in the typing, not one per key

    expected = _reference_attention(bert_path, encoded.ids)
    selection = window.workspace.selection
    np.testing.assert_array_equal(selection.stacks["encoder"].attentions, expected)
    matrix_view = up_to_date(window.workspace.views.views["matrix"])
    np.testing.assert_array_equal(matrix_view.matrix, expected[selection.layer, selection.head])


def test_only_the_newest_request_is_drawn(window, bert_path, wait_for_result):
    window.open_path(bert_path, "first")
    wait_for_result(window)
    drawn = []
    window.workspace.result_shown.connect(drawn.append)
    for text in ("one", "one two", "one two three"):
        window.workspace.set_text(text)
        window.workspace.request_run()  # no pause between requests: the earlier ones are stale
    result = wait_for_result(window)
    final = TextEncoder(window.model.meta.tokenizer).encode("one two three").tokens
    assert result.tokens["input_ids"] == final
    assert all(r.tokens["input_ids"] == final for r in drawn)


def test_clicking_a_token_focuses_it_in_the_views(window, bert_path, wait_for_result):
    window.open_path(bert_path, "the cat sat")
    result = wait_for_result(window)
    strip = window.workspace.strips["input_ids"]
    strip.click(2)
    selection = window.workspace.selection
    assert (selection.token, selection.direction) == (2, FROM)
    assert strip.current() == 2
    head_view = up_to_date(window.workspace.views.views["head"])
    attention = result.stacks["encoder"].attentions[selection.layer]
    assert head_view.lines.keys() == selection.visible_heads and head_view.lines
    for head, lines in head_view.lines.items():  # the lines drawn are token 2's row of each visible head
        assert set(lines.query.tolist()) == {2}
        np.testing.assert_array_equal(lines.weight, attention[head, 2, lines.key])


def test_shift_clicking_strip_tokens_chooses_a_set_in_the_views(qtbot, window, bert_path, wait_for_result):
    window.open_path(bert_path, "the cat sat on the mat")
    wait_for_result(window)
    strip = window.workspace.strips["input_ids"]
    window.show()
    qtbot.waitExposed(window)
    left, plain, shift = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier
    qtbot.mouseClick(strip.viewport(), left, plain, strip.token_position(1))
    qtbot.mouseClick(strip.viewport(), left, shift, strip.token_position(3))
    selection = window.workspace.selection
    assert selection.chosen == {1, 3} and selection.direction == FROM
    assert strip.chosen() == {1, 3}
    qtbot.mouseClick(strip.viewport(), left, plain, strip.token_position(2))  # a plain click: one token again
    assert selection.chosen == frozenset() and strip.chosen() == frozenset()


def test_clicking_a_head_thumbnail_opens_it_everywhere(qtbot, window, bert_path, wait_for_result):
    window.open_path(bert_path, "the cat sat")
    result = wait_for_result(window)
    views = window.workspace.views
    views.show_view("model")
    window.show()
    qtbot.waitExposed(window)
    model_view = views.views["model"]
    layer, head = 1, 3
    point = model_view.canvas.mapFromScene(model_view.cell_center(layer, head))
    qtbot.mouseClick(model_view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    selection = window.workspace.selection
    assert (selection.layer, selection.head) == (layer, head)
    matrix_view, head_view = up_to_date(views.views["matrix"]), up_to_date(views.views["head"])
    np.testing.assert_array_equal(matrix_view.matrix, result.stacks["encoder"].attentions[layer, head])
    assert head_view.lines.keys() == {head}  # the head view draws the opened head alone


def test_seq2seq_shows_source_and_target_and_a_source_token_focuses_the_cross_keys(
    window, transformer_path, wait_for_result
):
    window.open_path(transformer_path, "1 may 2001")
    result = wait_for_result(window)
    workspace = window.workspace
    assert set(workspace.strips) == {contract.SRC_IDS, contract.TGT_IDS}
    assert workspace.output_label.text().startswith("<b>Output:</b>")
    assert workspace.strips[contract.TGT_IDS].tokens()[0][0] == window.model.meta.special_tokens["bos"]

    selection = workspace.selection
    selection.set_stack("cross")
    workspace.strips[contract.SRC_IDS].click(1)  # a source token is a key of the cross stack
    assert (selection.stack_name, selection.token, selection.direction) == ("cross", 1, TO)
    assert workspace.strips[contract.SRC_IDS].current() == 1
    assert workspace.strips[contract.TGT_IDS].current() is None
    np.testing.assert_array_equal(selection.stack.attentions, result.stacks["cross"].attentions)

    selection.set_stack("decoder")
    workspace.strips[contract.SRC_IDS].click(0)  # the decoder has no source tokens: show the encoder
    assert (selection.stack_name, selection.token) == ("encoder", 0)


def test_an_image_model_opens_on_a_clear_drop_an_image_state(window, vit_path, monkeypatch):
    monkeypatch.setattr(workspace_module, "sample_images", lambda: [])
    assert window.open_path(vit_path)
    assert not window.workspace.showing_views()
    assert "image" in window.workspace.state_message.text()
    assert window.model_panel.sections["Model"]["Kind"] == "vit-classifier"


def test_an_image_model_runs_on_a_sample_image_where_one_is_installed(
    window, vit_path, tmp_path, monkeypatch, wait_for_result
):
    picture = QImage(24, 20, QImage.Format.Format_RGB888)
    picture.fill(QColor(200, 40, 10))
    sample = tmp_path / "red.png"
    assert picture.save(str(sample))
    monkeypatch.setattr(workspace_module, "sample_images", lambda: [sample])
    window.open_path(vit_path)
    result = wait_for_result(window)

    spec = window.model.meta.image
    pixels = images.preprocess(np.full((20, 24, 3), (200, 40, 10), np.uint8), spec)
    session = ort.InferenceSession(str(vit_path), providers=["CPUExecutionProvider"])
    feeds = {"pixel_values": pixels, "patch_mask": np.ones((1, 1 + spec.num_patches), np.int64)}
    expected = session.run(["attentions.encoder"], feeds)[0][:, 0]
    np.testing.assert_allclose(window.workspace.selection.stacks["encoder"].attentions, expected, atol=1e-6)
    assert window.workspace.showing_views()
    assert "red.png" in window.workspace.output_label.text()
    assert window.model.meta.labels[int(result.logits.argmax())] in window.workspace.output_label.text()
