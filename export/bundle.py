"""From a model (trained or not) to a contract ONNX file with all its metadata."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from explorer import contract
from export.checkpoint import MODEL_CLASSES, load_model
from export.onnx_export import export_onnx, metadata_for
from export.tokenizer import BERT_SPECIAL, character_wordpiece

# Checkpoints carry what the ONNX metadata needs under this key of their header's "extra".
EXPORT_INFO = "export"


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
