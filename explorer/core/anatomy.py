"""Attention taken apart into the seed's steps, with the model's own numbers.

For one head and one query token: q, the keys' k, the dot products q·k, the scaling by
sqrt(d_k), the mask, the softmax giving alpha, each alpha·v and their sum b. The inputs
are a run's optional `queries/keys/values.<stack>` outputs (see docs/onnx-contract.md).
Also the token embedding matrix, for similarities and nearest neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from explorer import contract


class MissingInternalsError(LookupError):
    """The model was exported without the step-by-step outputs this view needs."""


@dataclass(frozen=True)
class HeadSteps:
    """Every step of one head for one query token; vectors over keys have length K."""

    query: np.ndarray  # (head_dim,) q
    keys: np.ndarray  # (K, head_dim) k for every key
    values: np.ndarray  # (K, head_dim) v for every key
    scores: np.ndarray  # (K,) q·k
    scaled: np.ndarray  # (K,) q·k / sqrt(d_k)
    allowed: np.ndarray  # (K,) bool: the key mask and, for causal stacks, no future keys
    alpha: np.ndarray  # (K,) softmax of the allowed scaled scores; exactly 0 where not allowed
    weighted_values: np.ndarray  # (K, head_dim) alpha_k * v_k
    output: np.ndarray  # (head_dim,) b = sum_k alpha_k v_k


def head_steps(
    outputs: dict[str, np.ndarray],
    stack: str,
    spec: contract.StackSpec,
    layer: int,
    head: int,
    query: int,
    key_mask: np.ndarray | None = None,
) -> HeadSteps:
    """Recompute one head's attention for one query from the model's q, k and v.

    `outputs` are batch item 0 of a run (as RunResult.outputs holds them): queries/keys/values
    of shape (layers, heads, len, head_dim).
    """
    names = [contract.stack_output(n, stack) for n in ("queries", "keys", "values")]
    missing = [n for n in names if n not in outputs]
    if missing:
        raise MissingInternalsError(
            f"this model has no {', '.join(missing)} outputs; export it with the step-by-step outputs "
            "(attention-export export without --no-internals)"
        )
    q = outputs[names[0]][layer, head, query].astype(np.float64)  # (hd,)
    k = outputs[names[1]][layer, head].astype(np.float64)  # (K, hd)
    v = outputs[names[2]][layer, head].astype(np.float64)  # (K, hd)
    scores = k @ q  # (K,)
    scaled = scores / np.sqrt(q.shape[0])
    allowed = np.ones(k.shape[0], bool) if key_mask is None else np.asarray(key_mask, bool).copy()
    if spec.causal:
        allowed &= np.arange(k.shape[0]) <= query
    alpha = np.zeros_like(scaled)
    if allowed.any():
        shifted = np.exp(scaled[allowed] - scaled[allowed].max())
        alpha[allowed] = shifted / shifted.sum()
    weighted = alpha[:, None] * v  # (K, hd)
    return HeadSteps(q, k, v, scores, scaled, allowed, alpha, weighted, weighted.sum(0))


def embedding_matrix(model_path: str | Path, meta: contract.ModelMetadata) -> np.ndarray:
    """The token embedding matrix (vocab, d_model), read from the file's initializer."""
    if not meta.embedding:
        raise LookupError("the model's metadata does not name its embedding initializer")
    proto = onnx.load(str(model_path))
    for init in proto.graph.initializer:
        if init.name == meta.embedding:
            return numpy_helper.to_array(init)
    raise LookupError(f"the file has no initializer named {meta.embedding!r}")


def cosine_similarity(vectors: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, N) cosine similarities."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    return unit @ unit.T


def nearest_tokens(matrix: np.ndarray, token_id: int, k: int = 10) -> list[tuple[int, float]]:
    """The `k` vocabulary ids whose embeddings are closest (cosine) to `token_id`'s, itself excluded."""
    unit = matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)
    similarity = unit @ unit[token_id]  # (vocab,)
    similarity[token_id] = -np.inf
    top = np.argpartition(-similarity, min(k, len(similarity) - 1))[:k]
    top = top[np.argsort(-similarity[top])]
    return [(int(i), float(similarity[i])) for i in top]
