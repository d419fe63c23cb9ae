"""A checkpoint folder -> one contract ONNX file: the metadata, the traced graph, the weights' names."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import onnx
import torch

from explorer import contract
from explorer.shared.hf_folder import folder_metadata, token_embedding
from explorer.shared.images import first_patch
from export import long_inputs
from export.hf.folder import Checkpoint, load_model, read_checkpoint
from export.hf.seq2seq import export_seq2seq
from export.hf.wrapper import ContractWrapper
from export.onnx_export import save_contract_model, to_onnx

_EXAMPLE_BATCH, _EXAMPLE_LENGTH = 2, 6  # lengths of at least 2, so that no axis is specialised
_EXAMPLE_PAST = 3  # a cached decoder is traced with this many past tokens


def features_labels(checkpoint: Checkpoint) -> tuple[str, ...] | None:
    """An image model without a classifier gives its pooled features as the file's "logits": the labels say so."""
    vision = checkpoint.family.vision
    if vision is None or checkpoint.class_name != vision.features:
        return None
    return tuple(f"feature {i}" for i in range(checkpoint.config["hidden_size"]))


def takes_long_inputs(checkpoint: Checkpoint, meta: contract.ModelMetadata) -> bool:
    """Whether the file takes the contract's long inputs: a text model whose longest input is known
    (their defaults are every row of it) and whose attention our function computes. An image's
    patches are few and fixed."""
    return meta.image is None and bool(long_inputs.default_inputs(meta)) and not checkpoint.family.own_attention


def example_inputs(checkpoint: Checkpoint, meta: contract.ModelMetadata,
                   logit_rows: bool = False) -> tuple[torch.Tensor, ...]:
    """Tracing examples in forward's order; `logit_rows`: the model's logits are kept at rows (ContractWrapper)."""
    spec = meta.stacks[contract.KIND_STACKS[checkpoint.kind][0]]
    head_mask = torch.ones(spec.layers, spec.heads)
    b = _EXAMPLE_BATCH
    if meta.image is not None:
        pixels = torch.randn(b, meta.image.channels, *meta.image.size)  # (B, C, H, W)
        return pixels, torch.ones(b, first_patch(meta.image) + meta.image.num_patches, dtype=torch.long), head_mask
    ids = torch.randint(0, checkpoint.config["vocab_size"], (b, _EXAMPLE_LENGTH))  # (B, T)
    long = takes_long_inputs(checkpoint, meta)
    selection = (torch.arange(long_inputs.EXAMPLE_ROWS), torch.zeros(long_inputs.EXAMPLE_BLOCK),
                 torch.zeros(long_inputs.EXAMPLE_INTERNALS)) if long else ()
    selection += (torch.arange(long_inputs.EXAMPLE_LOGIT_ROWS),) if logit_rows else ()
    if meta.kv_cache is None:
        return ids, torch.ones_like(ids), head_mask, *selection
    past = tuple(torch.randn(meta.kv_cache.shape(b, _EXAMPLE_PAST)) for _ in meta.kv_cache.past_inputs())
    return ids, torch.ones(b, _EXAMPLE_PAST + _EXAMPLE_LENGTH, dtype=torch.long), head_mask, *past, *selection


def dynamic_shapes(checkpoint: Checkpoint, meta: contract.ModelMetadata, logit_rows: bool = False) -> tuple:
    """The inputs' dynamic axes; forward takes a cache's past and the long inputs as *rest: one entry."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    if meta.image is not None:
        return {0: batch}, {0: batch}, None
    selection = ()
    if takes_long_inputs(checkpoint, meta):
        selection = ({0: torch.export.Dim("rows", min=1, max=long_inputs.MAX_SELECTION)},
                     {0: torch.export.Dim("block", min=1, max=long_inputs.MAX_SELECTION)},
                     {0: torch.export.Dim("internals", min=0, max=long_inputs.MAX_INTERNALS)})
    if logit_rows:
        selection += ({0: torch.export.Dim("logit_rows", min=1, max=long_inputs.MAX_SELECTION)},)
    if meta.kv_cache is not None:  # the mask covers past + new tokens, a sum torch.export infers by itself
        auto = torch.export.Dim.AUTO
        past = tuple({0: batch, 2: auto} for _ in meta.kv_cache.past_inputs())
        return {0: batch, 1: auto}, {0: batch, 1: auto}, None, (*past, *selection)
    longest = next(iter(meta.max_positions.values()), 4096)
    seq = torch.export.Dim("seq", min=2, max=longest)
    return {0: batch, 1: seq}, {0: batch, 1: seq}, None, *((selection,) if selection else ())


def kv_cache(meta: contract.ModelMetadata) -> contract.KVCache | None:
    """A decoder's cache: every layer's keys and values, as transformers' own cache holds them
    (one per key/value head where the model groups its queries)."""
    causal = [(name, spec) for name, spec in meta.stacks.items() if spec.causal]
    if len(meta.stacks) != 1 or not causal:  # a seq2seq decoder steps with its encoder: not cached here
        return None
    name, spec = causal[0]
    return contract.KVCache(name, spec.layers, spec.kv_heads or spec.heads, spec.head_dim)


def with_cached_heads(meta: contract.ModelMetadata, model: torch.nn.Module) -> contract.ModelMetadata:
    """`meta` whose causal stack shares as many key/value heads as the model's own cache holds: what
    config.json says is not always it (Falcon's multi-query attention keeps 1, whatever num_kv_heads says;
    Falcon-40B's layout repeats its shared heads for every query head before caching them)."""
    name, spec = next(iter(meta.stacks.items()))
    with torch.no_grad():
        out = model(input_ids=torch.zeros(1, 2, dtype=torch.long), use_cache=True)
    cached = out.cache.layers[0].keys.shape[1]  # (B, heads, T, hd)
    spec = dataclasses.replace(spec, kv_heads=None if cached == spec.heads else cached)
    return dataclasses.replace(meta, stacks={name: spec})


def batch_from_the_ids(proto: onnx.ModelProto, cache: contract.KVCache) -> None:
    """Read the batch size off input_ids wherever the graph reads it off a past: torch.export gives
    equal dimensions one symbol and may read it off any input that has it, but a past left out takes
    its default, empty and of batch 1, whatever the batch."""
    pasts = set(cache.past_inputs())
    for node in proto.graph.node:
        axes = {a.name: a.i for a in node.attribute}
        if node.op_type == "Shape" and node.input[0] in pasts and (axes.get("start"), axes.get("end")) == (0, 1):
            node.input[0] = contract.INPUT_IDS


def export_hf(folder: str | Path, out: str | Path, task: str | None = None,
              progress: Callable[[str], None] = lambda stage: None) -> Path:
    """Import the checkpoint in `folder` as the contract file `out`; `task` overrides the kind.
    `progress` hears each stage's name as it starts (the app shows them while it imports)."""
    progress("reading the checkpoint")
    checkpoint = read_checkpoint(folder, task)
    provenance = {"source": "huggingface", "path": str(checkpoint.folder.resolve()),
                  "architecture": checkpoint.architecture, "config": checkpoint.model_type}
    if len(contract.KIND_STACKS[checkpoint.kind]) > 1:  # an encoder–decoder's three stacks
        return export_seq2seq(checkpoint, out, provenance, progress)
    # The metadata first: a missing tokenizer.json or preprocessor_config.json stops us before any work.
    meta = folder_metadata(checkpoint.folder, checkpoint.kind, checkpoint.config, labels=features_labels(checkpoint),
                           provenance=provenance)
    progress("loading the weights")
    model = load_model(checkpoint)
    parameters = sum(p.numel() for p in model.parameters())  # tied weights once, as the app should count them
    meta = dataclasses.replace(meta, provenance={**meta.provenance, "parameters": parameters})
    if kv_cache(meta) is not None:
        meta = with_cached_heads(meta, model)
    meta = dataclasses.replace(meta, kv_cache=kv_cache(meta))
    wrapper = ContractWrapper(model, checkpoint.kind, checkpoint.family, meta.kv_cache,
                              long_inputs=takes_long_inputs(checkpoint, meta)).eval()
    example = example_inputs(checkpoint, meta, wrapper.logit_rows)
    progress("tracing")
    proto = to_onnx(wrapper, example, dynamic_shapes(checkpoint, meta, wrapper.logit_rows))
    if meta.kv_cache is not None:
        batch_from_the_ids(proto, meta.kv_cache)
    with torch.no_grad():
        wrapper(*example)  # once more outside the tracer, which keeps no record of how each layer scored
    if meta.image is None:
        meta = dataclasses.replace(meta, embedding=token_embedding(proto.graph, checkpoint.config["vocab_size"]),
                                   text_embedding=wrapper.text_embedding())
    else:
        meta = dataclasses.replace(meta, patch_embedding=wrapper.patch_embedding(meta.image))
    spec = meta.stacks[wrapper.stack]
    meta = dataclasses.replace(meta, stacks={wrapper.stack: wrapper.scored(spec)},
                               output_projection=wrapper.output_projection(spec.layers),
                               unembedding=wrapper.unembedding(proto.graph))
    progress("writing")
    return save_contract_model(proto, meta, out)
