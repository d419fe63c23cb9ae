"""Each toggle through the window, as a person makes it, checked against the data the views hold."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from explorer import contract
from explorer.core.predictions import mask_predictions
from explorer.ui.views.colors import NOT_ALLOWED, heatmap

TEXT = "the cat sat on the mat"
LEFT, ALT = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier  # Alt-click: hide a key


@pytest.fixture
def bert_window(window, bert_path, wait_for_result):
    window.open_path(bert_path, TEXT)
    wait_for_result(window)
    return window


def test_alt_click_hides_a_key_and_the_views_show_it_masked(bert_window, qtbot, wait_for_result):
    workspace = bert_window.workspace
    strip = workspace.strips[contract.INPUT_IDS]
    qtbot.mouseClick(strip.viewport(), LEFT, ALT, strip.token_position(2))
    wait_for_result(bert_window)
    stack = workspace.selection.stack
    assert not stack.key_mask[2] and stack.key_mask[[0, 1, 3]].all()
    assert np.all(stack.attentions[..., 2] == 0.0)
    matrix = workspace.views.views["matrix"]
    matrix.refresh()
    assert not matrix.allowed[:, 2].any() and matrix.allowed[:, 3].all()
    assert matrix.not_allowed.isVisible() or not matrix.isVisible()
    assert "hidden_key" in strip.looks(2)
    qtbot.mouseClick(strip.viewport(), LEFT, ALT, strip.token_position(2))
    wait_for_result(bert_window)
    assert workspace.selection.stack.key_mask.all()
    assert "hidden_key" not in strip.looks(2)


def test_the_model_view_greys_a_hidden_key_in_every_thumbnail(bert_window, qtbot, wait_for_result, thumbnails):
    workspace = bert_window.workspace
    workspace.views.show_view("model")
    view = workspace.views.views["model"]
    strip = workspace.strips[contract.INPUT_IDS]
    qtbot.mouseClick(strip.viewport(), LEFT, ALT, strip.token_position(2))
    stack = wait_for_result(bert_window).stacks["encoder"]
    view.refresh()
    thumbs = thumbnails(view.image.image, stack)  # (L, H + 1, q, k, 3) as drawn
    per_key = thumbs.shape[3] // len(stack.key_tokens)  # a short input: whole pixels per key
    hidden, seen = thumbs[:, :, :, 2 * per_key : 3 * per_key], thumbs[:, :, :, 3 * per_key : 4 * per_key]
    grey, zero = np.array(NOT_ALLOWED[:3]), heatmap().getLookupTable(nPts=256, alpha=False)[0]
    assert not np.array_equal(grey, zero)
    assert (hidden == grey).all()  # every layer, head and the means
    assert not (seen == grey).all(axis=-1).any()
    view.grey_masked.setChecked(False)  # the switch: the values the model holds there, exactly 0
    shown = thumbnails(view.image.image, stack)[:, :, :, 2 * per_key : 3 * per_key]
    assert (shown == zero).all()


def test_the_model_view_greys_the_decoders_future(window, transformer_path, wait_for_result, thumbnails):
    window.open_path(transformer_path, "12 may 2021")
    wait_for_result(window)
    workspace = window.workspace
    workspace.views.show_view("model")
    workspace.selection.set_stack("decoder")
    view = workspace.views.views["model"]
    view.refresh()
    stack = workspace.selection.stack
    thumbs = thumbnails(view.image.image, stack)  # (L, H + 1, q, k, 3)
    tokens = len(stack.query_tokens)
    grow = thumbs.shape[2] // tokens
    greyed = (thumbs == np.array(NOT_ALLOWED[:3])).all(axis=-1)  # (L, H + 1, q, k)
    future = ~np.tri(tokens, dtype=bool).repeat(grow, axis=0).repeat(grow, axis=1)  # key after query
    assert future.any()
    assert (greyed == future).all()  # the future grey in every thumbnail, the rest its values


def test_double_click_puts_in_mask_and_shows_its_predictions(bert_window, qtbot, wait_for_result):
    workspace = bert_window.workspace
    strip = workspace.strips[contract.INPUT_IDS]
    qtbot.mouseDClick(strip.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, strip.token_position(3))
    result = wait_for_result(bert_window)
    mask_token, mask_id = workspace.runner.mask_token()
    assert result.tokens[contract.INPUT_IDS][3] == mask_token
    assert strip.tokens()[3][0] == mask_token
    expected = mask_predictions(result.logits, result.token_ids[contract.INPUT_IDS], mask_id,
                                workspace.runner.encoders[contract.INPUT_IDS].id_to_token)
    assert workspace.outcome.predictions == expected and len(expected) == 1
    assert "[MASK] at 3" in workspace.outcome.text.text()


def test_typing_mask_gives_predictions(bert_window, qtbot, wait_for_result):
    workspace = bert_window.workspace
    workspace.text_box.setPlainText("the [MASK] sat")
    qtbot.waitUntil(lambda: workspace.outcome.predictions != [], timeout=10_000)
    (prediction,) = workspace.outcome.predictions
    assert workspace.result.tokens[contract.INPUT_IDS][prediction.position] == workspace.runner.mask_token()[0]


def test_ctrl_click_ablates_a_head_and_reset_restores_the_output(bert_window, qtbot, wait_for_result):
    workspace = bert_window.workspace
    workspace.toggle_masked(contract.INPUT_IDS, 2)
    before = wait_for_result(bert_window)
    view = workspace.views.views["model"]
    workspace.views.show_view("model")
    qtbot.waitExposed(view)
    view.refresh()
    qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     view.canvas.mapFromScene(view.cell_center(0, 1)))
    qtbot.waitUntil(lambda: workspace.result is not before and not workspace.runs.busy, timeout=10_000)
    assert view.ablated_heads() == [(0, 1)]
    assert workspace.selection.head_masks.mask("encoder")[0, 1] == 0
    assert not np.array_equal(workspace.result.logits, before.logits)
    runner = workspace.runner
    unablated = mask_predictions(before.logits, before.token_ids[contract.INPUT_IDS], runner.mask_token()[1],
                                 runner.encoders[contract.INPUT_IDS].id_to_token)
    assert workspace.outcome.baseline_predictions == unablated  # "before", beside the ablated "after"
    assert workspace.outcome.predictions != unablated and not workspace.outcome.reset_button.isHidden()
    ablated = workspace.result
    workspace.reset_heads_action.trigger()
    qtbot.waitUntil(lambda: workspace.result is not ablated and not workspace.runs.busy, timeout=10_000)
    after = workspace.result
    assert view.ablated_heads() == []
    np.testing.assert_array_equal(after.logits, before.logits)
    np.testing.assert_array_equal(after.stacks["encoder"].attentions, before.stacks["encoder"].attentions)


def test_keep_only_one_head_in_a_layer(bert_window, qtbot):
    workspace = bert_window.workspace
    heads = workspace.model.meta.stacks["encoder"].heads
    with qtbot.waitSignal(workspace.runs.result_ready, timeout=10_000):
        workspace.views.views["model"].head_menu(1, 2).actions()[1].trigger()
    assert workspace.selection.head_masks.ablated("encoder") == [(1, h) for h in range(heads) if h != 2]


def test_grey_switch_shows_the_masked_cells_values(window, transformer_path, wait_for_result):
    window.open_path(transformer_path, "12 may 2021")
    wait_for_result(window)
    workspace = window.workspace
    workspace.selection.set_stack("decoder")
    matrix = workspace.views.views["matrix"]
    matrix.refresh()
    future = ~matrix.allowed
    assert future.any() and np.all(matrix.matrix[future] == 0.0)
    assert matrix.not_allowed.isVisible()
    matrix.grey_masked.setChecked(False)
    assert not matrix.not_allowed.isVisible()


def test_decoding_step_by_step_in_the_window(window, transformer_path, wait_for_result):
    window.open_path(transformer_path, "12 may 2021")
    whole = wait_for_result(window)
    workspace = window.workspace
    panel = workspace.decoder_panel
    assert panel.isVisibleTo(window)
    panel.next_button.click()
    panel.next_button.click()
    assert workspace.selection.stacks["decoder"].query_tokens == whole.tokens[contract.TGT_IDS][:2]
    assert workspace.selection.stacks["cross"].attentions.shape[2] == 2
    panel.back_button.click()
    assert len(workspace.selection.stacks["cross"].query_tokens) == 1
    panel.end_button.click()
    assert tuple(panel.decoder.target) == whole.token_ids[contract.TGT_IDS]
    assert "step" in panel.output.text()


def test_clicking_an_output_token_shows_its_cross_attention(window, transformer_path, wait_for_result):
    window.open_path(transformer_path, "12 may 2021")
    wait_for_result(window)
    workspace = window.workspace
    workspace.selection.set_stack("encoder")
    workspace.strips[contract.TGT_IDS].click(2)
    assert workspace.selection.stack_name == "cross" and workspace.selection.token == 2
