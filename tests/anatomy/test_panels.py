"""The anatomy panels against the model's own numbers."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from explorer.core import anatomy
from explorer.core.head_stats import COLUMNS, result_head_stats


def test_softmax_of_the_shown_q_and_k_is_the_models_attention(model_paths, gpt_path, make_panel):
    for path in (model_paths["bert"], model_paths["transformer"], gpt_path):
        workspace, panel = make_panel(path)
        panel.show_tab(panel.one_head)
        for stack in workspace.selection.stacks:
            workspace.selection.set_stack(stack)
            workspace.selection.open_head(1, 1)
            workspace.selection.set_token(2)
            steps = panel.one_head.steps
            shown = panel.one_head.grid.panels
            q = shown["q"].matrix[0]  # (hd,) as drawn
            k = shown["k (each key)"].matrix  # (K, hd) as drawn
            causal = workspace.model.meta.stacks[stack].causal
            # a decoder's causal mask is a step of its own, after the keys a person hid
            masks = ("key mask", "causal mask") if causal else ("mask",)
            assert set(masks) <= set(shown) and ("mask" in shown) != causal
            allowed = np.logical_and.reduce([shown[name].matrix[:, 0] > 0 for name in masks])
            scaled = k @ q / np.sqrt(q.shape[0])
            logits = np.where(allowed, scaled, -np.inf)
            alpha = np.exp(logits - logits.max())
            alpha /= alpha.sum()
            model = workspace.result.stacks[stack].attentions[1, 1, 2]  # (K,)
            np.testing.assert_allclose(alpha, model, atol=2e-6)
            np.testing.assert_allclose(shown["softmax α"].matrix[:, 0], model, atol=2e-6)
            np.testing.assert_allclose(shown["b = Σ α·v"].matrix[0], (alpha[:, None] * steps.values).sum(0), atol=1e-6)
            if causal:
                assert not allowed[3:].any()  # no future keys for query 2
                assert shown["causal mask"].matrix[:, 0].tolist() == [1.0] * 3 + [0.0] * (len(allowed) - 3)


def test_embedding_steps_reproduce_the_first_layer_input(model_paths, make_panel):
    for kind in ("bert", "transformer"):
        workspace, panel = make_panel(model_paths[kind])
        panel.show_tab(panel.embeddings)
        steps = panel.embeddings.steps
        stack = workspace.selection.stack_name
        ids = workspace.result.token_ids[workspace.model.meta.stacks[stack].queries]
        weights = anatomy.Initializers(model_paths[kind])
        table = weights.get(workspace.model.meta.embedding)
        assert steps.ids == ids
        np.testing.assert_array_equal(steps.vectors, table[list(ids)])
        first = workspace.result.outputs[f"hidden_states.{stack}"][0]  # (T, D)
        np.testing.assert_allclose(steps.computed, first, atol=1e-5)
        shown = panel.embeddings.steps_grid.panels
        np.testing.assert_allclose(shown["hidden_states[0] (model)"].matrix, first)
        assert (steps.normed is not None) == (kind == "bert")
        assert (steps.scale != 1.0) == (kind == "transformer")
        assert panel.embeddings.token_box.count() == len(ids)
        assert panel.embeddings.neighbours.count() == 10
        assert panel.embeddings.vocabulary.isVisible()


def test_our_sinusoidal_table_is_the_exporters(model_paths):
    weights = anatomy.Initializers(model_paths["transformer"])
    exported = weights.get("model.positions.table")  # the exporter's table, a constant of the graph
    np.testing.assert_allclose(anatomy.sinusoidal_table(*exported.shape), exported, atol=1e-6)


def _gelu(x: np.ndarray) -> np.ndarray:
    from math import erf

    return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))


def test_w_o_step_rebuilds_the_first_bert_layer(model_paths, make_panel):
    """concat @ W_O^T + b, through BERT's post-norm block, gives the model's hidden_states[1]."""
    workspace, panel = make_panel(model_paths["bert"])
    workspace.selection.open_head(0, 0)
    panel.show_tab(panel.multi_head)
    steps = panel.multi_head.steps
    outputs = workspace.result.outputs
    heads = workspace.model.meta.stacks["encoder"].heads
    for h in range(heads):
        one = anatomy.head_steps(outputs, "encoder", workspace.model.meta.stacks["encoder"], 0, h, 3)
        np.testing.assert_allclose(steps.head_outputs[h, 3], one.output, atol=1e-6)
    np.testing.assert_allclose(np.split(steps.concat, heads, axis=1)[2], steps.head_outputs[2])
    w = anatomy.Initializers(model_paths["bert"])
    block = "model.encoder.blocks.0."
    x = outputs["hidden_states.encoder"][0]
    y = anatomy.layer_norm(x + steps.output, w.get(block + "attention_sub.norm.weight"),
                           w.get(block + "attention_sub.norm.bias"))
    ff = _gelu(y @ w.get(block + "feed_forward.net.0.weight").T + w.get(block + "feed_forward.net.0.bias"))
    ff = ff @ w.get(block + "feed_forward.net.3.weight").T + w.get(block + "feed_forward.net.3.bias")
    z = anatomy.layer_norm(y + ff, w.get(block + "feed_forward_sub.norm.weight"),
                           w.get(block + "feed_forward_sub.norm.bias"))
    np.testing.assert_allclose(z, outputs["hidden_states.encoder"][1], atol=1e-4)


def test_head_table_sorts_and_a_row_click_opens_the_head(model_paths, make_panel, qtbot):
    from PySide6.QtCore import Qt

    workspace, panel = make_panel(model_paths["bert"])
    table = panel.heads
    panel.show_tab(table)
    proxy = table.proxy
    assert proxy.rowCount() == 2 * 4
    column = 2 + list(COLUMNS).index("entropy")
    table.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    shown = [proxy.data(proxy.index(r, column), Qt.ItemDataRole.UserRole) for r in range(proxy.rowCount())]
    assert shown == sorted(shown, reverse=True)
    expected = result_head_stats(workspace.result.stacks, table.end_tokens)["encoder"]
    layer, head = np.unravel_index(np.argmax(expected.entropy), expected.entropy.shape)
    index = proxy.index(0, 0)
    rect = table.table.visualRect(index)
    qtbot.mouseClick(table.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert (workspace.selection.layer, workspace.selection.head) == (layer, head)
    assert workspace.selection.visible_heads == {head}


def test_csv_export_holds_every_head(model_paths, make_panel, tmp_path):
    workspace, panel = make_panel(model_paths["bert"])
    path = tmp_path / "heads.csv"
    panel.heads.export_csv(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    expected = result_head_stats(workspace.result.stacks, panel.heads.end_tokens)["encoder"]
    assert len(rows) == expected.entropy.size
    for row in rows:
        layer, head = int(row["layer"]), int(row["head"])
        assert float(row["self"]) == pytest.approx(expected.self[layer, head], rel=1e-5)
        assert float(row["end"]) == pytest.approx(expected.end[layer, head], rel=1e-5)


def test_sample_batch_averages_the_sentences(model_paths, make_panel, qtbot):
    from explorer.core.assets import sample_sentences
    from explorer.core.head_stats import mean_head_stats
    from explorer.ui.anatomy.head_table import BATCH

    workspace, panel = make_panel(model_paths["bert"])
    sentences = sample_sentences()
    assert len(sentences) >= 5
    with qtbot.waitSignal(panel.heads.runs.result_ready, timeout=30000):
        panel.heads.source.setCurrentText(BATCH)
    results = [workspace.runner.run_text(s) for s in sentences]
    per_input = [result_head_stats(r.stacks, panel.heads.end_tokens)["encoder"] for r in results]
    expected = mean_head_stats(per_input, [len(r.stacks["encoder"].key_tokens) for r in results])
    np.testing.assert_allclose(panel.heads.shown_stats().distance, expected.distance, rtol=1e-5)
    assert panel.heads.model.rowCount() == 8


def test_a_hidden_panel_catches_up_with_the_newest_run_when_shown(model_paths, make_panel):
    workspace, panel = make_panel(model_paths["bert"])
    shown = panel.heads.current
    panel.hide()
    workspace.text_box.setPlainText("a second sentence , longer than the first one")
    workspace.run_now()
    second = workspace.result
    assert panel.heads.current is shown  # nothing computed for a panel nobody sees
    workspace.text_box.setPlainText("a third")
    workspace.run_now()
    panel.show()
    newest = result_head_stats(workspace.result.stacks, panel.heads.end_tokens)["encoder"]
    assert workspace.result is not second
    np.testing.assert_array_equal(panel.heads.current["encoder"].entropy, newest.entropy)
    assert not np.array_equal(shown["encoder"].entropy, newest.entropy)
