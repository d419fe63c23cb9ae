"""The ONNX attention contract: names, the metadata schema, and validation.

Every model Attention Explorer opens is one ``.onnx`` file. This module says
what its inputs, outputs and ``attention_explorer`` metadata entry are called
and what they hold (see ``docs/onnx-contract.md``). It is imported by both the
app and the PyTorch exporter, so it uses the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import asdict, dataclass, field
from typing import Any

CONTRACT_VERSION = 1
METADATA_KEY = "attention_explorer"

# Model kinds and the stacks each one has.
KIND_STACKS: dict[str, tuple[str, ...]] = {
    "bert-mlm": ("encoder",),
    "encoder": ("encoder",),
    "decoder-lm": ("decoder",),
    "seq2seq": ("encoder", "decoder", "cross"),
    "vit-classifier": ("encoder",),
}
KINDS = tuple(KIND_STACKS)
STACKS = ("encoder", "decoder", "cross")

# Input names.
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
SRC_IDS = "src_ids"
SRC_MASK = "src_mask"
TGT_IDS = "tgt_ids"
TGT_MASK = "tgt_mask"
PIXEL_VALUES = "pixel_values"
PATCH_MASK = "patch_mask"

# The sequence each kind feeds, as (ids input, mask input); ids give the sequence its name.
KIND_SEQUENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "bert-mlm": ((INPUT_IDS, ATTENTION_MASK),),
    "encoder": ((INPUT_IDS, ATTENTION_MASK),),
    "decoder-lm": ((INPUT_IDS, ATTENTION_MASK),),
    "seq2seq": ((SRC_IDS, SRC_MASK), (TGT_IDS, TGT_MASK)),
    "vit-classifier": ((PIXEL_VALUES, PATCH_MASK),),
}

# Output names.
LOGITS = "logits"
OPTIONAL_STACK_OUTPUTS = ("queries", "keys", "values", "hidden_states")


def head_mask_input(stack: str) -> str:
    """Input ``[layers, heads]`` float: 1 keeps a head's output, 0 removes it before W_O."""
    return f"head_mask.{stack}"


def attention_output(stack: str) -> str:
    """Output ``[layers, batch, heads, queries, keys]``: the softmax probabilities."""
    return f"attentions.{stack}"


def stack_output(name: str, stack: str) -> str:
    """Optional per-stack outputs: queries/keys/values ``[layers, batch, heads, seq, head_dim]``,
    hidden_states ``[layers + 1, batch, seq, d_model]``."""
    if name not in OPTIONAL_STACK_OUTPUTS:
        raise ValueError(f"unknown stack output {name!r}; expected one of {OPTIONAL_STACK_OUTPUTS}")
    return f"{name}.{stack}"


class ContractError(ValueError):
    """A file or metadata entry does not follow the contract; the message names what is wrong."""


@dataclass(frozen=True)
class StackSpec:
    layers: int
    heads: int
    head_dim: int
    queries: str  # the ids input whose sequence gives the queries, e.g. "tgt_ids"
    keys: str  # the ids input whose sequence gives the keys, e.g. "src_ids"
    causal: bool = False


@dataclass(frozen=True)
class ImageSpec:
    size: tuple[int, int]  # (height, width) the model takes
    patch_size: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_token: bool = True
    resize: str = "stretch"  # "stretch" to size, or "center-crop" after resizing the short side

    @property
    def grid(self) -> tuple[int, int]:
        return self.size[0] // self.patch_size, self.size[1] // self.patch_size

    @property
    def num_patches(self) -> int:
        rows, cols = self.grid
        return rows * cols


@dataclass(frozen=True)
class PatchEmbedding:
    """Initializer names of a ViT's way in: patch pixels -> projection (+ bias) -> [CLS] prepended -> + positions.

    `weight` is [d_model, C*p*p] (a linear layer) or [d_model, C, p, p] (a convolution with stride p);
    either way a patch's pixels are flattened channel-major, (c, y, x). `positions` is [tokens, d_model]
    (tokens: [CLS] + patches, row-major) and `class_token` [d_model], each possibly with leading axes of 1
    (Hugging Face's [1, tokens, d_model] and [1, 1, d_model]).
    """

    weight: str
    positions: str
    bias: str | None = None
    class_token: str | None = None  # named exactly when the image spec has a class token


@dataclass(frozen=True)
class ModelMetadata:
    kind: str
    stacks: dict[str, StackSpec]
    d_model: int
    max_positions: dict[str, int] = field(default_factory=dict)  # per ids input
    tokenizer: str | None = None  # Hugging Face tokenizers JSON
    target_tokenizer: str | None = None  # seq2seq only, where it differs from tokenizer
    special_tokens: dict[str, str] = field(default_factory=dict)  # role -> token text
    labels: tuple[str, ...] = ()
    image: ImageSpec | None = None
    name: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    embedding: str | None = None  # initializer name of the token embedding matrix [vocab, d_model]
    patch_embedding: PatchEmbedding | None = None  # vit-classifier: initializer names of the patch embedding
    contract: int = CONTRACT_VERSION

    # -- names of the graph's inputs and outputs -------------------------------------------
    @property
    def sequence_inputs(self) -> tuple[tuple[str, str], ...]:
        return KIND_SEQUENCES[self.kind]

    def input_names(self) -> list[str]:
        """The inputs every file of this kind has; ``head_mask.<stack>`` inputs are optional."""
        return [name for pair in self.sequence_inputs for name in pair]

    def head_mask_inputs(self) -> list[str]:
        return [head_mask_input(s) for s in self.stacks]

    def output_names(self) -> list[str]:
        return [LOGITS] + [attention_output(s) for s in self.stacks]

    def tokenizer_for(self, ids_input: str) -> str | None:
        if ids_input == TGT_IDS and self.target_tokenizer:
            return self.target_tokenizer
        return self.tokenizer

    def named_initializers(self) -> dict[str, str]:
        """Metadata field -> the initializer it names, e.g. {"patch_embedding.weight": "model.patch_embed.weight"}."""
        names = {"embedding": self.embedding} if self.embedding else {}
        if self.patch_embedding is not None:
            fields = asdict(self.patch_embedding).items()
            names.update({f"patch_embedding.{key}": name for key, name in fields if name is not None})
        return names

    # -- serialisation ------------------------------------------------------------------
    def to_json(self) -> str:
        data = asdict(self)
        data = {k: v for k, v in data.items() if v not in (None, (), {}, "")}
        if "patch_embedding" in data:  # optional names left out rather than written as null
            data["patch_embedding"] = {k: v for k, v in data["patch_embedding"].items() if v is not None}
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        return parse_metadata(text)


# -- validation ---------------------------------------------------------------------------


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
    ids_inputs = {ids for ids, _ in KIND_SEQUENCES[kind]}
    queries = _require(data, "queries", str, where)
    keys = _require(data, "keys", str, where)
    for role, value in (("queries", queries), ("keys", keys)):
        if value not in ids_inputs:
            raise ContractError(f"{where}: {role} must name one of {sorted(ids_inputs)}, got {value!r}")
    causal = data.get("causal", False)
    if not isinstance(causal, bool):
        raise ContractError(f"{where}: field 'causal' must be true or false")
    return StackSpec(
        layers=_positive_int(data, "layers", where),
        heads=_positive_int(data, "heads", where),
        head_dim=_positive_int(data, "head_dim", where),
        queries=queries,
        keys=keys,
        causal=causal,
    )


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
    return ImageSpec(
        size=(size[0], size[1]),
        patch_size=patch,
        channels=channels,
        mean=tuple(float(v) for v in mean),
        std=tuple(float(v) for v in std),
        class_token=bool(data.get("class_token", True)),
        resize=resize,
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
    if kind not in KIND_STACKS:
        raise ContractError(f"metadata: unknown kind {kind!r}; expected one of {list(KINDS)}")

    raw_stacks = _require(data, "stacks", dict, "metadata")
    stacks = {name: _parse_stack(name, spec, kind) for name, spec in raw_stacks.items()}
    expected = set(KIND_STACKS[kind])
    if set(stacks) != expected:
        raise ContractError(f"metadata: a {kind} model has stacks {sorted(expected)}, the file names {sorted(stacks)}")
    stacks = {name: stacks[name] for name in KIND_STACKS[kind]}  # the contract's order, not the JSON's

    image = None
    tokenizer = target_tokenizer = None
    if kind == "vit-classifier":
        if "image" not in data:
            raise ContractError("metadata: a vit-classifier needs an 'image' spec")
        image = _parse_image(data["image"])
    else:
        if "tokenizer" not in data:
            raise ContractError(f"metadata: a {kind} model needs its 'tokenizer'")
        tokenizer = _check_tokenizer(data["tokenizer"], "tokenizer")
        if data.get("target_tokenizer") is not None:
            target_tokenizer = _check_tokenizer(data["target_tokenizer"], "target_tokenizer")

    special = data.get("special_tokens", {})
    if not isinstance(special, dict) or not all(isinstance(v, str) for v in special.values()):
        raise ContractError("metadata: 'special_tokens' must map roles to token strings")
    required_roles = {"bert-mlm": ("mask",), "seq2seq": ("bos", "eos")}.get(kind, ())
    for role in required_roles:
        if role not in special:
            raise ContractError(f"metadata: a {kind} model needs special_tokens.{role}")

    labels = data.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(v, str) for v in labels):
        raise ContractError("metadata: 'labels' must be a list of strings")
    if kind == "vit-classifier" and not labels:
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
        name=str(data.get("name", "")),
        provenance=provenance,
        embedding=embedding,
        patch_embedding=patch_embedding,
        contract=version,
    )


def check_graph_io(meta: ModelMetadata, input_names: list[str], output_names: list[str]) -> None:
    """Raise ContractError when a graph lacks an input or output its metadata promises."""
    missing_in = [n for n in meta.input_names() if n not in input_names]
    missing_out = [n for n in meta.output_names() if n not in output_names]
    problems = []
    if missing_in:
        problems.append(f"inputs {missing_in}")
    if missing_out:
        problems.append(f"outputs {missing_out}")
    if problems:
        raise ContractError(f"the graph lacks the {' and '.join(problems)} that a {meta.kind} model must have")


def check_initializers(meta: ModelMetadata, initializer_names: Container[str]) -> None:
    """Raise ContractError when the metadata names an initializer the graph does not have."""
    missing = [f"{key} ({name!r})" for key, name in meta.named_initializers().items() if name not in initializer_names]
    if missing:
        raise ContractError(f"the metadata names initializers the graph lacks: {', '.join(missing)}")
