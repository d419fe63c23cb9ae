"""Attention taken apart into the seed's steps, with the model's own numbers.

For one head and one query token: q, the keys' k, the dot products q·k, the scaling by
sqrt(d_k), the mask (the keys a person hid and, in a decoder, the causal mask that hides each
token's future), the softmax giving alpha, each alpha·v and their sum b. The inputs
are a run's optional `queries/keys/values.<stack>` outputs (see docs/onnx-contract.md).
Also the token embedding matrix, for similarities and nearest neighbours, and a ViT's way in:
patch pixels -> linear patch embedding -> [CLS] prepended -> learned positions.
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
    scaled: np.ndarray  # (K,) q·k / sqrt(d_k) (the stack's scale), soft-capped where the stack caps scores
    key_mask: np.ndarray  # (K,) bool: False where the key was masked (padding, or hidden by a person)
    causal: np.ndarray  # (K,) bool: False for keys after the query (a decoder's future) or before its
    # sliding window; all True elsewhere
    allowed: np.ndarray  # (K,) bool: both masks
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
            f"this model has no {', '.join(missing)} outputs (exported with --no-internals, or imported from a "
            "family whose attention code is its own), so its steps cannot be recomputed"
        )
    q = outputs[names[0]][layer, head, query].astype(np.float64)  # (hd,)
    k = outputs[names[1]][layer, head].astype(np.float64)  # (K, hd)
    v = outputs[names[2]][layer, head].astype(np.float64)  # (K, hd)
    scores = k @ q  # (K,)
    scaled = scores * spec.score_scale()
    if spec.softcap is not None:
        scaled = spec.softcap * np.tanh(scaled / spec.softcap)
    keys_kept = np.ones(k.shape[0], bool) if key_mask is None else np.asarray(key_mask, bool)
    position = np.arange(k.shape[0])
    past = position <= query if spec.causal else np.ones(k.shape[0], bool)
    window = spec.window(layer)
    if window is not None:  # causal: itself and window - 1 keys before; else as far on either side
        past &= np.abs(position - query) < window
    allowed = keys_kept & past
    alpha = np.zeros_like(scaled)
    if allowed.any():
        shifted = np.exp(scaled[allowed] - scaled[allowed].max())
        alpha[allowed] = shifted / shifted.sum()
    weighted = alpha[:, None] * v  # (K, hd)
    return HeadSteps(q, k, v, scores, scaled, keys_kept, past, allowed, alpha, weighted, weighted.sum(0))


def embedding_matrix(model_path: str | Path, meta: contract.ModelMetadata) -> np.ndarray:
    """The token embedding matrix (vocab, d_model), read from the file's initializer."""
    if not meta.embedding:
        raise LookupError("the model's metadata does not name its embedding initializer")
    proto = onnx.load(str(model_path))
    for init in proto.graph.initializer:
        if init.name == meta.embedding:
            return weight_array(init)
    raise LookupError(f"the file has no initializer named {meta.embedding!r}")


def weight_array(init: onnx.TensorProto) -> np.ndarray:
    """An initializer as numpy, float16 widened to float32: a file may store its weights in
    float16 and cast them up inside the graph (export/half.py), which computes in float32."""
    array = numpy_helper.to_array(init)
    return array.astype(np.float32) if array.dtype == np.float16 else array


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


# -- the file's weights ---------------------------------------------------------------------


class Initializers:
    """The weights inside one .onnx file, read by name (the exporter keeps PyTorch's names).

    The file is parsed once, on first use; arrays are converted as they are asked for.
    """

    def __init__(self, model_path: str | Path):
        self.path = Path(model_path)
        self._protos: dict[str, onnx.TensorProto] | None = None
        self._arrays: dict[str, np.ndarray] = {}  # converted once: the embedding matrix can be 90 MB

    def _all(self) -> dict[str, onnx.TensorProto]:
        if self._protos is None:
            graph = onnx.load(str(self.path)).graph
            self._protos = {init.name: init for init in graph.initializer}
        return self._protos

    def __contains__(self, name: str) -> bool:
        return name in self._all()

    def get(self, name: str) -> np.ndarray:
        protos = self._all()
        if name not in protos:
            raise LookupError(f"the file has no initializer named {name!r}")
        if name not in self._arrays:
            self._arrays[name] = weight_array(protos[name])
        return self._arrays[name]


# -- embeddings and positions --------------------------------------------------------------

LEARNED, SINUSOIDAL_KIND, INSIDE_ATTENTION = "learned", "sinusoidal", "none added (they act inside attention)"


def sinusoidal_table(max_positions: int, d_model: int) -> np.ndarray:
    """PE[pos, 2i] = sin(pos / 10000^(2i/D)), PE[pos, 2i+1] = cos(pos / 10000^(2i/D)): (P, D) float32,
    the same formula as export/layers.py, in float32 as the model computes it."""
    position = np.arange(max_positions, dtype=np.float32)[:, None]  # (P, 1)
    rate = np.exp(np.arange(0, d_model, 2, dtype=np.float32) * np.float32(-np.log(10000.0) / d_model))  # (D/2,)
    table = np.zeros((max_positions, d_model), np.float32)
    table[:, 0::2] = np.sin(position * rate)
    table[:, 1::2] = np.cos(position * rate)
    return table


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """LayerNorm over the last axis, as torch.nn.LayerNorm computes it."""
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def normalise(x: np.ndarray, names: contract.LayerNormNames, weights: Initializers) -> np.ndarray:
    """The norm the metadata names over the last axis: LayerNorm, or RMSNorm (no centring), with
    gain weight + weight_offset and the bias where there is one."""
    gain = weights.get(names.weight) + np.float32(names.weight_offset)
    bias = weights.get(names.bias) if names.bias else np.float32(0.0)
    if not names.rms:
        return layer_norm(x, gain, bias, names.eps)
    return x / np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True) + np.float32(names.eps)) * gain + bias


class _FirstLayerCheck:
    """A recomputation of the first layer's input, next to the model's own `first_layer_input`."""

    computed: np.ndarray
    first_layer_input: np.ndarray

    @property
    def difference(self) -> float:
        """Largest absolute gap between the recomputation and the model's own first-layer input."""
        return float(np.abs(self.computed - self.first_layer_input).max())


@dataclass(frozen=True)
class EmbeddingSteps(_FirstLayerCheck):
    """From token ids to the vector a_i that enters the first layer, step by step; (T, D) arrays."""

    ids: tuple[int, ...]
    tokens: tuple[str, ...]
    vectors: np.ndarray  # rows of the embedding matrix
    scale: float  # the Transformer multiplies them by sqrt(d_model); BERT by 1
    positions: np.ndarray  # the positional encoding of positions 0..T-1 (zeros where none is added)
    positions_kind: str  # LEARNED, SINUSOIDAL_KIND or INSIDE_ATTENTION
    summed: np.ndarray  # vectors * scale + positions (+ the token type's row)
    normed: np.ndarray | None  # the LayerNorm of the sum; None where the model has none
    first_layer_input: np.ndarray  # hidden_states.<stack>[0], what the model really fed its first layer
    token_type: np.ndarray | None = None  # (D,) the token-type row added to every token (BERT's segment A)

    @property
    def computed(self) -> np.ndarray:
        """The last recomputed step: what should equal `first_layer_input`."""
        return self.summed if self.normed is None else self.normed


def text_recipe(meta: contract.ModelMetadata, ids_input: str) -> contract.TextEmbedding:
    """How the sequence `ids_input` enters the first layer, as the metadata names it; LookupError without."""
    if not meta.embedding:
        raise LookupError("the model's metadata does not name its embedding initializer")
    recipe = meta.text_embedding.get(ids_input)
    if recipe is None:
        raise LookupError(f"the model's metadata does not say how {ids_input} enters the first layer "
                          "('text_embedding'); export it again with attention-export")
    return recipe


def position_table(weights: Initializers, recipe: contract.TextEmbedding, length: int, d_model: int):
    """(positions, kind): the encodings of positions 0..length-1 ((length, D); zeros where none is added)."""
    if recipe.positions == contract.SINUSOIDAL:
        return sinusoidal_table(length, d_model), SINUSOIDAL_KIND
    if recipe.positions is None:
        return np.zeros((length, d_model), np.float32), INSIDE_ATTENTION
    table = weights.get(recipe.positions).reshape(-1, d_model)  # (P, D)
    return table[recipe.position_offset : recipe.position_offset + length], LEARNED


def embedding_steps(
    weights: Initializers,
    meta: contract.ModelMetadata,
    outputs: dict[str, np.ndarray],
    stack: str,
    ids: tuple[int, ...],
    tokens: tuple[str, ...],
) -> EmbeddingSteps:
    """Recompute a text model's first-layer input from its weights, for the sequence of `stack`'s queries,
    as the metadata's `text_embedding` says: rows * scale + positions (+ token type), then LayerNorm.
    A file whose metadata does not say raises LookupError."""
    hidden_name = contract.stack_output("hidden_states", stack)
    if hidden_name not in outputs:
        raise MissingInternalsError(f"this model has no {hidden_name} output")
    recipe = text_recipe(meta, meta.stacks[stack].queries)
    table = weights.get(meta.embedding)  # (vocab, D)
    vectors = table[np.asarray(ids, np.int64)]  # (T, D)
    length, d_model = vectors.shape
    positions, kind = position_table(weights, recipe, length, d_model)  # (T, D)
    summed = vectors * np.float32(recipe.scale) + positions
    token_type = None
    if recipe.token_type is not None:
        token_type = weights.get(recipe.token_type).reshape(-1, d_model)[0]  # (D,) segment 0
        summed = summed + token_type
    summed = summed.astype(np.float32)  # (T, D)
    normed = None if recipe.norm is None else normalise(summed, recipe.norm, weights)
    first = outputs[hidden_name][0]  # (T, D)
    return EmbeddingSteps(tuple(ids), tuple(tokens), vectors, recipe.scale, positions, kind, summed, normed,
                          first, token_type)


# -- a ViT's way in: patches instead of token ids --------------------------------------------

def patchify(pixel_values: np.ndarray, patch_size: int) -> np.ndarray:
    """(1, C, H, W) -> (N, C*p*p): the patches row-major, each flattened channel-major (c, y, x)
    as the contract orders a patch's pixels (export/models/vit.py cuts them so; a conv kernel lies so)."""
    _, channels, height, width = pixel_values.shape
    p = patch_size
    blocks = pixel_values[0].reshape(channels, height // p, p, width // p, p)  # (C, rows, p, cols, p)
    return blocks.transpose(1, 3, 0, 2, 4).reshape((height // p) * (width // p), channels * p * p)  # (N, C*p*p)


@dataclass(frozen=True)
class PatchEmbeddingSteps(_FirstLayerCheck):
    """From an image's patches to the vectors that enter the first layer; T = [CLS] + N patches."""

    tokens: tuple[str, ...]  # "[CLS]", "r0c0", "r0c1", ...
    patches: np.ndarray  # (N, C*p*p) each patch's normalised pixels: the model's input, cut up
    projected: np.ndarray  # (N, D) patches @ W.T + b: the linear patch embedding
    cls: np.ndarray | None  # (D,) the learned [CLS] token; None for a model without one
    vectors: np.ndarray  # (T, D) [CLS] then the projected patches
    positions: np.ndarray  # (T, D) the learned position embeddings
    summed: np.ndarray  # (T, D) vectors + positions
    first_layer_input: np.ndarray  # (T, D) hidden_states.<stack>[0]

    @property
    def computed(self) -> np.ndarray:
        return self.summed


def patch_embedding_steps(
    weights: Initializers,
    meta: contract.ModelMetadata,
    outputs: dict[str, np.ndarray],
    stack: str,
    pixel_values: np.ndarray,
    tokens: tuple[str, ...],
) -> PatchEmbeddingSteps:
    """Recompute a ViT's first-layer input from its `pixel_values` (1, C, H, W) and the file's weights,
    which the metadata's `patch_embedding` names; files without it raise LookupError."""
    hidden_name = contract.stack_output("hidden_states", stack)
    if hidden_name not in outputs:
        raise MissingInternalsError(f"this model has no {hidden_name} output")
    if meta.image is None:
        raise LookupError("this model takes no images")
    names = meta.patch_embedding
    if names is None:
        raise LookupError("the model's metadata does not name its patch embedding initializers "
                          "('patch_embedding'): its exporter left them out, or the way its patches enter "
                          "the first layer is not the contract's (a distillation or register token, a norm)")
    try:
        contract.check_initializers(meta, weights)
    except contract.ContractError as exc:
        raise LookupError(str(exc)) from None
    patches = patchify(pixel_values, meta.image.patch_size)  # (N, C*p*p)
    weight = weights.get(names.weight)  # (D, C*p*p) a linear layer, or (D, C, p, p) a conv kernel
    d_model = weight.shape[0]
    projection = weight.reshape(d_model, -1)  # (D, C*p*p): a conv kernel flattens (c, y, x), as patchify does
    if projection.shape[1] != patches.shape[1]:
        raise LookupError(f"patch_embedding.weight {names.weight!r} has shape {list(weight.shape)}, not "
                          f"[d_model, {patches.shape[1]}] or [d_model, C, p, p] as the image spec says")
    projected = patches @ projection.T  # (N, D)
    if names.bias is not None:
        projected = projected + weights.get(names.bias)
    cls = None if names.class_token is None else weights.get(names.class_token).reshape(d_model)  # (D,)
    vectors = projected if cls is None else np.concatenate([cls[None], projected])  # (T, D)
    positions = weights.get(names.positions).reshape(-1, d_model)[: len(vectors)]  # (T, D)
    summed = (vectors + positions).astype(np.float32)  # (T, D)
    first = outputs[hidden_name][0]  # (T, D)
    return PatchEmbeddingSteps(tuple(tokens), patches, projected, cls, vectors, positions, summed, first)


def position_similarity_maps(positions: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(R*C, D) patch position embeddings -> (R, C, R, C): for each position, its cosine similarity
    to every position, laid out on the patch grid (the classic ViT figure of learned 2-D structure)."""
    rows, cols = grid
    return cosine_similarity(positions).reshape(rows, cols, rows, cols)


def mosaic(maps: np.ndarray, gap: int = 1) -> np.ndarray:
    """(R, C, h, w) small maps -> one (R*(h+gap)-gap, C*(w+gap)-gap) image, NaN in the gaps."""
    rows, cols, h, w = maps.shape
    padded = np.pad(maps.astype(np.float64), ((0, 0), (0, 0), (0, gap), (0, gap)), constant_values=np.nan)
    tiled = padded.transpose(0, 2, 1, 3).reshape(rows * (h + gap), cols * (w + gap))  # tile rows, then columns
    return tiled[: rows * (h + gap) - gap, : cols * (w + gap) - gap]


# -- the multi-head step: concatenate the heads, multiply by W_O ---------------------------

@dataclass(frozen=True)
class MultiHeadSteps:
    """One layer's heads put back together, for every query token."""

    head_outputs: np.ndarray  # (H, T, hd) b_h = alpha_h @ v_h
    concat: np.ndarray  # (T, H*hd) the heads side by side
    w_o: np.ndarray  # (D, H*hd) as PyTorch stores it: output = concat @ w_o.T + bias
    bias: np.ndarray  # (D,)
    output: np.ndarray  # (T, D) the attention sublayer's output, before the residual and norm


def multi_head_steps(
    outputs: dict[str, np.ndarray], meta: contract.ModelMetadata, stack: str, layer: int, weights: Initializers
) -> MultiHeadSteps:
    """Per-head outputs from the model's attention and values, concatenated and projected by W_O."""
    names = [contract.attention_output(stack), contract.stack_output("values", stack)]
    missing = [n for n in names if n not in outputs]
    if missing:
        raise MissingInternalsError(f"this model has no {', '.join(missing)} outputs")
    alpha = outputs[names[0]][layer].astype(np.float64)  # (H, T, S)
    values = outputs[names[1]][layer].astype(np.float64)  # (H, S, hd)
    head_outputs = alpha @ values  # (H, T, hd)
    heads, length, head_dim = head_outputs.shape
    concat = head_outputs.transpose(1, 0, 2).reshape(length, heads * head_dim)  # (T, H*hd)
    projection = meta.output_projection.get(stack)
    if projection is None:
        raise LookupError(f"the model's metadata does not name the {stack} stack's W_O ('output_projection'); "
                          "export it again with attention-export")
    w_o = weights.get(projection.weight[layer])  # (D, H*hd), or (H*hd, D) transposed
    w_o = w_o.T if projection.transposed else w_o
    bias = weights.get(projection.bias[layer]) if projection.bias else np.zeros(w_o.shape[0], w_o.dtype)  # (D,)
    return MultiHeadSteps(head_outputs, concat, w_o, bias, concat @ w_o.T + bias)
