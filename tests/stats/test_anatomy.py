"""One head step by step: recomputed from the model's q, k, v, it gives the model's attention."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from explorer import contract
from explorer.core.anatomy import (
    MissingInternalsError,
    cosine_similarity,
    embedding_matrix,
    head_steps,
    nearest_tokens,
)


def run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, feeds), strict=True))
    item = {n: v[:, 0] if n.split(".")[0] in ("attentions", *contract.OPTIONAL_STACK_OUTPUTS) else v[0]
            for n, v in outputs.items()}
    return meta, item


def test_softmax_of_shown_q_and_k_is_the_models_attention(model_paths):
    ids = np.array([[2, 40, 41, 42, 43, 44, 3]], dtype=np.int64)
    mask = np.ones_like(ids)
    mask[0, 4] = 0  # one hidden key
    meta, out = run(model_paths["bert"], {"input_ids": ids, "attention_mask": mask})
    spec = meta.stacks["encoder"]
    for layer in range(spec.layers):
        for head in range(spec.heads):
            for query in range(ids.shape[1]):
                steps = head_steps(out, "encoder", spec, layer, head, query, key_mask=mask[0])
                model_alpha = out["attentions.encoder"][layer, head, query]
                np.testing.assert_allclose(steps.alpha, model_alpha, atol=1e-5)
                assert steps.alpha[4] == 0.0 and model_alpha[4] == 0.0
                np.testing.assert_allclose(steps.scaled, steps.scores / np.sqrt(spec.head_dim))
                np.testing.assert_allclose(steps.output, steps.weighted_values.sum(0))


def test_causal_and_cross_stacks(model_paths):
    src = np.array([[5, 20, 21, 22, 23, 6]], dtype=np.int64)
    tgt = np.array([[2, 30, 31, 32]], dtype=np.int64)
    feeds = {"src_ids": src, "src_mask": np.ones_like(src), "tgt_ids": tgt, "tgt_mask": np.ones_like(tgt)}
    meta, out = run(model_paths["transformer"], feeds)
    for stack in ("decoder", "cross"):
        spec = meta.stacks[stack]
        for query in range(tgt.shape[1]):
            steps = head_steps(out, stack, spec, spec.layers - 1, 1, query)
            np.testing.assert_allclose(steps.alpha, out[f"attentions.{stack}"][-1, 1, query], atol=1e-5)
            if spec.causal:
                assert not steps.allowed[query + 1:].any()


def test_missing_internals_are_named():
    with pytest.raises(MissingInternalsError, match="queries.encoder"):
        head_steps({}, "encoder", contract.StackSpec(1, 1, 4, "input_ids", "input_ids"), 0, 0, 0)


def test_embedding_neighbours(model_paths):
    session = ort.InferenceSession(str(model_paths["bert"]), providers=["CPUExecutionProvider"])
    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    matrix = embedding_matrix(model_paths["bert"], meta)
    assert matrix.shape == (160, 32)
    neighbours = nearest_tokens(matrix, 50, k=5)
    similarity = cosine_similarity(matrix)
    expected = [i for i in np.argsort(-similarity[50]) if i != 50][:5]
    assert [i for i, _ in neighbours] == expected
    assert neighbours[0][1] == pytest.approx(similarity[50, expected[0]], rel=1e-5)
