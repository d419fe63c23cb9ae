"""combine: the rows (or columns) of a token set, summed or averaged, against a hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.token_sets import FROM, MEAN, SUM, TO, combine


@pytest.fixture
def attention() -> np.ndarray:
    """(4 queries, 5 keys) softmax rows."""
    scores = np.random.default_rng(3).normal(size=(4, 5))
    weights = np.exp(scores)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def by_hand(attention: np.ndarray, indices, how: str, direction: str) -> list[float]:
    """Add up the chosen rows (columns) one number at a time."""
    matrix = attention.tolist() if direction == FROM else attention.T.tolist()
    totals = [0.0] * len(matrix[0])
    for i in indices:
        for j, value in enumerate(matrix[i]):
            totals[j] += value
    return totals if how == SUM else [t / len(indices) for t in totals]


@pytest.mark.parametrize("how", [SUM, MEAN])
@pytest.mark.parametrize("direction", [FROM, TO])
def test_combine_matches_a_hand_computation(attention, how, direction):
    combined = combine(attention, [3, 1], how, direction)
    assert combined.shape == ((5,) if direction == FROM else (4,))
    np.testing.assert_allclose(combined, by_hand(attention, [1, 3], how, direction), rtol=1e-6)


def test_the_mean_of_softmax_rows_is_a_distribution_and_the_sum_counts_the_rows(attention):
    np.testing.assert_allclose(combine(attention, [0, 2, 3], MEAN).sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(combine(attention, [0, 2, 3], SUM).sum(), 3.0, rtol=1e-6)


def test_leading_axes_combine_each_head():
    stack = np.random.default_rng(4).random((2, 3, 4, 5)).astype(np.float32)  # (layers, heads, Q, K)
    combined = combine(stack, {0, 2}, MEAN, TO)  # (2, 3, Q)
    assert combined.shape == (2, 3, 4)
    np.testing.assert_allclose(combined[1, 2], by_hand(stack[1, 2], [0, 2], MEAN, TO), rtol=1e-6)


def test_a_repeated_index_counts_once(attention):
    np.testing.assert_array_equal(combine(attention, [1, 1, 2], SUM), combine(attention, [1, 2], SUM))


@pytest.mark.parametrize(
    ("indices", "how", "direction", "error"),
    [([], SUM, FROM, ValueError), ([4], SUM, FROM, IndexError), ([0], "max", FROM, ValueError),
     ([0], SUM, "across", ValueError)],
)
def test_bad_arguments_are_refused(attention, indices, how, direction, error):
    with pytest.raises(error):
        combine(attention, indices, how, direction)
