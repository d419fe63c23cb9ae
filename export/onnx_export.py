"""Export a model to one self-describing ONNX file that follows explorer.contract.

The graph's inputs are the contract's sequence inputs and, per stack, ``head_mask.<stack>`` and the
long inputs ``attention_rows.<stack>`` and ``attention_block.<stack>``; its outputs are ``logits``,
``attentions.<stack>`` stacked over layers as (layers, batch, heads, queries, keys) (the rows asked
for), ``pooled_attentions.<stack>`` and, when asked, the step-by-step
``queries/keys/values/hidden_states.<stack>``. A model kind with a key-value cache (the GPT)
also takes ``past_key_values.<layer>.key/value`` and returns ``present.<layer>.key/value``.
The metadata JSON goes into ``metadata_props`` under ``attention_explorer``.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import torch
from torch import nn

from explorer import contract
from export import kinds, long_inputs
from export.models.common import ModelOutput

# The token embedding matrix keeps its PyTorch name in the graph (ContractModule.model.embed).
EMBEDDING_INITIALIZER = "model.embed.weight"

# Export examples: lengths of at least 2 so that no axis is specialised to 0 or 1.
_EXAMPLE_BATCH = 2


class ContractModule(nn.Module):
    """Adapts a model to the contract's flat positional inputs and named outputs."""

    def __init__(self, model: nn.Module, attentions: bool = True, internals: bool = False):
        super().__init__()
        self.model = model
        self.model_kind = kinds.for_model(model)
        self.stacks = tuple(self.model_kind.spec.stacks)
        self.attentions = attentions
        self.internals = internals

    @property
    def cache(self) -> contract.KVCache | None:
        return self.model_kind.kv_cache(self.model.config)

    def input_names(self) -> list[str]:
        sequences = [name for pair in self.model_kind.spec.sequences for name in pair]
        cache = self.cache.past_inputs() if self.cache else []
        head_masks = [contract.head_mask_input(s) for s in self.stacks]
        selections = [contract.attention_rows_input(s) for s in self.stacks]
        selections += [contract.attention_block_input(s) for s in self.stacks]
        return sequences + head_masks + selections + cache

    def output_names(self) -> list[str]:
        names = [contract.LOGITS]
        if self.attentions:
            names += [contract.attention_output(s) for s in self.stacks]
            names += [contract.pooled_attention_output(s) for s in self.stacks]
        if self.internals:
            for name in contract.OPTIONAL_STACK_OUTPUTS:
                names += [contract.stack_output(name, s) for s in self.stacks]
        return names + (self.cache.present_outputs() if self.cache else [])

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        n_seq, n = 2 * len(self.model_kind.spec.sequences), len(self.stacks)
        head_masks, rows, blocks = (dict(zip(self.stacks, inputs[start : start + n], strict=True))
                                    for start in range(n_seq, n_seq + 3 * n, n))
        selections = {s: long_inputs.AttentionSelection(rows[s], blocks[s]) for s in self.stacks}
        flat = inputs[n_seq + 3 * n:]  # a cache's (key, value) per layer, in past_inputs' order
        past = {"past": list(zip(flat[0::2], flat[1::2], strict=True))} if self.cache else {}
        out: ModelOutput = self.model_kind.forward(self.model, inputs[:n_seq], head_masks, selections, **past)
        results = [out.logits]
        if self.attentions:
            results += [torch.stack(out.stacks[s].probs) for s in self.stacks]  # (L, B, H, rows, S)
            results += [torch.stack(out.stacks[s].pooled) for s in self.stacks]  # (L, B, H, T / b, S / b)
        if self.internals:
            for name in contract.OPTIONAL_STACK_OUTPUTS:
                results += [torch.stack(getattr(out.stacks[s], name)) for s in self.stacks]
        if self.cache:  # every key and value so far: the next step's past
            trace = out.stacks[self.cache.stack]
            results += [t for pair in zip(trace.keys, trace.values, strict=True) for t in pair]
        return tuple(results)


def example_inputs(model: nn.Module) -> tuple[torch.Tensor, ...]:
    """Inputs for tracing: the kind's sequences, then per stack a head mask of ones, then its rows
    and blocks (lengths unlike any other axis's), then a cache's past."""
    model_kind = kinds.for_model(model)
    config = model.config
    specs = model_kind.stack_specs(config).values()
    head_masks = tuple(torch.ones(spec.layers, spec.heads) for spec in specs)
    rows = tuple(torch.arange(long_inputs.EXAMPLE_ROWS) for _ in specs)
    blocks = tuple(torch.zeros(long_inputs.EXAMPLE_BLOCK) for _ in specs)
    past = model_kind.example_past(config, _EXAMPLE_BATCH) if model_kind.kv_cache(config) else ()
    return model_kind.example_sequences(config, _EXAMPLE_BATCH) + head_masks + rows + blocks + past


def dynamic_shapes(model: nn.Module) -> tuple:
    model_kind = kinds.for_model(model)
    batch = torch.export.Dim("batch", min=1, max=4096)
    fixed_head_masks = tuple(None for _ in model_kind.spec.stacks)
    most = long_inputs.MAX_SELECTION
    rows = tuple({0: torch.export.Dim(f"rows_{s}", min=1, max=most)} for s in model_kind.spec.stacks)
    blocks = tuple({0: torch.export.Dim(f"block_{s}", min=1, max=most)} for s in model_kind.spec.stacks)
    cache = model_kind.kv_cache(model.config)
    past = tuple({0: batch, 2: torch.export.Dim.AUTO} for _ in (cache.past_inputs() if cache else ()))
    return model_kind.dynamic_sequences(model.config, batch) + fixed_head_masks + rows + blocks + past


def export_onnx(
    model: nn.Module,
    metadata: contract.ModelMetadata,
    path: str | Path,
    attentions: bool = True,
    internals: bool = False,
) -> Path:
    """Write `model` to `path` as one ONNX file with the contract's inputs, outputs and metadata."""
    wrapper = ContractModule(model.eval(), attentions=attentions, internals=internals).eval()
    # One dynamic_shapes entry: forward takes *inputs.
    proto = to_onnx(wrapper, example_inputs(model), (dynamic_shapes(model),))
    initializers = {init.name for init in proto.graph.initializer}
    if metadata.embedding is None and EMBEDDING_INITIALIZER in initializers:
        metadata = dataclasses.replace(metadata, embedding=EMBEDDING_INITIALIZER)
    return save_contract_model(proto, _with_weight_names(metadata, wrapper), path)


def _with_weight_names(metadata: contract.ModelMetadata, wrapper: ContractModule) -> contract.ModelMetadata:
    """The metadata naming where the anatomy views find the weights: the way in, and each layer's W_O."""
    model, model_kind = wrapper.model, wrapper.model_kind

    def name_of(parameter: torch.Tensor) -> str:
        return initializer_name(wrapper, parameter)

    projections = {
        stack: contract.OutputProjection(tuple(name_of(a.w_o.weight) for a in layers),
                                         tuple(name_of(a.w_o.bias) for a in layers))
        for stack, layers in model_kind.attention_modules(model).items()
    }
    return dataclasses.replace(
        metadata,
        text_embedding=model_kind.text_embedding(model, name_of),
        patch_embedding=model_kind.patch_embedding(model, name_of),
        unembedding=model_kind.unembedding(model, name_of),
        output_projection=projections,
    )


def initializer_name(wrapper: nn.Module, parameter: torch.Tensor) -> str:
    """The graph's name for one of `wrapper`'s parameters: its state-dict name, which the exporter
    keeps with its optimiser off (see to_onnx)."""
    return next(name for name, p in wrapper.named_parameters() if p is parameter)


def to_onnx(wrapper: nn.Module, inputs: tuple[torch.Tensor, ...], shapes: tuple) -> onnx.ModelProto:
    """`wrapper` (with input_names() and output_names()) through the dynamo exporter, as every
    contract file is made: dynamic axes from `shapes`, weights inside."""
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" noise
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter is chatty about things that do not concern us
        program = torch.onnx.export(
            wrapper,
            inputs,
            dynamo=True,
            input_names=wrapper.input_names(),
            output_names=wrapper.output_names(),
            dynamic_shapes=shapes,
            external_data=False,
            # No exporter-side optimisation: it renames and copies initializers (the tied embedding
            # lost its name, small weights were duplicated); ONNX Runtime optimises at load anyway.
            optimize=False,
            verbose=False,
        )
    proto = program.model_proto
    for node in proto.graph.node:  # the exporter's per-node stack traces: most of a small file's bytes
        del node.metadata_props[:]
    return proto


def save_contract_model(proto: onnx.ModelProto, metadata: contract.ModelMetadata, path: str | Path) -> Path:
    """Write `proto` to `path` as one contract file: head masks default to ones, the metadata entry set.
    Raises ContractError when the metadata names an initializer the graph lacks."""
    contract.check_initializers(metadata, {init.name for init in proto.graph.initializer})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _default_optional_inputs(proto, metadata)
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key = contract.METADATA_KEY
    entry.value = metadata.to_json()
    onnx.save_model(proto, str(path), save_as_external_data=False)
    return path


def _default_optional_inputs(proto: onnx.ModelProto, metadata: contract.ModelMetadata) -> None:
    """Give each head_mask input an initializer of ones with the same name, each past of a key-value
    cache an empty one (batch 1, length 0) and the long inputs theirs (every row, one block): ONNX's
    way to make an input optional with a default, so a caller that ablates nothing, runs a whole
    sequence, or wants the full attention need not feed them."""
    inputs = {i.name for i in proto.graph.input}
    defaults = {contract.head_mask_input(stack): np.ones((spec.layers, spec.heads), np.float32)
                for stack, spec in metadata.stacks.items()}
    if metadata.kv_cache:
        defaults.update({name: np.zeros(metadata.kv_cache.shape(1, 0), np.float32)
                         for name in metadata.kv_cache.past_inputs()})
    defaults.update(long_inputs.default_inputs(metadata))
    for name, value in defaults.items():
        if name in inputs:
            proto.graph.initializer.append(onnx.numpy_helper.from_array(value, name))


def metadata_for(
    model: nn.Module,
    *,
    name: str,
    tokenizer_json: str | None = None,
    special_tokens: dict[str, str] | None = None,
    labels: tuple[str, ...] = (),
    image: contract.ImageSpec | None = None,
    provenance: dict | None = None,
    description: str = "",
    sample_text: str = "",
) -> contract.ModelMetadata:
    """The contract metadata for one of our models; sizes come from its config."""
    model_kind = kinds.for_model(model)
    c = model.config
    return contract.ModelMetadata(
        kind=model_kind.kind,
        stacks=model_kind.stack_specs(c),
        kv_cache=model_kind.kv_cache(c),
        d_model=c.d_model,
        max_positions=model_kind.max_positions(c),
        tokenizer=tokenizer_json,
        special_tokens=dict(special_tokens or {}),
        labels=tuple(labels),
        image=image,
        name=name,
        description=description,
        sample_text=sample_text,
        # The exact count from PyTorch: the file's initializers hold tied weights once.
        provenance={"parameters": sum(p.numel() for p in model.parameters()), **(provenance or {})},
    )
