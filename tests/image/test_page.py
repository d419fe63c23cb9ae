"""The image page: drops, messages, patch clicks, hidden patches, rollout, small multiples, top-5."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage

from explorer import contract
from explorer.shared import images
from explorer.shared.rollout import rollout


def _click(qtbot, canvas, scene_pos, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, modifier, canvas.mapFromScene(scene_pos))


def _ort_attention(vit_path, pixel_values, mask):
    session = ort.InferenceSession(str(vit_path), providers=["CPUExecutionProvider"])
    logits, attentions = session.run(
        [contract.LOGITS, contract.attention_output("encoder")],
        {contract.PIXEL_VALUES: pixel_values, contract.PATCH_MASK: mask},
    )
    return logits[0], attentions[:, 0]  # (classes,), (layers, heads, T, T)


@pytest.fixture
def opened(window, vit_path, pictures, settled, drop_files):
    """The ViT open and the first picture dropped and drawn."""
    assert window.open_path(vit_path)
    event, _ = drop_files(window, pictures["first"], pictures["second"])
    assert event.isAccepted()
    return settled(window)


def test_dropped_images_form_a_strip_and_the_first_runs(window, opened, pictures, settled):
    page = opened
    assert [p.name for p in page.strip.pictures()] == ["noise.png", "bars.png"]
    assert page.current.picture.name == "noise.png"
    np.testing.assert_array_equal(page.current.pixel_values, images.preprocess(page.current.picture.pixels, page.spec))
    page.strip.step(1)
    assert settled(window).current.picture.name == "bars.png"
    assert "bars.png" in window.workspace.output_label.text()


def test_a_text_file_and_a_truncated_png_give_messages_and_the_page_stays(window, opened, pictures, drop_files):
    page = opened
    shown = page.current
    drop_files(window, pictures["text"], pictures["truncated"])
    message = page.banner.text()
    assert page.banner.isVisibleTo(page)
    assert "notes.txt is not an image" in message and "broken.png" in message and "truncated" in message
    assert window.statusBar().currentMessage() == message
    assert page.current is shown and window.model is not None  # the image shown before is still there


def test_clicking_a_patch_shows_its_attention_row_exactly(qtbot, window, opened):
    page, selection = opened, window.workspace.selection
    patch = 5
    _click(qtbot, page.overlay.canvas, page.overlay.patch_center(patch))
    assert selection.token == patch + 1  # [CLS] is token 0
    attentions = page.current.result.stacks["encoder"].attentions  # (L, H, T, T)
    np.testing.assert_array_equal(page.overlay.values, attentions[0, 0, patch + 1, 1:])
    selection.open_head(2, None)  # layer 2, the mean of heads
    np.testing.assert_array_equal(page.overlay.values, attentions[2].mean(axis=0)[patch + 1, 1:])
    np.testing.assert_array_equal(page.heads.maps, attentions[2, :, patch + 1, 1:])  # one tile per head
    selection.set_token(0)  # [CLS]
    np.testing.assert_array_equal(page.overlay.values, attentions[2].mean(axis=0)[0, 1:])


def test_clicking_a_head_tile_chooses_that_head(qtbot, window, opened):
    page = opened
    heads = page.heads
    _click(qtbot, heads.canvas, heads.view_box.mapViewToScene(heads.tile_rect(1).center()))
    assert window.workspace.selection.head == 1


def test_alt_click_hides_a_patch_as_a_key_exactly_as_ort_does(qtbot, window, opened, vit_path, settled):
    page = opened
    patch = 6
    _click(qtbot, page.overlay.canvas, page.overlay.patch_center(patch), Qt.KeyboardModifier.AltModifier)
    settled(window)
    run = page.current
    assert run.hidden == {patch}
    attentions = run.result.stacks["encoder"].attentions  # (L, H, T, T)
    assert np.all(attentions[..., patch + 1] == 0.0)  # exactly zero as a key, in every layer, head and query
    assert np.count_nonzero(attentions[..., np.arange(attentions.shape[-1]) != patch + 1] == 0) == 0
    mask = images.patch_mask({patch}, page.spec)
    logits, expected = _ort_attention(vit_path, run.pixel_values, mask)
    np.testing.assert_allclose(attentions, expected, atol=1e-6)
    np.testing.assert_array_equal(page.overlay.values, attentions[0, 0, 0, 1:])  # the [CLS] row, zero at the patch
    assert page.overlay.values[patch] == 0.0 and page.overlay.hidden == {patch}
    assert page.predictions.after == images.top_classes(logits, window.model.meta.labels)
    assert page.predictions.before == images.top_classes(run.baseline.logits, window.model.meta.labels)
    assert page.before_map.isVisibleTo(page)

    _click(qtbot, page.overlay.canvas, page.overlay.patch_center(patch), Qt.KeyboardModifier.AltModifier)
    assert settled(window).current.hidden == frozenset()  # Alt-click again shows it


def test_a_dragged_rectangle_hides_every_patch_it_touches(window, opened, settled):
    page = opened
    p = page.spec.patch_size
    from PySide6.QtCore import QRectF

    touched = page.overlay.patches_in(QRectF(0.5 * p, 0.5 * p, p, p))  # four patches around the corner of 0
    cols = page.spec.grid[1]
    assert touched == [0, 1, cols, cols + 1]
    page.overlay.drag_to(QRectF(0.5 * p, 0.5 * p, p, p), finished=True)
    assert settled(window).current.hidden == {0, 1, cols, cols + 1}


@pytest.mark.parametrize(("fusion", "discard"), [("mean", 0.0), ("max", 0.5), ("min", 0.9)])
def test_rollout_shown_equals_the_core_rollout(window, opened, fusion, discard):
    page = opened
    page.controls.set_mode("rollout")
    page.controls.fusion.setCurrentText(fusion)
    page.controls.discard.setValue(discard)
    attentions = page.current.result.stacks["encoder"].attentions
    np.testing.assert_array_equal(page.overlay.values, rollout(attentions, fusion, discard)[0, 1:])


def test_top_five_are_the_softmax_of_the_logits_in_order(opened, window):
    page = opened
    logits = page.current.result.logits.astype(np.float64)
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    order = np.argsort(-probabilities)[:5]
    assert [label for label, _ in page.predictions.after] == [window.model.meta.labels[i] for i in order]
    np.testing.assert_allclose([p for _, p in page.predictions.after], probabilities[order])
    assert page.predictions.before is None


def test_a_pasted_image_runs(window, vit_path, settled):
    assert window.open_path(vit_path)
    picture = QImage(20, 20, QImage.Format.Format_RGB888)
    picture.fill(Qt.GlobalColor.blue)
    QGuiApplication.clipboard().setImage(picture)
    page = window.workspace.image_page
    assert page.paste()
    run = settled(window).current
    assert run.picture.name == "pasted image"
    np.testing.assert_array_equal(run.picture.pixels, np.broadcast_to(np.array([0, 0, 255], np.uint8), (20, 20, 3)))


def test_the_page_renders(window, opened, tmp_path):
    image = window.grab()
    assert not image.isNull() and image.save(str(tmp_path / "page.png"))
    assert window.workspace.image_page.isVisible() and window.workspace.showing_views()


def test_images_dropped_on_a_text_model_are_not_taken(window, bert_path, pictures, drop_files):
    assert window.open_path(bert_path)
    event, _ = drop_files(window, pictures["first"])
    assert not event.isAccepted()
    assert not window.workspace.image_page.isVisible()


def test_ablating_a_head_reruns_the_image_with_before_and_after(window, opened, vit_path, settled):
    page = opened
    baseline_logits = page.current.result.logits.copy()
    window.workspace.selection.toggle_head(0, 1)  # what Ctrl-click in the model view does
    run = settled(window).current
    assert run.head_masks is not None and run.head_masks["encoder"][0, 1] == 0.0
    session = ort.InferenceSession(str(vit_path), providers=["CPUExecutionProvider"])
    spec = window.model.meta.stacks["encoder"]
    head_mask = np.ones((spec.layers, spec.heads), np.float32)
    head_mask[0, 1] = 0.0
    logits = session.run([contract.LOGITS], {
        contract.PIXEL_VALUES: run.pixel_values,
        contract.PATCH_MASK: images.patch_mask(set(), page.spec),
        contract.head_mask_input("encoder"): head_mask,
    })[0][0]
    np.testing.assert_allclose(run.result.logits, logits, atol=1e-6)
    assert not np.allclose(run.result.logits, baseline_logits, atol=1e-6)
    np.testing.assert_array_equal(run.baseline.logits, baseline_logits)  # "before" is the unablated run
    assert page.predictions.before == images.top_classes(baseline_logits, window.model.meta.labels)
    assert page.before_map.isVisibleTo(page)

    window.workspace.selection.reset_heads()
    run = settled(window).current
    assert run.head_masks is None
    np.testing.assert_array_equal(run.result.logits, baseline_logits)  # reset restores the output bit for bit
