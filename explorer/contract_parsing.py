"""Reading the ``attention_explorer`` metadata back: every field checked, every fault named.

Part of the contract (explorer.contract re-exports `parse_metadata`); standard library only.
A violation is one ContractError that names the field and what is wrong, e.g.
``stacks.encoder: field 'heads' must be positive, got 0``.
"""

from __future__ import annotations

import json
from typing import Any

from explorer.contract import (
    CONTRACT_VERSION,
    INPUT_FEATURES,
    KIND_SPECS,
    KINDS,
    METADATA_KEY,
    ContractError,
    Figure,
    ImageSpec,
    KVCache,
    LayerNormNames,
    ModelMetadata,
    OutputProjection,
    PatchEmbedding,
    StackSpec,
    TextEmbedding,
    Unembedding,
)
from explorer.contract_audio import audio_spec_from


def _parse_audio(data: Any) -> Any:
    try:
        return audio_spec_from(data)
    except ValueError as exc:
        raise ContractError(f"metadata: {exc}") from None


def _require(data: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ContractError(f"{where}: missing required field {key!r}")
    value = data[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ContractError(f"{where}: field {key!r} must be a number, got {value!r}")
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ContractError(f"{where}: field {key!r} must be {expected}, got {type(value).__name__}")
    return value


def _positive_int(data: dict, key: str, where: str) -> int:
    value = _require(data, key, int, where)
    if value <= 0:
        raise ContractError(f"{where}: field {key!r} must be positive, got {value}")
    return value


def _parse_stack(name: str, data: Any, kind: str) -> StackSpec:
    where = f"stacks.{name}"
    if not isinstance(data, dict):
        raise ContractError(f"{where}: must be an object")
    ids_inputs = {ids for ids, _ in KIND_SPECS[kind].sequences}
    queries = _require(data, "queries", str, where)
    keys = _require(data, "keys", str, where)
    for role, value in (("queries", queries), ("keys", keys)):
        if value not in ids_inputs:
            raise ContractError(f"{where}: {role} must name one of {sorted(ids_inputs)}, got {value!r}")
    causal = data.get("causal", False)
    if not isinstance(causal, bool):
        raise ContractError(f"{where}: field 'causal' must be true or false")
    heads = _positive_int(data, "heads", where)
    kv_heads = _positive_int(data, "kv_heads", where) if data.get("kv_heads") is not None else None
    if kv_heads is not None and heads % kv_heads:
        raise ContractError(f"{where}: {heads} heads cannot share {kv_heads} key/value heads evenly")
    layers = _positive_int(data, "layers", where)
    scale, softcap = (_positive_number(data, key, where) for key in ("scale", "softcap"))
    windows = data.get("sliding_window", [])
    if not isinstance(windows, list) or len(windows) not in (0, layers) or not all(
            w is None or (isinstance(w, int) and not isinstance(w, bool) and w > 0) for w in windows):
        raise ContractError(f"{where}: 'sliding_window' must hold one positive whole number or null per layer "
                            f"({layers}), got {windows!r}")
    return StackSpec(
        layers=layers,
        heads=heads,
        head_dim=_positive_int(data, "head_dim", where),
        queries=queries,
        keys=keys,
        causal=causal,
        kv_heads=kv_heads,
        scale=scale,
        softcap=softcap,
        sliding_window=tuple(windows) or None,
    )


def _positive_number(data: dict, key: str, where: str) -> float | None:
    """An optional positive number at data[key]; None where absent."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ContractError(f"{where}: {key!r} must be a positive number, got {value!r}")
    return float(value)


def _parse_image(data: Any) -> ImageSpec:
    where = "image"
    if not isinstance(data, dict):
        raise ContractError(f"{where}: must be an object")
    size = _require(data, "size", list, where)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ContractError(f"{where}: 'size' must be [height, width] in pixels, got {size!r}")
    patch = _positive_int(data, "patch_size", where)
    if size[0] % patch or size[1] % patch:
        raise ContractError(f"{where}: size {size} is not a whole number of {patch}-pixel patches")
    channels = _positive_int(data, "channels", where)
    mean = _require(data, "mean", list, where)
    std = _require(data, "std", list, where)
    for key, values in (("mean", mean), ("std", std)):
        if len(values) != channels or not all(isinstance(v, (int, float)) for v in values):
            raise ContractError(f"{where}: {key!r} must hold {channels} numbers, got {values!r}")
    if any(v <= 0 for v in std):
        raise ContractError(f"{where}: 'std' must be positive, got {std!r}")
    resize = data.get("resize", "stretch")
    if resize not in ("stretch", "center-crop"):
        raise ContractError(f"{where}: 'resize' must be 'stretch' or 'center-crop', got {resize!r}")
    extra = data.get("extra_tokens", [])
    if not isinstance(extra, list) or not all(isinstance(name, str) and name for name in extra):
        raise ContractError(f"{where}: 'extra_tokens' must be a list of token names, got {extra!r}")
    return ImageSpec(
        size=(size[0], size[1]),
        patch_size=patch,
        channels=channels,
        mean=tuple(float(v) for v in mean),
        std=tuple(float(v) for v in std),
        class_token=bool(data.get("class_token", True)),
        resize=resize,
        extra_tokens=tuple(extra),
    )


def _parse_patch_embedding(data: Any, image: ImageSpec) -> PatchEmbedding:
    where = "patch_embedding"
    if not isinstance(data, dict):
        raise ContractError(f"{where}: must be an object naming initializers")
    names = {key: data[key] for key in ("weight", "positions", "bias", "class_token") if data.get(key) is not None}
    for key, name in names.items():
        if not isinstance(name, str) or not name:
            raise ContractError(f"{where}: field {key!r} must name an initializer, got {name!r}")
    for key in ("weight", "positions"):
        if key not in names:
            raise ContractError(f"{where}: missing required field {key!r}")
    if image.class_token and "class_token" not in names:
        raise ContractError(f"{where}: missing field 'class_token', which image.class_token says the model has")
    if not image.class_token and "class_token" in names:
        raise ContractError(f"{where}: names a 'class_token', but image.class_token says the model has none")
    return PatchEmbedding(**names)



def _name(data: dict, key: str, where: str, required: bool = False) -> str | None:
    """The initializer name at data[key]: a non-empty string; None where it is optional and absent."""
    if data.get(key) is None:
        if required:
            raise ContractError(f"{where}: missing required field {key!r}")
        return None
    if not isinstance(data[key], str) or not data[key]:
        raise ContractError(f"{where}: field {key!r} must name an initializer, got {data[key]!r}")
    return data[key]


def _object(data: Any, where: str) -> dict:
    if not isinstance(data, dict):
        raise ContractError(f"{where}: must be an object")
    return data


def _parse_norm(data: Any, where: str) -> LayerNormNames | None:
    if data is None:
        return None
    raw = _object(data, where)
    eps = raw.get("eps", 1e-5)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps <= 0:
        raise ContractError(f"{where}: 'eps' must be a positive number, got {eps!r}")
    rms = raw.get("rms", False)
    if not isinstance(rms, bool):
        raise ContractError(f"{where}: 'rms' must be true or false, got {rms!r}")
    offset = raw.get("weight_offset", 0.0)
    if isinstance(offset, bool) or not isinstance(offset, (int, float)):
        raise ContractError(f"{where}: 'weight_offset' must be a number, got {offset!r}")
    return LayerNormNames(_name(raw, "weight", where, required=True), _name(raw, "bias", where), float(eps), rms,
                          float(offset))


def _parse_unembedding(data: Any, image: ImageSpec | None) -> Unembedding | None:
    if data is None:
        return None
    if image is not None:
        raise ContractError("unembedding: belongs to a language model, not an image classifier")
    raw = _object(data, "unembedding")
    transposed = raw.get("transposed", False)
    if not isinstance(transposed, bool):
        raise ContractError(f"unembedding: 'transposed' must be true or false, got {transposed!r}")
    return Unembedding(_name(raw, "weight", "unembedding", required=True), _name(raw, "bias", "unembedding"),
                       _parse_norm(raw.get("norm"), "unembedding.norm"), transposed,
                       _positive_number(raw, "softcap", "unembedding"))


def _parse_kv_cache(data: Any, stacks: dict[str, StackSpec]) -> KVCache | None:
    if data is None:
        return None
    raw = _object(data, "kv_cache")
    stack = _require(raw, "stack", str, "kv_cache")
    if stack not in stacks or not stacks[stack].causal:
        raise ContractError(f"kv_cache: 'stack' must name a causal stack of the model, got {stack!r}")
    cache = KVCache(stack, *(_positive_int(raw, key, "kv_cache") for key in ("layers", "heads", "head_dim")))
    spec = stacks[stack]
    heads_misfit = spec.heads % cache.heads if spec.kv_heads is None else cache.heads != spec.kv_heads
    if cache.layers != spec.layers or heads_misfit or cache.head_dim != spec.head_dim:
        shared = "" if spec.kv_heads is None else f" sharing {spec.kv_heads} key/value heads"
        raise ContractError(f"kv_cache: {cache.layers} layers of {cache.heads} heads of {cache.head_dim} do not fit "
                            f"stacks.{stack} ({spec.layers} layers of {spec.heads} heads of {spec.head_dim}{shared})")
    return cache


def _parse_text_embedding(data: Any, text_inputs: tuple[str, ...]) -> dict[str, TextEmbedding]:
    parsed = {}
    for ids_input, entry in _object(data, "text_embedding").items():
        where = f"text_embedding.{ids_input}"
        if ids_input not in text_inputs:
            raise ContractError(f"{where}: not a text sequence of this model (it has {list(text_inputs)})")
        entry = _object(entry, where)
        scale = entry.get("scale", 1.0)
        offset = entry.get("position_offset", 0)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise ContractError(f"{where}: 'scale' must be a positive number, got {scale!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ContractError(f"{where}: 'position_offset' must be a whole number >= 0, got {offset!r}")
        norm = _parse_norm(entry.get("norm"), f"{where}.norm")
        parsed[ids_input] = TextEmbedding(float(scale), _name(entry, "positions", where), offset,
                                          _name(entry, "token_type", where), norm)
    return parsed


def _parse_output_projection(data: Any, stacks: dict[str, StackSpec]) -> dict[str, OutputProjection]:
    parsed = {}
    for stack, entry in _object(data, "output_projection").items():
        where = f"output_projection.{stack}"
        if stack not in stacks:
            raise ContractError(f"{where}: the model has no {stack!r} stack (it has {list(stacks)})")
        entry = _object(entry, where)
        layers = stacks[stack].layers
        lists = {key: entry.get(key, []) for key in ("weight", "bias")}
        for key, names in lists.items():
            if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
                raise ContractError(f"{where}: {key!r} must be a list of initializer names")
            if len(names) not in ((layers,) if key == "weight" else (0, layers)):
                raise ContractError(f"{where}: {key!r} names {len(names)} initializers for {layers} layers")
        transposed = entry.get("transposed", False)
        if not isinstance(transposed, bool):
            raise ContractError(f"{where}: field 'transposed' must be true or false")
        parsed[stack] = OutputProjection(tuple(lists["weight"]), tuple(lists["bias"]), transposed)
    return parsed

def _parse_figures(data: Any) -> tuple[Figure, ...]:
    if not isinstance(data, list):
        raise ContractError("metadata: 'figures' must be a list of objects")
    figures = []
    for i, item in enumerate(data):
        where = f"figures[{i}]"
        item = _object(item, where)
        baseline = _require(item, "baseline", (int, float), where) if item.get("baseline") is not None else None
        figures.append(Figure(
            label=_require(item, "label", str, where),
            value=float(_require(item, "value", (int, float), where)),
            unit=_require(item, "unit", str, where) if "unit" in item else "",
            baseline=None if baseline is None else float(baseline),
            baseline_label=_require(item, "baseline_label", str, where) if "baseline_label" in item else "baseline",
        ))
    return tuple(figures)


def _check_tokenizer(text: Any, key: str) -> str:
    if not isinstance(text, str):
        raise ContractError(f"{key}: must be a Hugging Face tokenizers JSON string")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{key}: not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(parsed, dict) or "model" not in parsed:
        raise ContractError(f"{key}: not a tokenizers JSON (it has no 'model' entry)")
    return text


def parse_metadata(text: str | None) -> ModelMetadata:
    """Read the ``attention_explorer`` metadata JSON; raise ContractError naming any fault."""
    if text is None or text == "":
        raise ContractError(f"the file has no {METADATA_KEY!r} metadata entry")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{METADATA_KEY} metadata is not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(data, dict):
        raise ContractError(f"{METADATA_KEY} metadata must be a JSON object")

    version = _require(data, "contract", int, "metadata")
    if version > CONTRACT_VERSION:
        raise ContractError(
            f"metadata: contract version {version} is newer than this app understands ({CONTRACT_VERSION})"
        )
    kind = _require(data, "kind", str, "metadata")
    if kind not in KIND_SPECS:
        raise ContractError(f"metadata: unknown kind {kind!r}; expected one of {list(KINDS)}")
    spec = KIND_SPECS[kind]

    raw_stacks = _require(data, "stacks", dict, "metadata")
    stacks = {name: _parse_stack(name, spec, kind) for name, spec in raw_stacks.items()}
    expected = set(spec.stacks)
    if set(stacks) != expected:
        raise ContractError(f"metadata: a {kind} model has stacks {sorted(expected)}, the file names {sorted(stacks)}")
    stacks = {name: stacks[name] for name in spec.stacks}  # the contract's order, not the JSON's

    image = audio = None
    tokenizer = target_tokenizer = None
    if spec.images:
        if "image" not in data:
            raise ContractError("metadata: a vit-classifier needs an 'image' spec")
        image = _parse_image(data["image"])
    else:
        audio = _parse_audio(data.get("audio")) if spec.audio else None
        if "tokenizer" not in data:
            raise ContractError(f"metadata: a {kind} model needs its 'tokenizer'")
        tokenizer = _check_tokenizer(data["tokenizer"], "tokenizer")
        if data.get("target_tokenizer") is not None:
            target_tokenizer = _check_tokenizer(data["target_tokenizer"], "target_tokenizer")

    special = data.get("special_tokens", {})
    if not isinstance(special, dict) or not all(isinstance(v, str) for v in special.values()):
        raise ContractError("metadata: 'special_tokens' must map roles to token strings")
    for role in spec.special_tokens:
        if role not in special:
            raise ContractError(f"metadata: a {kind} model needs special_tokens.{role}")

    labels = data.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(v, str) for v in labels):
        raise ContractError("metadata: 'labels' must be a list of strings")
    if spec.images and not labels:
        raise ContractError("metadata: a vit-classifier needs its class 'labels'")

    max_positions = data.get("max_positions", {})
    if not isinstance(max_positions, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in max_positions.values()
    ):
        raise ContractError("metadata: 'max_positions' must map ids inputs to positive integers")

    provenance = data.get("provenance", {})
    if not isinstance(provenance, dict):
        raise ContractError("metadata: 'provenance' must be an object")
    embedding = data.get("embedding")
    if embedding is not None and not isinstance(embedding, str):
        raise ContractError("metadata: 'embedding' must name an initializer")
    patch_embedding = None
    if data.get("patch_embedding") is not None:
        if image is None:
            raise ContractError(f"metadata: 'patch_embedding' belongs to a vit-classifier, not a {kind} model")
        patch_embedding = _parse_patch_embedding(data["patch_embedding"], image)
    text_inputs = () if image is not None else tuple(ids for ids, _ in spec.sequences if ids != INPUT_FEATURES)
    text_embedding = _parse_text_embedding(data.get("text_embedding") or {}, text_inputs)
    output_projection = _parse_output_projection(data.get("output_projection") or {}, stacks)

    return ModelMetadata(
        kind=kind,
        stacks=stacks,
        d_model=_positive_int(data, "d_model", "metadata"),
        max_positions=dict(max_positions),
        tokenizer=tokenizer,
        target_tokenizer=target_tokenizer,
        special_tokens=dict(special),
        labels=tuple(labels),
        image=image,
        audio=audio,
        name=str(data.get("name", "")),
        description=str(data.get("description", "")),
        sample_text=str(data.get("sample_text", "")),
        provenance=provenance,
        figures=_parse_figures(data.get("figures", [])),
        embedding=embedding,
        patch_embedding=patch_embedding,
        text_embedding=text_embedding,
        output_projection=output_projection,
        unembedding=_parse_unembedding(data.get("unembedding"), image),
        kv_cache=_parse_kv_cache(data.get("kv_cache"), stacks),
        contract=version,
    )
