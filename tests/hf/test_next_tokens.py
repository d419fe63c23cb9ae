"""A decoder LM's next token: the distribution under temperature, top-k and top-p, and what the app
shows at the last position and at a focused token, against a direct ONNX Runtime run of an
imported GPT-2 (random weights, built in the test)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import contract
from explorer.core.predictions import Sampling, sampling_distribution, softmax
from explorer.core.state.app_state import AppState

LOGITS = np.array([2.0, 1.0, 0.5, 0.0, -1.0, 3.0])


def test_temperature_alone_is_softmax_of_the_scaled_logits():
    for temperature in (0.3, 1.0, 2.5):
        np.testing.assert_allclose(sampling_distribution(LOGITS, Sampling(temperature)), softmax(LOGITS / temperature))


def test_top_k_keeps_the_k_most_likely_renormalised():
    kept = sampling_distribution(LOGITS, Sampling(top_k=2))
    full = softmax(LOGITS)
    assert np.flatnonzero(kept).tolist() == [0, 5]
    np.testing.assert_allclose(kept[[0, 5]], full[[0, 5]] / full[[0, 5]].sum())


def test_top_p_keeps_the_fewest_that_reach_p():
    full = softmax(LOGITS)  # by probability: 5 (0.605), 0 (0.222), 1 (0.082), 2 (0.050), ...
    assert np.flatnonzero(sampling_distribution(LOGITS, Sampling(top_p=0.6))).tolist() == [5]  # 0.605 >= 0.6
    assert np.flatnonzero(sampling_distribution(LOGITS, Sampling(top_p=0.7))).tolist() == [0, 5]
    kept = sampling_distribution(LOGITS, Sampling(top_p=0.85))  # 0.605 + 0.222 = 0.827 < 0.85: one more
    assert np.flatnonzero(kept).tolist() == [0, 1, 5]
    np.testing.assert_allclose(kept[[0, 1, 5]], full[[0, 1, 5]] / full[[0, 1, 5]].sum())


@pytest.mark.parametrize(("bad", "words"), [({"temperature": 0}, "temperature"), ({"top_k": -1}, "top-k"),
                                            ({"top_p": 0}, "top-p"), ({"top_p": 1.5}, "top-p")])
def test_impossible_settings_say_which(bad, words):
    with pytest.raises(ValueError, match=words):
        Sampling(**bad)


@pytest.fixture
def gpt2_state(imports):
    imported = imports("gpt2")
    state = AppState()
    assert state.open_now(imported.path, "the cat sat on the mat and the dog")
    return state, imported


def direct_logits(imported, ids) -> np.ndarray:
    feeds = {contract.INPUT_IDS: np.asarray([ids], np.int64), contract.ATTENTION_MASK: np.ones((1, len(ids)), np.int64)}
    return imported.run(feeds)[contract.LOGITS][0]  # (T, vocab)


def test_the_next_token_at_the_end_is_onnx_runtimes_softmax_there(gpt2_state):
    state, imported = gpt2_state
    ids = state.shown.token_ids[contract.INPUT_IDS]
    expected = softmax(direct_logits(imported, ids)[-1])
    prediction = state.next_tokens()
    assert prediction.position == len(ids) - 1 and prediction.actual is None
    assert list(prediction.ids) == np.argsort(-expected, kind="stable")[:5].tolist()
    np.testing.assert_allclose(prediction.probabilities, expected[list(prediction.ids)], rtol=1e-5)


def test_at_a_clicked_token_it_shows_how_likely_the_real_next_token_was(gpt2_state):
    state, imported = gpt2_state
    ids = state.shown.token_ids[contract.INPUT_IDS]
    logits = direct_logits(imported, ids)
    for position in (0, 3):
        prediction = state.next_tokens(position)
        token, probability = prediction.actual
        assert token == state.shown.tokens[contract.INPUT_IDS][position + 1]
        np.testing.assert_allclose(probability, softmax(logits[position])[ids[position + 1]], rtol=1e-5)


def test_on_the_long_path_the_logits_are_kept_at_the_rows_shown(gpt2_state):
    state, imported = gpt2_state
    state.runner.attention_budget, state.runner.pooled_side = 0, 3  # the long path for any input
    state.request_run()
    ids = state.shown.token_ids[contract.INPUT_IDS]
    logits = direct_logits(imported, ids)
    stack = state.selection.stack
    assert not stack.complete and state.shown.logit_rows == stack.rows
    assert state.shown.logits.shape == (len(stack.rows), logits.shape[-1])  # not every position's
    assert not any(name.split(".")[0] in contract.OPTIONAL_STACK_OUTPUTS for name in state.shown.outputs)
    np.testing.assert_allclose(state.next_tokens().probabilities,
                               softmax(logits[-1])[list(state.next_tokens().ids)], rtol=1e-5)
    assert 3 not in stack.rows and state.next_tokens(3) is None
    state.selection.set_token(3)  # its row is fetched, and its logits with it
    token, probability = state.next_tokens(3).actual
    np.testing.assert_allclose(probability, softmax(logits[3])[ids[4]], rtol=1e-5)


def test_sampling_changes_the_distribution_not_the_run(gpt2_state):
    state, imported = gpt2_state
    run, before = state.run, state.next_tokens()
    heard = []
    state.sampling_changed.connect(heard.append)
    state.set_sampling(Sampling(temperature=0.5, top_k=3))
    after = state.next_tokens()
    assert state.run is run and heard == [Sampling(0.5, 3, 1.0)]
    logits = direct_logits(imported, state.shown.token_ids[contract.INPUT_IDS])[-1]
    np.testing.assert_allclose(after.probabilities, sampling_distribution(logits, Sampling(0.5, 3))[list(after.ids)],
                               rtol=1e-5)
    assert len(after.ids) == 3 and after.ids[0] == before.ids[0]  # the same favourite, sharper
    assert after.probabilities[0] > before.probabilities[0]


def test_the_window_shows_the_end_and_the_focused_token(window, imports):
    imported = imports("gpt2")
    assert window.open_path(imported.path, "the cat sat on the mat")
    window.workspace.run_now()
    panel = window.workspace.next_tokens
    assert panel.isVisibleTo(window) and len(panel.lines) == 1
    assert panel.lines[0] == window.state.next_tokens()
    window.state.focus_token(contract.INPUT_IDS, 2)  # a click on the third token
    assert [line.position for line in panel.lines] == [panel.lines[0].position, 2]
    assert "next was" in panel.text.text()
    panel.temperature.setValue(0.5)
    assert window.state.sampling.temperature == 0.5
    assert panel.lines[0] == window.state.next_tokens()


def test_other_kinds_show_no_next_token_panel(window, bert_path):
    assert window.open_path(bert_path, "the cat sat")
    window.workspace.run_now()
    assert window.state.next_tokens() is None and not window.workspace.next_tokens.isVisibleTo(window)
