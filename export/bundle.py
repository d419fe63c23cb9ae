"""From a model (trained or not) to a contract ONNX file with all its metadata."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx
import onnx.numpy_helper
import torch
from tokenizers import Tokenizer
from torch import nn

from explorer import contract
from export.checkpoint import MODEL_CLASSES, load_model
from export.onnx_export import export_onnx, metadata_for
from export.tokenizer import BERT_SPECIAL, character_wordpiece

# Checkpoints carry what the ONNX metadata needs under this key of their header's "extra".
EXPORT_INFO = "export"
# The exporter names each weight's initializer by its state-dict name inside ContractModule.
WEIGHT_PREFIX = "model."
KIND_CLASSES = {"bert-mlm": "Bert", "seq2seq": "Transformer", "vit-classifier": "ViT"}


def image_spec_for(config) -> contract.ImageSpec:
    """Our ViTs take [0, 1] RGB normalised with mean 0.5, std 0.5 per channel."""
    return contract.ImageSpec(
        size=(config.image_size, config.image_size),
        patch_size=config.patch_size,
        channels=config.channels,
        mean=(0.5,) * config.channels,
        std=(0.5,) * config.channels,
    )


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
    )
    return export_onnx(model, meta, out, internals=internals)


def export_info(meta: contract.ModelMetadata) -> dict:
    """The part of the metadata a checkpoint keeps so that it can be exported later."""
    return {
        "name": meta.name,
        "tokenizer": meta.tokenizer,
        "special_tokens": meta.special_tokens,
        "labels": list(meta.labels),
        "image": dataclasses.asdict(meta.image) if meta.image else None,
        "provenance": meta.provenance,
    }


def untrained_model(kind: str, overrides: dict | None = None, seed: int = 0):
    """A randomly initialised model; `overrides` sets config fields (layers, heads, d_model...)."""
    names = {"bert": "Bert", "transformer": "Transformer", "vit": "ViT"}
    model_cls, config_cls = MODEL_CLASSES[names[kind]]
    overrides = dict(overrides or {})
    fields = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown {config_cls.__name__} fields {sorted(unknown)}; known: {sorted(fields)}")
    torch.manual_seed(seed)
    return model_cls(config_cls(**overrides)).eval()


def untrained_metadata(kind: str, model) -> contract.ModelMetadata:
    provenance = {"source": "untrained", "note": "random weights, for tests and demos"}
    if kind == "vit":
        labels = tuple(f"class {i}" for i in range(model.config.classes))
        return metadata_for(
            model, name="untrained ViT", labels=labels, image=image_spec_for(model.config), provenance=provenance
        )
    tokenizer = character_wordpiece(model.config.vocab_size)
    if kind == "bert":
        return metadata_for(
            model, name="untrained BERT", tokenizer_json=tokenizer.to_str(),
            special_tokens=BERT_SPECIAL, provenance=provenance,
        )
    # The seq2seq decoder starts from [CLS] and stops at [SEP] in the character vocabulary.
    special = {"pad": "[PAD]", "unk": "[UNK]", "bos": "[CLS]", "eos": "[SEP]"}
    tokenizer.post_processor = None
    return metadata_for(
        model, name="untrained Transformer", tokenizer_json=tokenizer.to_str(),
        special_tokens=special, provenance=provenance,
    )


def export_untrained(
    kind: str, out: str | Path, overrides: dict | None = None, seed: int = 0, internals: bool = True
) -> Path:
    if kind == "transformer" and "vocab_size" not in (overrides or {}):
        overrides = {**(overrides or {}), "vocab_size": 160}  # room for the character vocabulary
    model = untrained_model(kind, overrides, seed)
    return export_onnx(model, untrained_metadata(kind, model), out, internals=internals)


def model_from_onnx(path: str | Path) -> nn.Module:
    """The PyTorch model a contract file of ours holds: the config from its metadata and the
    weights' shapes, the weights from its initializers (PyTorch's state-dict names, under
    WEIGHT_PREFIX). A bundled model can so be run in PyTorch without its checkpoint."""
    proto = onnx.load(str(path))
    meta = contract.parse_metadata({p.key: p.value for p in proto.metadata_props}.get(contract.METADATA_KEY))
    if meta.kind not in KIND_CLASSES:
        raise ValueError(f"{path}: a {meta.kind!r} file; export/ defines {sorted(KIND_CLASSES)}")
    weights = {
        init.name.removeprefix(WEIGHT_PREFIX): init
        for init in proto.graph.initializer
        if init.name.startswith(WEIGHT_PREFIX)
    }
    model_cls, config_cls = MODEL_CLASSES[KIND_CLASSES[meta.kind]]
    shapes = {name: tuple(init.dims) for name, init in weights.items()}
    model = model_cls(config_cls(**_config_fields(meta, shapes))).eval()
    state = model.state_dict()  # buffers the model computes itself (sinusoidal positions) are not in it
    missing = sorted(set(state) - set(weights))
    if missing:
        raise ValueError(f"{path}: not exported from export.models: no initializers for {missing[:5]}")
    model.load_state_dict({name: torch.from_numpy(onnx.numpy_helper.to_array(weights[name]).copy()) for name in state})
    return model


def _config_fields(meta: contract.ModelMetadata, shapes: dict[str, tuple[int, ...]]) -> dict:
    """Config fields of our model classes: sizes from the metadata, the rest from weight shapes."""
    encoder = meta.stacks["encoder"]
    d_ff = shapes["encoder.blocks.0.feed_forward.net.0.weight"][0]  # (d_ff, d_model)
    fields = {"d_model": meta.d_model, "heads": encoder.heads, "d_ff": d_ff}
    if meta.kind == "vit-classifier":
        height, width = meta.image.size
        if height != width:
            raise ValueError(f"our ViT takes square images; the metadata says {meta.image.size}")
        return {
            **fields, "layers": encoder.layers, "image_size": height, "patch_size": meta.image.patch_size,
            "channels": meta.image.channels, "classes": shapes["head.weight"][0],
        }
    pad_id = Tokenizer.from_str(meta.tokenizer).token_to_id(meta.special_tokens.get("pad", ""))
    fields |= {"vocab_size": shapes["embed.weight"][0], "pad_id": 0 if pad_id is None else pad_id}
    if meta.kind == "seq2seq":
        return {
            **fields, "encoder_layers": encoder.layers, "decoder_layers": meta.stacks["decoder"].layers,
            "max_positions": meta.max_positions[contract.SRC_IDS],
        }
    return {**fields, "layers": encoder.layers, "max_positions": meta.max_positions[contract.INPUT_IDS]}
