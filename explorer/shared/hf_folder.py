"""A Hugging Face model folder on disk -> the contract's metadata.

Hugging Face writes ``config.json`` (sizes, labels, special token ids), ``tokenizer.json``
(+ ``tokenizer_config.json`` / ``special_tokens_map.json``) and, for images,
``preprocessor_config.json`` beside a model. `folder_metadata` reads them into contract
metadata, for checkpoints that ``attention-export hf`` imports and for plain ONNX exports
the app opens (explorer.shared.instrument), so both ways give a model the same metadata.
numpy + onnx + tokenizers only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx

from explorer import contract
from explorer.shared.images import first_patch

CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
PREPROCESSOR = "preprocessor_config.json"

# config.json spells the same sizes differently per family (BERT, GPT-2, DistilBERT, GPT-Neo).
LAYERS = ("num_hidden_layers", "n_layer", "n_layers", "num_layers")
HEADS = ("num_attention_heads", "n_head", "n_heads", "num_heads")
_KV_HEADS = ("num_key_value_heads",)  # grouped-query attention (Llama and its kin)
_WIDTH = ("hidden_size", "n_embd", "dim", "d_model")
_POSITIONS = ("max_position_embeddings", "n_positions")
# Families that number positions from padding_idx + 1, so that many embeddings are never used.
_OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert", "mpnet")
_DECODER_TYPES = ("gpt2", "gpt_neo", "gptj", "gpt_bigcode", "openai-gpt")
_SPECIAL_ROLES = ("cls", "sep", "mask", "pad", "unk", "bos", "eos")
# The learned tokens before an image's patches where they are not ViT's one [CLS] (config.json does not
# say); DINOv2's registers follow [CLS], as many as its num_register_tokens.
_TOKENS_BEFORE_PATCHES = {"deit": ("[CLS]", "[DIST]"), "siglip_vision_model": ()}


class FolderError(contract.ContractError):
    """The folder lacks a file the model needs, or holds one that cannot be read; the message says which."""



def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when there is no such file."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FolderError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FolderError(f"{path} must hold a JSON object")
    return data


def config_value(config: dict, names: tuple[str, ...], what: str, where: Path) -> int:
    for name in names:
        if isinstance(config.get(name), int):
            return config[name]
    raise FolderError(f"{where / CONFIG} gives no {what} (looked for {', '.join(names)})")


def max_text_positions(config: dict) -> int | None:
    """The longest input the position embeddings allow (RoBERTa keeps padding_idx + 1 of them unused)."""
    positions = next((config[n] for n in _POSITIONS if isinstance(config.get(n), int)), None)
    if positions is not None and config.get("model_type") in _OFFSET_POSITIONS:
        positions -= config.get("pad_token_id", 1) + 1
    return positions


def read_tokenizer(folder: Path) -> str:
    """tokenizer.json as a string, with any fixed padding and truncation switched off."""
    from tokenizers import Tokenizer

    path = folder / TOKENIZER
    if not path.is_file():
        raise FolderError(f"{path} is missing: a text model needs the tokenizer.json it was trained with")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exception for bad files
        raise FolderError(f"{path} is not a tokenizers JSON file: {exc}") from None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer.to_str()


def special_tokens(folder: Path, tokenizer_json: str, config: dict) -> dict[str, str]:
    """Role -> token text, from tokenizer_config.json / special_tokens_map.json, else config.json's ids."""
    vocab = _vocabulary(tokenizer_json)
    by_id = {i: t for t, i in vocab.items()}
    found: dict[str, str] = {}
    for name in (TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP):
        named = read_json(folder / name) or {}
        for role in _SPECIAL_ROLES:
            value = named.get(f"{role}_token")
            text = value.get("content") if isinstance(value, dict) else value  # AddedToken or plain string
            if isinstance(text, str) and text in vocab:
                found.setdefault(role, text)
    for role in _SPECIAL_ROLES:
        token_id = config.get(f"{role}_token_id")
        if role not in found and isinstance(token_id, int) and token_id in by_id:
            found[role] = by_id[token_id]
    return found


def _vocabulary(tokenizer_json: str) -> dict[str, int]:
    from tokenizers import Tokenizer

    return Tokenizer.from_str(tokenizer_json).get_vocab(with_added_tokens=True)


def labels_from(config: dict) -> tuple[str, ...]:
    id2label = config.get("id2label") or {}
    return tuple(str(id2label[k]) for k in sorted(id2label, key=int))


def image_spec(folder: Path, config: dict) -> contract.ImageSpec:
    """Patches and the tokens before them from config.json; the size, resizing and normalisation from
    preprocessor_config.json (the crop where it crops: DINOv2 sees 224 pixels, not its positions' 518)."""
    path = folder / PREPROCESSOR
    pre = read_json(path)
    if pre is None:
        raise FolderError(f"{path} is missing: an image model needs its image mean, std and size")
    side = config_value(config, ("image_size",), "image size", folder)
    patch = config_value(config, ("patch_size",), "patch size", folder)
    channels = config.get("num_channels", 3)
    normalize = pre.get("do_normalize", True)
    mean = pre.get("image_mean", [0.5] * channels) if normalize else [0.0] * channels
    std = pre.get("image_std", [0.5] * channels) if normalize else [1.0] * channels
    crop = pre.get("crop_size") if pre.get("do_center_crop", False) else None
    size = (side, side) if crop is None else _height_width(crop)
    before = _TOKENS_BEFORE_PATCHES.get(config.get("model_type"), ("[CLS]",))
    class_token = before[:1] == ("[CLS]",)
    registers = tuple(f"[REG{i}]" for i in range(config.get("num_register_tokens") or 0))
    return contract.ImageSpec(
        size=size,
        patch_size=patch,
        channels=channels,
        mean=tuple(float(v) for v in mean),
        std=tuple(float(v) for v in std),
        class_token=class_token,
        resize="stretch" if crop is None else "center-crop",
        extra_tokens=before[class_token:] + registers,
    )


def audio_spec(folder: Path, config: dict) -> contract.AudioSpec:
    """How Whisper's encoder hears a recording: the STFT and mel bins from preprocessor_config.json, the
    frames from config.json (two per encoder position, whatever chunk_length the extractor was saved with)."""
    path = folder / PREPROCESSOR
    pre = read_json(path)
    if pre is None:
        raise FolderError(f"{path} is missing: a speech model needs its feature extractor's settings")
    if pre.get("feature_extractor_type", "WhisperFeatureExtractor") != "WhisperFeatureExtractor":
        raise FolderError(f"{path}: the app computes Whisper's log-mel features, not {pre['feature_extractor_type']}'s")
    positions = config_value(config, ("max_source_positions",), "encoder positions", folder)
    return contract.AudioSpec(sampling_rate=pre.get("sampling_rate", 16000), n_fft=pre.get("n_fft", 400),
                              hop_length=pre.get("hop_length", 160), mel_bins=pre.get("feature_size", 80),
                              frames=2 * positions)


def _height_width(size: int | dict) -> tuple[int, int]:
    """preprocessor_config.json's crop_size: one side, or {"height", "width"}."""
    return (size, size) if isinstance(size, int) else (size["height"], size["width"])


def folder_metadata(
    folder: Path,
    kind: str,
    config: dict,
    *,
    name: str = "",
    labels: tuple[str, ...] | None = None,
    provenance: dict | None = None,
    embedding: str | None = None,
) -> contract.ModelMetadata:
    """The contract metadata of a `kind` model whose Hugging Face files lie in `folder`.

    Sizes come from `config` (config.json's keys); `labels` overrides config.json's id2label.
    """
    layers = config_value(config, LAYERS, "number of layers", folder)
    heads = config_value(config, HEADS, "number of attention heads", folder)
    d_model = config_value(config, _WIDTH, "hidden size", folder)
    kind_spec = contract.KIND_SPECS[kind]
    (stack, (queries, keys)), = kind_spec.stacks.items()  # the kinds Hugging Face folders give: one stack
    head_dim = config.get("head_dim") if isinstance(config.get("head_dim"), int) else d_model // heads  # Gemma's
    kv_heads = next((config[n] for n in _KV_HEADS if isinstance(config.get(n), int)), heads)
    spec = contract.StackSpec(layers, heads, head_dim, queries, keys, causal=stack in kind_spec.causal,
                              kv_heads=None if kv_heads == heads else kv_heads)
    fields: dict[str, Any] = {}
    if kind_spec.images:
        image = image_spec(folder, config)
        fields.update(image=image, labels=labels or labels_from(config))
        fields["max_positions"] = {queries: first_patch(image) + image.num_patches}
    else:
        tokenizer = read_tokenizer(folder)
        special = special_tokens(folder, tokenizer, config)
        for role in kind_spec.special_tokens:
            if role not in special:
                raise FolderError(f"{folder}: a {kind} model needs a {role} token; none is named in "
                                  f"{TOKENIZER_CONFIG}, {SPECIAL_TOKENS_MAP} or {CONFIG}")
        positions = max_text_positions(config)
        fields.update(tokenizer=tokenizer, special_tokens=special, labels=labels or ())
        fields["max_positions"] = {queries: positions} if positions else {}
    meta = contract.ModelMetadata(
        kind=kind, stacks={stack: spec}, d_model=d_model, name=name or folder.name,
        provenance=dict(provenance or {}), embedding=embedding, **fields,
    )
    try:
        return contract.parse_metadata(meta.to_json())  # the checks a file gets when it opens
    except contract.ContractError as exc:
        raise FolderError(f"{folder}: {exc}") from None


def token_embedding(graph: onnx.GraphProto, vocab_size: int | None) -> str | None:
    """The initializer a Gather looks token ids up in: the token embedding matrix (vocab, d_model)."""
    shapes = {t.name: tuple(t.dims) for t in graph.initializer}
    for node in graph.node:
        shape = shapes.get(node.input[0], ()) if node.op_type == "Gather" else ()
        if len(shape) == 2 and shape[0] == vocab_size:
            return node.input[0]
    return None


def is_decoder(config: dict) -> bool:
    """GPT-2 and its kin: causal language models, by config.json's model_type or architectures."""
    architectures = config.get("architectures") or []
    return config.get("model_type") in _DECODER_TYPES or any(
        a.endswith(("LMHeadModel", "ForCausalLM")) for a in architectures
    )
