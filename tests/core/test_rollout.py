"""Attention rollout: a hand-computed case, the discard rule, and an independent implementation."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.shared.rollout import HEAD_FUSIONS, class_token_map, discard_lowest, fuse_heads, rollout

# Two layers, two heads, two tokens; the rollouts below are worked out by hand.
HAND_ATTENTIONS = np.array(
    [
        [[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]],  # layer 1: identity and swap
        [[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]]],  # layer 2: everyone reads token 0
    ]
)
HAND_ROLLOUTS = {
    # layer 1 fused: mean [[.5, .5], [.5, .5]] -> A' [[.75, .25], [.25, .75]]; layer 2 -> A' [[1, 0], [.5, .5]]
    "mean": [[0.75, 0.25], [0.5, 0.5]],
    # layer 1 fused: max all ones -> 0.5 A + 0.5 I = [[1, .5], [.5, 1]] -> rows [[2/3, 1/3], [1/3, 2/3]]
    "max": [[2 / 3, 1 / 3], [0.5, 0.5]],
    # layer 1 fused: min all zeros -> A' = I
    "min": [[1.0, 0.0], [0.5, 0.5]],
}


@pytest.mark.parametrize("head_fusion", HEAD_FUSIONS)
def test_rollout_matches_the_hand_computed_case(head_fusion):
    np.testing.assert_allclose(rollout(HAND_ATTENTIONS, head_fusion), HAND_ROLLOUTS[head_fusion], atol=1e-12)


def test_discard_zeroes_the_lowest_weights_but_never_the_class_column():
    fused = np.array([[[0.5, 0.3, 0.2], [0.1, 0.65, 0.25], [0.05, 0.15, 0.8]]])
    # Six candidates outside column 0; half of them (0.15, 0.2, 0.25) go. Column 0 holds
    # the two smallest weights of all (0.05, 0.1) and keeps them.
    expected = np.array([[[0.5, 0.3, 0.0], [0.1, 0.65, 0.0], [0.05, 0.0, 0.8]]])
    np.testing.assert_array_equal(discard_lowest(fused, 0.5), expected)
    np.testing.assert_array_equal(fused[0, 0], [0.5, 0.3, 0.2])  # the input is left alone

    # Rollout of that one layer: 0.5 A + 0.5 I, rows renormalised.
    mixed = 0.5 * expected[0] + 0.5 * np.eye(3)
    np.testing.assert_allclose(rollout(fused[:, None], discard_ratio=0.5), mixed / mixed.sum(1, keepdims=True))


def test_discard_can_include_the_class_column():
    fused = np.array([[[0.5, 0.3, 0.2], [0.1, 0.65, 0.25], [0.05, 0.15, 0.8]]])
    out = discard_lowest(fused, 3 / 9, keep_first_column=False)  # the three lowest of all nine
    np.testing.assert_array_equal(out, [[[0.5, 0.3, 0.2], [0.0, 0.65, 0.25], [0.0, 0.0, 0.8]]])


def reference_rollout(attentions: np.ndarray, head_fusion: str, discard_ratio: float) -> np.ndarray:
    """Written independently: one layer at a time, a full sort for the discard."""
    layers, _, tokens, _ = attentions.shape
    result = np.eye(tokens)
    for layer in range(layers):
        fused = {"mean": np.mean, "max": np.max, "min": np.min}[head_fusion](attentions[layer], axis=0)
        weights = fused[:, 1:].flatten()
        order = np.argsort(weights, kind="stable")
        weights[order[: int(discard_ratio * weights.size)]] = 0.0
        fused[:, 1:] = weights.reshape(tokens, tokens - 1)
        a = (fused + np.eye(tokens)) / 2
        a = a / a.sum(axis=1)[:, None]
        result = a @ result
    return result


def random_attentions(rng, layers=3, heads=4, tokens=9, masked=()):
    scores = rng.normal(size=(layers, heads, tokens, tokens)) * 2
    weights = np.exp(scores)
    weights[..., list(masked)] = 0.0  # masked keys: exactly zero, as the contract says
    return weights / weights.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("head_fusion", HEAD_FUSIONS)
@pytest.mark.parametrize("discard_ratio", [0.0, 0.3, 0.9])
def test_rollout_matches_an_independent_implementation(head_fusion, discard_ratio):
    rng = np.random.default_rng(7)
    for _ in range(5):
        attentions = random_attentions(rng)
        np.testing.assert_allclose(
            rollout(attentions, head_fusion, discard_ratio),
            reference_rollout(attentions, head_fusion, discard_ratio),
            rtol=1e-10,
            atol=1e-12,
        )


@pytest.mark.parametrize("head_fusion", HEAD_FUSIONS)
def test_rollout_rows_stay_distributions_and_masked_keys_get_nothing(head_fusion):
    attentions = random_attentions(np.random.default_rng(3), tokens=6, masked=(4,))
    result = rollout(attentions, head_fusion, 0.5)
    np.testing.assert_allclose(result.sum(axis=1), 1.0)
    assert (result >= 0).all()
    # A masked key only keeps what the residual gives token 4 itself; no other token reads it.
    assert np.all(np.delete(result[:, 4], 4) == 0)


def test_class_token_map_is_row_zero_without_the_class_column():
    attentions = random_attentions(np.random.default_rng(5), tokens=5).astype(np.float32)
    full = rollout(attentions)
    np.testing.assert_array_equal(class_token_map(attentions), full[0, 1:])
    assert full.dtype == np.float32


def test_a_single_layer_model_points_where_cls_attends():
    attentions = np.full((1, 2, 5, 5), 0.05)
    attentions[0, :, 0, 3] = 0.8  # both heads: [CLS] reads token 3
    assert class_token_map(attentions).argmax() + 1 == 3


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="head fusion"):
        fuse_heads(HAND_ATTENTIONS, "median")
    with pytest.raises(ValueError, match="discard_ratio"):
        rollout(HAND_ATTENTIONS, discard_ratio=1.0)
    with pytest.raises(ValueError, match="layers, heads"):
        rollout(HAND_ATTENTIONS[0])
