"""Export a model to one self-describing ONNX file that follows explorer.contract.

The graph's inputs are the contract's sequence inputs and one ``head_mask.<stack>``
per stack; its outputs are ``logits``, ``attentions.<stack>`` stacked over layers
as (layers, batch, heads, queries, keys) and, when asked, the step-by-step
``queries/keys/values/hidden_states.<stack>``. The metadata JSON goes into
``metadata_props`` under ``attention_explorer``.
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
from export.models import Bert, Transformer, ViT
from export.models.common import ModelOutput

# The token embedding matrix keeps its PyTorch name in the graph (ContractModule.model.embed).
EMBEDDING_INITIALIZER = "model.embed.weight"

# Export examples: lengths of at least 2 so that no axis is specialised to 0 or 1.
_EXAMPLE_BATCH = 2


def kind_of(model: nn.Module) -> str:
    if isinstance(model, Bert):
        return "bert-mlm"
    if isinstance(model, Transformer):
        return "seq2seq"
    if isinstance(model, ViT):
        return "vit-classifier"
    raise TypeError(f"no contract kind for {type(model).__name__}")


def stack_shapes(model: nn.Module) -> dict[str, tuple[int, int]]:
    """(layers, heads) of each stack."""
    c = model.config
    if isinstance(model, Transformer):
        return {
            "encoder": (c.encoder_layers, c.heads),
            "decoder": (c.decoder_layers, c.heads),
            "cross": (c.decoder_layers, c.heads),
        }
    return {"encoder": (c.layers, c.heads)}


class ContractModule(nn.Module):
    """Adapts a model to the contract's flat positional inputs and named outputs."""

    def __init__(self, model: nn.Module, attentions: bool = True, internals: bool = False):
        super().__init__()
        self.model = model
        self.kind = kind_of(model)
        self.stacks = contract.KIND_STACKS[self.kind]
        self.attentions = attentions
        self.internals = internals

    def input_names(self) -> list[str]:
        sequences = [name for pair in contract.KIND_SEQUENCES[self.kind] for name in pair]
        return sequences + [contract.head_mask_input(s) for s in self.stacks]

    def output_names(self) -> list[str]:
        names = [contract.LOGITS]
        if self.attentions:
            names += [contract.attention_output(s) for s in self.stacks]
        if self.internals:
            for name in contract.OPTIONAL_STACK_OUTPUTS:
                names += [contract.stack_output(name, s) for s in self.stacks]
        return names

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        n_seq = len(inputs) - len(self.stacks)
        head_masks = dict(zip(self.stacks, inputs[n_seq:], strict=True))
        out: ModelOutput
        if self.kind == "seq2seq":
            src_ids, src_mask, tgt_ids, tgt_mask = inputs[:n_seq]
            out = self.model(
                src_ids, src_mask, tgt_ids, tgt_mask,
                head_masks["encoder"], head_masks["decoder"], head_masks["cross"],
            )
        else:
            out = self.model(inputs[0], inputs[1], head_masks["encoder"])
        results = [out.logits]
        if self.attentions:
            results += [torch.stack(out.stacks[s].probs) for s in self.stacks]  # (L, B, H, T, S)
        if self.internals:
            for name in contract.OPTIONAL_STACK_OUTPUTS:
                results += [torch.stack(getattr(out.stacks[s], name)) for s in self.stacks]
        return tuple(results)


def example_inputs(model: nn.Module) -> tuple[torch.Tensor, ...]:
    """Inputs for tracing, with lengths that differ from each other and from 0/1."""
    kind = kind_of(model)
    b = _EXAMPLE_BATCH
    c = model.config
    head_masks = tuple(torch.ones(layers, heads) for layers, heads in stack_shapes(model).values())
    if kind == "seq2seq":
        s, t = 7, 5
        return (
            torch.randint(1, c.vocab_size, (b, s)), torch.ones(b, s, dtype=torch.long),
            torch.randint(1, c.vocab_size, (b, t)), torch.ones(b, t, dtype=torch.long),
        ) + head_masks
    if kind == "vit-classifier":
        n = 1 + c.num_patches
        return (
            torch.randn(b, c.channels, c.image_size, c.image_size), torch.ones(b, n, dtype=torch.long),
        ) + head_masks
    t = 6
    return (torch.randint(1, c.vocab_size, (b, t)), torch.ones(b, t, dtype=torch.long)) + head_masks


def dynamic_shapes(model: nn.Module) -> tuple:
    kind = kind_of(model)
    batch = torch.export.Dim("batch", min=1, max=4096)
    fixed_head_masks = tuple(None for _ in contract.KIND_STACKS[kind])
    if kind == "seq2seq":
        c = model.config
        src = torch.export.Dim("src", min=2, max=c.max_positions)
        tgt = torch.export.Dim("tgt", min=2, max=c.max_positions)
        return ({0: batch, 1: src}, {0: batch, 1: src}, {0: batch, 1: tgt}, {0: batch, 1: tgt}) + fixed_head_masks
    if kind == "vit-classifier":
        return ({0: batch}, {0: batch}) + fixed_head_masks
    seq = torch.export.Dim("seq", min=2, max=model.config.max_positions)
    return ({0: batch, 1: seq}, {0: batch, 1: seq}) + fixed_head_masks


def stack_specs(model: nn.Module) -> dict[str, contract.StackSpec]:
    kind = kind_of(model)
    head_dim = model.config.d_model // model.config.heads
    sequences = {
        "seq2seq": {
            "encoder": (contract.SRC_IDS, contract.SRC_IDS, False),
            "decoder": (contract.TGT_IDS, contract.TGT_IDS, True),
            "cross": (contract.TGT_IDS, contract.SRC_IDS, False),
        },
        "vit-classifier": {"encoder": (contract.PIXEL_VALUES, contract.PIXEL_VALUES, False)},
        "bert-mlm": {"encoder": (contract.INPUT_IDS, contract.INPUT_IDS, False)},
    }[kind]
    return {
        stack: contract.StackSpec(layers, heads, head_dim, *sequences[stack])
        for stack, (layers, heads) in stack_shapes(model).items()
    }


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
    if isinstance(model, ViT):
        metadata = dataclasses.replace(metadata, patch_embedding=contract.PatchEmbedding(
            weight=initializer_name(wrapper, model.patch_embed.weight),  # (D, C*p*p), a Linear
            bias=initializer_name(wrapper, model.patch_embed.bias),
            class_token=initializer_name(wrapper, model.cls_token),  # (1, 1, D)
            positions=initializer_name(wrapper, model.positions.weight),  # (1 + N, D)
        ))
    return save_contract_model(proto, metadata, path)


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
    _default_head_masks_to_ones(proto, metadata)
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key = contract.METADATA_KEY
    entry.value = metadata.to_json()
    onnx.save_model(proto, str(path), save_as_external_data=False)
    return path


def _default_head_masks_to_ones(proto: onnx.ModelProto, metadata: contract.ModelMetadata) -> None:
    """Give each head_mask input an initializer of ones with the same name: ONNX's way to make an
    input optional with a default, so a caller that ablates nothing need not feed it."""
    inputs = {i.name for i in proto.graph.input}
    for stack, spec in metadata.stacks.items():
        name = contract.head_mask_input(stack)
        if name in inputs:
            ones = onnx.numpy_helper.from_array(np.ones((spec.layers, spec.heads), dtype=np.float32), name)
            proto.graph.initializer.append(ones)


def metadata_for(
    model: nn.Module,
    *,
    name: str,
    tokenizer_json: str | None = None,
    special_tokens: dict[str, str] | None = None,
    labels: tuple[str, ...] = (),
    image: contract.ImageSpec | None = None,
    provenance: dict | None = None,
) -> contract.ModelMetadata:
    """The contract metadata for one of our models; sizes come from its config."""
    kind = kind_of(model)
    c = model.config
    if kind == "seq2seq":
        max_positions = {contract.SRC_IDS: c.max_positions, contract.TGT_IDS: c.max_positions}
    elif kind == "vit-classifier":
        max_positions = {contract.PIXEL_VALUES: 1 + c.num_patches}
    else:
        max_positions = {contract.INPUT_IDS: c.max_positions}
    return contract.ModelMetadata(
        kind=kind,
        stacks=stack_specs(model),
        d_model=c.d_model,
        max_positions=max_positions,
        tokenizer=tokenizer_json,
        special_tokens=dict(special_tokens or {}),
        labels=tuple(labels),
        image=image,
        name=name,
        # The exact count from PyTorch: the file's initializers hold tied weights once.
        provenance={"parameters": sum(p.numel() for p in model.parameters()), **(provenance or {})},
    )
