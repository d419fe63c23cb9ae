"""Texts built to break tokenizing and running: each gives a drawn run (cut with a notice where it
is too long) or the one sentence for an empty text; never the catch-all, never a stale drawing."""

from __future__ import annotations

import pytest

from explorer import contract
from explorer.core.state.app_state import AppState
from explorer.core.text import EMPTY_TEXT, NO_TOKENS

from .conftest import Outcome

EMPTY = EMPTY_TEXT

# text -> what the small BERT (max 48 positions) gives: its tokens' count, or EMPTY
BERT_TEXTS = {
    "nothing": ("", EMPTY),
    "whitespace": ("  \n\t \r\n ", EMPTY),
    "nul-bytes": ("\x00\x00\x00", NO_TOKENS),
    "invisible-format-characters": ("\u202e\u200b\ufeff\u2060", NO_TOKENS),
    "one-long-word": ("x" * 100_000, 3),  # [CLS] [UNK] [SEP]: WordPiece gives up on words past 100 characters
    "emoji": ("🙂🙂🙂", 3),
    "right-to-left": ("مرحبا بالعالم", 4),
    "mask-alone": ("[MASK]", 3),
    "special-tokens-as-text": ("[CLS] [SEP] [PAD]", 5),
    "lone-surrogate": ("\ud800 lone", 6),  # half a UTF-16 pair from a broken paste: read as U+FFFD
    "many-masks": ("[MASK] " * 100, 48),
    "zalgo": ("z\u0301\u0302\u0303" * 50, 48),
    "a-book": ("word " * 50_000, 48),
}


@pytest.mark.parametrize("case", sorted(BERT_TEXTS))
def test_a_hostile_text_runs_or_says_it_is_empty(opened_state, case):
    text, expected = BERT_TEXTS[case]
    state, outcome = opened_state
    before = state.shown
    state.set_text(text)
    state.request_run()
    if expected in (EMPTY, NO_TOKENS):
        assert outcome.run_failures == [expected]
        assert state.shown is None  # nothing stale stays on screen as if it were this text's
        return
    assert outcome.run_failures == []
    tokens = state.shown.tokens[contract.INPUT_IDS]
    assert len(tokens) == expected and state.shown is not before
    limit = state.model.meta.max_positions[contract.INPUT_IDS]
    cut = [n for n in state.shown.notices if n.startswith(f"Input cut at {limit} tokens")]
    assert bool(cut) == (expected == limit)
    attentions = state.shown.stacks["encoder"].attentions
    assert attentions.shape[-1] == len(tokens)


@pytest.mark.parametrize(("text", "expected"), [("", EMPTY), ("   ", EMPTY), ("\ud83d", NO_TOKENS), ("\ud83d 1", 1),
                                               ("1/2/" * 500, 40)])
def test_a_seq2seq_model_takes_hostile_sources_the_same_way(transformer_path, text, expected):
    state = AppState()
    outcome = Outcome(state)
    assert state.open_now(transformer_path, "27 Nov 2026")
    state.set_text(text)
    state.request_run()
    if expected in (EMPTY, NO_TOKENS):
        assert outcome.run_failures == [expected]
    else:
        assert outcome.run_failures == [] and len(state.shown.tokens[contract.SRC_IDS]) == expected


def test_edits_at_positions_the_text_does_not_have_do_nothing_harmful(opened_state):
    state, outcome = opened_state
    count = len(state.shown.tokens[contract.INPUT_IDS])
    state.toggle_hidden(contract.INPUT_IDS, count + 5)
    state.toggle_masked(contract.INPUT_IDS, count + 9)
    assert outcome.run_failures == [] or all("The run failed" not in m for m in outcome.run_failures)
    assert state.shown is not None or outcome.run_failures


def test_hiding_every_key_gives_rows_of_zeros_not_nan(opened_state):
    state, outcome = opened_state
    for index in range(len(state.shown.tokens[contract.INPUT_IDS])):
        state.toggle_hidden(contract.INPUT_IDS, index)
    assert outcome.run_failures == []
    attentions = state.shown.stacks["encoder"].attentions
    assert not (attentions != attentions).any()  # no NaN
    assert (attentions == 0).all()  # every key hidden: nothing to attend to
