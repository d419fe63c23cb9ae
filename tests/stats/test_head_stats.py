"""Head statistics against hand-computed cases and a straightforward loop implementation."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from explorer.core.head_stats import COLUMNS, REPETITION_COLUMNS, head_stats


def random_attention(shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal(shape).astype(np.float32) * 3
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def loop_reference(att: np.ndarray, ends: list[int]) -> dict[str, np.ndarray]:
    layers, heads, queries, keys = att.shape
    out = {name: np.zeros((layers, heads)) for name in COLUMNS}
    for layer in range(layers):
        for h in range(heads):
            a = att[layer, h].astype(np.float64)
            out["entropy"][layer, h] = np.mean([-sum(w * math.log(w) for w in row if w > 0) for row in a])
            distances = [sum(a[q, k] * abs(q - k) for k in range(keys)) for q in range(queries)]
            out["distance"][layer, h] = np.mean(distances)
            out["first"][layer, h] = a[:, 0].mean()
            out["end"][layer, h] = np.mean([sum(a[q, k] for k in ends) for q in range(queries)])
            out["self"][layer, h] = np.mean([a[q, q] for q in range(queries)])
            out["previous"][layer, h] = np.mean([a[q, q - 1] if q > 0 else 0.0 for q in range(queries)])
            out["next"][layer, h] = np.mean([a[q, q + 1] if q + 1 < keys else 0.0 for q in range(queries)])
            out["max"][layer, h] = a.max()
    return out


def test_matches_a_straightforward_implementation():
    att = random_attention((2, 3, 7, 7), seed=1)
    stats = head_stats(att, end_positions=[6])
    reference = loop_reference(att, [6])
    for name in COLUMNS:
        if name in REPETITION_COLUMNS:  # repeated random tokens only (tests/stats/test_repetition.py)
            assert getattr(stats, name) is None
            continue
        np.testing.assert_allclose(getattr(stats, name), reference[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_hand_computed_heads_and_their_types():
    n = 4
    previous = np.eye(n, k=-1)
    previous[0, 0] = 1.0  # the first token has no previous one: it attends itself
    uniform = np.full((n, n), 1 / n)
    sink = np.zeros((n, n))
    sink[:, 0] = 1.0
    att = np.stack([previous, uniform, sink])[None].astype(np.float32)  # (1, 3, 4, 4)
    stats = head_stats(att, end_positions=[3])
    assert stats.previous[0, 0] == pytest.approx(3 / 4)
    assert stats.self[0, 0] == pytest.approx(1 / 4)
    assert stats.distance[0, 0] == pytest.approx(3 / 4)
    assert stats.entropy[0, 1] == pytest.approx(math.log(4), rel=1e-6)
    assert stats.distance[0, 1] == pytest.approx(np.mean([sum(abs(q - k) for k in range(4)) / 4 for q in range(4)]))
    assert stats.end[0, 1] == pytest.approx(1 / 4)
    assert stats.first[0, 2] == pytest.approx(1.0) and stats.entropy[0, 2] == pytest.approx(0.0, abs=1e-6)
    assert stats.max[0, 1] == pytest.approx(1 / 4)
    assert stats.types[0] == (("previous",), ("broad",), ("sink",))


def test_cross_attention_has_no_positional_figures():
    att = random_attention((1, 2, 3, 5))
    stats = head_stats(att, same_sequence=False)
    assert np.isnan(stats.distance).all() and np.isnan(stats.previous).all()
    assert np.isfinite(stats.entropy).all()


def test_csv_has_one_row_per_head():
    att = random_attention((2, 3, 5, 5))
    rows = list(csv.DictReader(io.StringIO(head_stats(att).to_csv())))
    assert len(rows) == 6
    assert [int(r["layer"]) for r in rows] == [0, 0, 0, 1, 1, 1]
    assert float(rows[4]["entropy"]) == pytest.approx(float(head_stats(att).entropy[1, 1]), rel=1e-5)
