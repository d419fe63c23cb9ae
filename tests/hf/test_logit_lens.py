"""The logit lens of an imported GPT-2 (random weights): each layer's residual stream through the
model's own final norm and unembedding; at the last layer it is the model's own logits."""

from __future__ import annotations

import numpy as np

from explorer import contract
from explorer.core.anatomy import Initializers
from explorer.core.logit_lens import LogitLens, run_hidden_states
from explorer.core.predictions import softmax
from explorer.core.state.app_state import AppState


def test_the_import_names_the_final_norm_and_the_tied_unembedding(imports):
    import onnx

    imported = imports("gpt2")
    meta = imported.metadata
    assert meta.unembedding is not None and meta.unembedding.weight == meta.embedding  # lm_head is wte
    graph = {init.name: tuple(init.dims) for init in onnx.load(str(imported.path)).graph.initializer}
    norm = meta.unembedding.norm
    assert graph[norm.weight] == graph[norm.bias] == (meta.d_model,)  # ln_f, under the name the graph kept
    contract.check_initializers(meta, graph)


def test_at_the_last_layer_the_lens_is_the_models_own_logits(imports):
    imported = imports("gpt2")
    state = AppState()
    assert state.open_now(imported.path, "the cat sat on the mat and the dog")
    hidden = run_hidden_states(state.shown, "decoder")  # (layers + 1, T, d)
    lens = LogitLens(Initializers(imported.path), state.model.meta)
    np.testing.assert_allclose(lens.logits(hidden[-1]), state.shown.logits, rtol=1e-4, atol=1e-4)
    rows = lens.rows(hidden, position=3)
    assert [r.layer for r in rows] == list(range(len(hidden)))
    expected = softmax(state.shown.logits[3])
    assert list(rows[-1].ids) == np.argsort(-expected, kind="stable")[:5].tolist()
    np.testing.assert_allclose(rows[-1].probabilities, expected[list(rows[-1].ids)], rtol=1e-4)
    # Earlier layers read the same way: layer 0 is the embeddings through ln_f and wte.
    np.testing.assert_allclose(lens.logits(hidden[0]), lens.logits(hidden[:1])[0], rtol=1e-6)


def test_a_model_without_an_unembedding_says_so(bert_path):
    import pytest

    from explorer.core.anatomy import MissingInternalsError

    state = AppState()
    assert state.open_now(bert_path, "the cat")
    with pytest.raises(MissingInternalsError, match="names no unembedding"):
        LogitLens(Initializers(bert_path), state.model.meta)
    assert contract.stack_output("hidden_states", "encoder") in state.shown.outputs


def test_the_anatomy_dock_shows_the_lens_at_the_last_and_the_focused_token(window, imports):
    imported = imports("gpt2")
    assert window.open_path(imported.path, "the cat sat on the mat")
    window.workspace.run_now()
    window.show()
    window.anatomy_dock.setVisible(True)
    panel = window.anatomy_panel
    panel.show_tab(panel.logit_lens)
    lens = panel.logit_lens
    hidden = run_hidden_states(window.state.shown, "decoder")
    last = len(window.state.shown.tokens[contract.INPUT_IDS]) - 1
    expected = LogitLens(Initializers(imported.path), window.state.model.meta).rows(hidden, last)
    assert lens.rows == expected and lens.table.rowCount() == len(hidden)
    assert lens.table.verticalHeaderItem(0).text() == "embeddings"
    window.state.focus_token(contract.INPUT_IDS, 2)
    assert lens.rows == LogitLens(Initializers(imported.path), window.state.model.meta).rows(hidden, 2)
    assert "(2)" in lens.status.text()
