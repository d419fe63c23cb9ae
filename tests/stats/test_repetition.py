"""Induction and duplicate-token scores on repeated random tokens, on hand-made attention patterns
whose scores are known, and the head types they mark."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.head_stats import head_stats, repeated_tokens_stats
from explorer.shared.repetition import probe_ids, repeated_random_ids, repetition_scores

SPAN, START = 6, 1  # one start token (a BOS), then 6 random tokens twice: 13 positions


def pattern(key_of) -> np.ndarray:
    """(1, 1, T, T): each query q puts all its attention on key_of(q) (clipped to what it may see)."""
    length = START + 2 * SPAN
    att = np.zeros((1, 1, length, length), np.float32)
    for q in range(length):
        att[0, 0, q, min(max(key_of(q), 0), q)] = 1
    return att


def test_a_perfect_induction_head_scores_one_and_no_duplicate():
    induction, duplicate = repetition_scores(pattern(lambda q: q - SPAN + 1), START, SPAN)
    assert induction[0, 0] == pytest.approx(1.0) and duplicate[0, 0] == pytest.approx(0.0)


def test_a_duplicate_token_head_scores_one_and_no_induction():
    induction, duplicate = repetition_scores(pattern(lambda q: q - SPAN), START, SPAN)
    assert duplicate[0, 0] == pytest.approx(1.0) and induction[0, 0] == pytest.approx(0.0)


def test_a_previous_token_head_scores_neither_and_is_previous():
    att = pattern(lambda q: q - 1)
    induction, duplicate = repetition_scores(att, START, SPAN)
    assert induction[0, 0] == 0 and duplicate[0, 0] == 0
    assert head_stats(att).previous[0, 0] == pytest.approx((START + 2 * SPAN - 1) / (START + 2 * SPAN))


def test_half_and_half_scores_a_half_each():
    att = (pattern(lambda q: q - SPAN + 1) + pattern(lambda q: q - SPAN)) / 2
    induction, duplicate = repetition_scores(att, START, SPAN)
    assert induction[0, 0] == pytest.approx(0.5) and duplicate[0, 0] == pytest.approx(0.5)


def test_uniform_causal_attention_scores_one_over_the_keys_it_sees():
    length = START + 2 * SPAN
    att = np.tril(np.ones((length, length), np.float32))
    att /= att.sum(-1, keepdims=True)
    induction, _ = repetition_scores(att[None, None], START, SPAN)
    expected = np.mean([1 / (q + 1) for q in range(START + SPAN, START + 2 * SPAN)])
    assert induction[0, 0] == pytest.approx(expected)


def test_the_types_mark_induction_and_duplicate_heads():
    att = np.concatenate([pattern(lambda q: q - SPAN + 1), pattern(lambda q: q - SPAN), pattern(lambda q: 0)], axis=1)
    stats = repeated_tokens_stats(att, START, SPAN)
    assert "induction" in stats.types[0][0] and "duplicate" in stats.types[0][1] and "sink" in stats.types[0][2]
    assert "induction" not in stats.types[0][2]
    rows = stats.rows()
    assert rows[0]["induction"] == pytest.approx(1.0) and rows[1]["duplicate"] == pytest.approx(1.0)
    assert np.isnan(head_stats(att).rows()[0]["induction"])  # other inputs: blank, not 0


def test_repeated_random_ids_repeat_and_are_seeded():
    ids = repeated_random_ids(list(range(100, 400)), span=50, seed=3)
    assert len(ids) == 100 and ids[:50] == ids[50:] and set(ids) <= set(range(100, 400))
    assert repeated_random_ids(list(range(100, 400)), 50, 3) == ids != repeated_random_ids(list(range(100, 400)), 50, 4)


def test_the_probe_starts_with_bos_and_fits_the_models_positions():
    ids, start, span = probe_ids(300, {0, 1}, bos=0, max_positions=None)
    assert (start, span, len(ids)) == (1, 50, 101) and ids[0] == 0 and 1 not in ids[1:] and 0 not in ids[1:]
    assert ids[1:51] == ids[51:]
    short, start, span = probe_ids(300, {0}, bos=None, max_positions=41)
    assert (start, span, len(short)) == (0, 20, 40)
