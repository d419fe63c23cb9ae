"""From a model (trained or not) to a contract ONNX file with all its metadata."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx
import onnx.numpy_helper
import torch
from torch import nn

from explorer import contract
from export import kinds
from export.checkpoint import load_model
from export.onnx_export import export_onnx, metadata_for

# Checkpoints carry what the ONNX metadata needs under this key of their header's "extra".
EXPORT_INFO = "export"
# The exporter names each weight's initializer by its state-dict name inside ContractModule.
WEIGHT_PREFIX = "model."


def export_checkpoint(checkpoint: str | Path, out: str | Path, internals: bool = True) -> Path:
    model, extra = load_model(checkpoint)
    info = extra.get(EXPORT_INFO)
    if info is None:
        raise ValueError(f"{checkpoint}: the checkpoint carries no export information (tokenizer, labels)")
    image = contract.ImageSpec(**{**info["image"], "size": tuple(info["image"]["size"])}) if info.get("image") else None
    meta = metadata_for(
        model,
        name=info.get("name", Path(checkpoint).stem),
        tokenizer_json=info.get("tokenizer"),
        special_tokens=info.get("special_tokens"),
        labels=tuple(info.get("labels", ())),
        image=image,
        provenance=info.get("provenance"),
        description=info.get("description", ""),
        sample_text=info.get("sample_text", ""),
    )
    figures = tuple(contract.Figure(**figure) for figure in info.get("figures", ()))
    return export_onnx(model, dataclasses.replace(meta, figures=figures), out, internals=internals)


def export_info(meta: contract.ModelMetadata) -> dict:
    """The part of the metadata a checkpoint keeps so that it can be exported later."""
    return {
        "name": meta.name,
        "tokenizer": meta.tokenizer,
        "special_tokens": meta.special_tokens,
        "labels": list(meta.labels),
        "image": dataclasses.asdict(meta.image) if meta.image else None,
        "provenance": meta.provenance,
        "description": meta.description,
        "sample_text": meta.sample_text,
        "figures": [dataclasses.asdict(figure) for figure in meta.figures],
    }


def untrained_model(kind: str, overrides: dict | None = None, seed: int = 0):
    """A randomly initialised model of `kind` ("bert", "transformer", "vit", "gpt"); `overrides` sets config
    fields (layers, heads, d_model...)."""
    model_kind = kinds.MODEL_KINDS[kind]
    config = model_kind.config(overrides)
    torch.manual_seed(seed)
    return model_kind.model_class(config).eval()


def untrained_metadata(kind: str, model) -> contract.ModelMetadata:
    return metadata_for(model, provenance=dict(kinds.UNTRAINED), **kinds.MODEL_KINDS[kind].untrained_metadata(model))


def export_untrained(
    kind: str, out: str | Path, overrides: dict | None = None, seed: int = 0, internals: bool = True
) -> Path:
    model = untrained_model(kind, overrides, seed)
    return export_onnx(model, untrained_metadata(kind, model), out, internals=internals)


def model_from_onnx(path: str | Path) -> nn.Module:
    """The PyTorch model a contract file of ours holds: the config from its metadata and the
    weights' shapes, the weights from its initializers (PyTorch's state-dict names, under
    WEIGHT_PREFIX). A bundled model can so be run in PyTorch without its checkpoint."""
    proto = onnx.load(str(path))
    meta = contract.parse_metadata({p.key: p.value for p in proto.metadata_props}.get(contract.METADATA_KEY))
    try:
        model_kind = kinds.for_kind(meta.kind)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    weights = {
        init.name.removeprefix(WEIGHT_PREFIX): init
        for init in proto.graph.initializer
        if init.name.startswith(WEIGHT_PREFIX)
    }
    shapes = {name: tuple(init.dims) for name, init in weights.items()}
    model = model_kind.model_class(model_kind.config_class(**model_kind.config_fields(meta, shapes))).eval()
    state = model.state_dict()  # buffers the model computes itself (sinusoidal positions) are not in it
    missing = sorted(set(state) - set(weights))
    if missing:
        raise ValueError(f"{path}: not exported from export.models: no initializers for {missing[:5]}")
    model.load_state_dict({name: torch.from_numpy(onnx.numpy_helper.to_array(weights[name]).copy()) for name in state})
    return model
