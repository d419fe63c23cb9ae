"""The GPT in the app: the logit lens and the head diagnostics read it like an imported GPT-2,
the anatomy recomputes its embeddings, and generation step by step works in the window."""

from __future__ import annotations

import numpy as np

from explorer.core import anatomy
from explorer.core.head_stats import repeated_tokens_run
from explorer.core.logit_lens import LogitLens, run_hidden_states
from explorer.core.state.app_state import AppState


def test_at_the_last_layer_the_lens_is_the_gpts_own_logits_also_after_cached_steps(gpt_path):
    state = AppState()
    assert state.open_now(gpt_path, "def f(x): return x + 1")
    lens = LogitLens(anatomy.Initializers(gpt_path), state.model.meta)
    hidden = run_hidden_states(state.shown, "decoder")
    np.testing.assert_allclose(lens.logits(hidden[-1]), state.shown.logits, rtol=1e-4, atol=1e-4)
    state.step_next()
    state.step_next()  # hidden states put together from the cached steps
    hidden = run_hidden_states(state.shown, "decoder")
    assert hidden.shape[1] == len(state.decoder.target)
    np.testing.assert_allclose(lens.logits(hidden[-1]), state.shown.logits, rtol=1e-4, atol=1e-4)


def test_the_embedding_steps_reproduce_the_first_layer_input(gpt_path):
    state = AppState()
    assert state.open_now(gpt_path, "import os")
    weights = anatomy.Initializers(gpt_path)
    ids = state.shown.token_ids["input_ids"]
    table = weights.get(state.model.meta.embedding)
    positions = weights.get(state.model.meta.text_embedding["input_ids"].positions)
    first = state.shown.outputs["hidden_states.decoder"][0]  # (T, D)
    np.testing.assert_allclose(table[list(ids)] + positions[: len(ids)], first, atol=1e-5)


def test_the_head_table_scores_the_gpt_on_repeated_tokens(gpt_path):
    state = AppState()
    assert state.open_now(gpt_path, "x")
    stats, span = repeated_tokens_run(state.runner)
    assert span == 23  # 48 positions: the start token and 2 x 23
    assert stats["decoder"].induction.shape == (2, 4)
    assert np.all((stats["decoder"].induction >= 0) & (stats["decoder"].induction <= 1))
