"""The ONNX attention contract: names, the metadata schema, and validation.

Every model Attention Explorer opens is one ``.onnx`` file. This module says
what its inputs, outputs and ``attention_explorer`` metadata entry are called
and what they hold (see ``docs/onnx-contract.md``). It is imported by both the
app and the PyTorch exporter, so it uses the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

from .contract_audio import INPUT_FEATURES, AudioSpec, audio_position_names  # noqa: F401
from .contract_cache import CACHE_PARTS, KVCache, past_input, present_output  # noqa: F401
from .contract_long_inputs import (  # noqa: F401
    LOGIT_ROWS,
    attention_block_input,
    attention_rows_input,
    internals_input,
    pooled_attention_output,
)

CONTRACT_VERSION = 1
METADATA_KEY = "attention_explorer"

# Input names.
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
SRC_IDS = "src_ids"
SRC_MASK = "src_mask"
TGT_IDS = "tgt_ids"
TGT_MASK = "tgt_mask"
PIXEL_VALUES = "pixel_values"
PATCH_MASK = "patch_mask"


@dataclass(frozen=True)
class KindSpec:
    """What the contract says of one kind of model: its stacks, each with the sequences (named by
    their ids input) that give its queries and keys, in the contract's order; the sequences it is
    fed, as (ids input, mask input); its causal stacks; the special-token roles its metadata names."""

    stacks: dict[str, tuple[str, str]]  # stack -> (queries, keys)
    sequences: tuple[tuple[str, str], ...]
    causal: tuple[str, ...] = ()
    special_tokens: tuple[str, ...] = ()

    @property
    def images(self) -> bool:
        """An image model: its one sequence is [CLS] + patches of `pixel_values`, not text."""
        return self.sequences[0][0] == PIXEL_VALUES

    @property
    def audio(self) -> bool:
        """A speech model: its first sequence is the encoder's positions over `input_features`."""
        return self.sequences[0][0] == INPUT_FEATURES


_TEXT = ((INPUT_IDS, ATTENTION_MASK),)
KIND_SPECS: dict[str, KindSpec] = {
    "bert-mlm": KindSpec({"encoder": (INPUT_IDS, INPUT_IDS)}, _TEXT, special_tokens=("mask",)),
    "encoder": KindSpec({"encoder": (INPUT_IDS, INPUT_IDS)}, _TEXT),
    "decoder-lm": KindSpec({"decoder": (INPUT_IDS, INPUT_IDS)}, _TEXT, causal=("decoder",)),
    "seq2seq": KindSpec(
        {"encoder": (SRC_IDS, SRC_IDS), "decoder": (TGT_IDS, TGT_IDS), "cross": (TGT_IDS, SRC_IDS)},
        ((SRC_IDS, SRC_MASK), (TGT_IDS, TGT_MASK)), causal=("decoder",), special_tokens=("bos", "eos"),
    ),
    # Whisper: the encoder hears log-mel frames (contract_audio); the sequence has no mask input.
    "speech-seq2seq": KindSpec(
        {"encoder": (INPUT_FEATURES, INPUT_FEATURES), "decoder": (TGT_IDS, TGT_IDS),
         "cross": (TGT_IDS, INPUT_FEATURES)},
        ((INPUT_FEATURES, ""), (TGT_IDS, TGT_MASK)), causal=("decoder",), special_tokens=("bos", "eos"),
    ),
    "vit-classifier": KindSpec({"encoder": (PIXEL_VALUES, PIXEL_VALUES)}, ((PIXEL_VALUES, PATCH_MASK),)),
}
KINDS = tuple(KIND_SPECS)
STACKS = ("encoder", "decoder", "cross")
# Views of KIND_SPECS: each kind's stacks, and the sequences it feeds as (ids input, mask input).
KIND_STACKS: dict[str, tuple[str, ...]] = {kind: tuple(spec.stacks) for kind, spec in KIND_SPECS.items()}
KIND_SEQUENCES: dict[str, tuple[tuple[str, str], ...]] = {kind: spec.sequences for kind, spec in KIND_SPECS.items()}

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
    kv_heads: int | None = None  # grouped-query attention: fewer key/value heads, each shared by heads / kv_heads
    # How the scores are made, where they differ from softmax(q·k / √head_dim + masks):
    scale: float | None = None  # q·k is multiplied by it instead of 1 / √head_dim (Gemma 2's query_pre_attn_scalar)
    softcap: float | None = None  # scores -> softcap · tanh(scores / softcap) before the masks (Gemma 2)
    # Per layer, a window w: the query sees the keys fewer than w tokens away, before it in a causal stack, on
    # either side otherwise (None: all); None for the stack: no layer has a window.
    sliding_window: tuple[int | None, ...] | None = None

    def score_scale(self) -> float:
        return self.head_dim ** -0.5 if self.scale is None else self.scale

    def window(self, layer: int) -> int | None:
        return self.sliding_window[layer] if self.sliding_window else None

    def key_value_head(self, head: int) -> int:
        return shared_key_value_head(head, self.heads, self.kv_heads)


def shared_key_value_head(head: int, heads: int, kv_heads: int | None) -> int:
    """The key/value head query head `head` reads: each run of heads / kv_heads consecutive query
    heads shares one (Hugging Face's repeat_kv); every head its own where kv_heads is None."""
    return head if kv_heads is None else head // (heads // kv_heads)


@dataclass(frozen=True)
class ImageSpec:
    size: tuple[int, int]  # (height, width) the model takes
    patch_size: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_token: bool = True
    resize: str = "stretch"  # "stretch" to size, or "center-crop" after resizing the short side
    extra_tokens: tuple[str, ...] = ()  # learned tokens between [CLS] and the patches (DeiT's "[DIST]", registers)

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


SINUSOIDAL = "sinusoidal"  # TextEmbedding.positions: the seed's fixed sin/cos table, not an initializer


@dataclass(frozen=True)
class LayerNormNames:
    """A norm's initializers: LayerNorm, or RMSNorm (`rms`: x / sqrt(mean(x²) + eps), no centring);
    the gain is weight + `weight_offset` (Gemma stores its RMSNorm's gain minus 1)."""

    weight: str
    bias: str | None = None
    eps: float = 1e-5
    rms: bool = False
    weight_offset: float = 0.0


@dataclass(frozen=True)
class TextEmbedding:
    """How one text sequence enters the first layer: rows of `embedding` times `scale`, plus the
    positions (rows `position_offset`... of a learned [positions, d_model] initializer, or SINUSOIDAL),
    plus row 0 of a token-type table, then a LayerNorm. Rotary or relative positions act inside
    attention: then `positions` is None."""

    scale: float = 1.0
    positions: str | None = None
    position_offset: int = 0
    token_type: str | None = None
    norm: LayerNormNames | None = None


@dataclass(frozen=True)
class OutputProjection:
    """One stack's W_O, an initializer per layer: [d_model, heads * head_dim] as a linear layer stores it
    (output = concat @ weight.T + bias), or [heads * head_dim, d_model] where `transposed`."""

    weight: tuple[str, ...]
    bias: tuple[str, ...] = ()
    transposed: bool = False


@dataclass(frozen=True)
class Unembedding:
    """How a language model reads tokens off its residual stream: the final `norm` (where the
    model has one), then logits = x @ weight.T + bias with `weight` [vocab, d_model] (a tied
    embedding is the embedding itself); [d_model, vocab] where `transposed`; where `softcap` is
    given the logits are then softcap · tanh(logits / softcap) (Gemma 2)."""

    weight: str
    bias: str | None = None
    norm: LayerNormNames | None = None
    transposed: bool = False
    softcap: float | None = None


@dataclass(frozen=True)
class Figure:
    """One figure the model reached, as a person reads it ("masked-token top-1: 34.0 % (unigram
    baseline 5.6 %)"): written by whoever measured it, shown by the app as it stands."""

    label: str
    value: float
    unit: str = ""  # "%": `value` is a fraction shown as a percentage; else a unit shown after it ("s")
    baseline: float | None = None  # what a trivial rule reaches on the same data
    baseline_label: str = "baseline"

    def format(self, value: float) -> str:
        if self.unit == "%":
            return f"{100 * value:.1f} %"
        number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"  # a count in full: 19,484
        return number + (f" {self.unit}" if self.unit else "")

    def text(self) -> str:
        """The value with its unit, and its baseline where there is one: "34.0 % (unigram baseline 5.6 %)"."""
        shown = self.format(self.value)
        return shown if self.baseline is None else f"{shown} ({self.baseline_label} {self.format(self.baseline)})"


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
    audio: AudioSpec | None = None  # speech-seq2seq: how the encoder hears a recording
    name: str = ""
    description: str = ""  # one line on what the model shows (the welcome page, the model panel)
    sample_text: str = ""  # what the app first runs a text model on: an input that shows what it does
    provenance: dict[str, Any] = field(default_factory=dict)
    figures: tuple[Figure, ...] = ()  # what the model reached, labelled for a reader
    embedding: str | None = None  # initializer name of the token embedding matrix [vocab, d_model]
    patch_embedding: PatchEmbedding | None = None  # vit-classifier: initializer names of the patch embedding
    text_embedding: dict[str, TextEmbedding] = field(default_factory=dict)  # per text ids input
    output_projection: dict[str, OutputProjection] = field(default_factory=dict)  # per stack
    unembedding: Unembedding | None = None  # a language model's final norm and unembedding (the logit lens)
    kv_cache: KVCache | None = None  # a decoder's past/present keys and values, one token per step
    contract: int = CONTRACT_VERSION

    # -- names of the graph's inputs and outputs -------------------------------------------
    @property
    def sequence_inputs(self) -> tuple[tuple[str, str], ...]:
        return KIND_SEQUENCES[self.kind]

    def input_names(self) -> list[str]:
        """The inputs every file of this kind has (and a cache's); ``head_mask.<stack>`` inputs are optional."""
        cache = self.kv_cache.past_inputs() if self.kv_cache else []
        return [name for pair in self.sequence_inputs for name in pair if name] + cache  # "": no mask input

    def head_mask_inputs(self) -> list[str]:
        return [head_mask_input(s) for s in self.stacks]

    def output_names(self) -> list[str]:
        cache = self.kv_cache.present_outputs() if self.kv_cache else []
        return [LOGITS] + [attention_output(s) for s in self.stacks] + cache

    def tokenizer_for(self, ids_input: str) -> str | None:
        if ids_input == TGT_IDS and self.target_tokenizer:
            return self.target_tokenizer
        return self.tokenizer

    def named_initializers(self) -> dict[str, str]:
        """Metadata field -> the initializer it names, e.g. {"patch_embedding.weight": "model.patch_embed.weight"}."""
        names = {"embedding": self.embedding} if self.embedding else {}
        for prefix, value in (("patch_embedding", self.patch_embedding), ("text_embedding", self.text_embedding),
                              ("output_projection", self.output_projection), ("unembedding", self.unembedding)):
            names.update(_names(prefix, value))
        return {key: name for key, name in names.items() if not key.endswith(".positions") or name != SINUSOIDAL}

    # -- serialisation ------------------------------------------------------------------
    def to_json(self) -> str:
        data = {k: _pruned(v) for k, v in asdict(self).items()}
        data = {k: v for k, v in data.items() if v not in (None, (), {}, "")}
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        return parse_metadata(text)


def _names(prefix: str, value: Any) -> dict[str, str]:
    """The strings in a nested structure of names, keyed by where they lie ("a.b", "a.weight[1]")."""
    if isinstance(value, str):
        return {prefix: value}
    if is_dataclass(value):
        value = asdict(value)
    if isinstance(value, dict):
        return {k: n for key, v in value.items() for k, n in _names(f"{prefix}.{key}", v).items()}
    if isinstance(value, (list, tuple)):
        return {k: n for i, v in enumerate(value) for k, n in _names(f"{prefix}[{i}]", v).items()}
    return {}


def _pruned(value: Any) -> Any:
    """`value` with the None entries of its objects left out: optional names are absent, never null."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_pruned(v) for v in value]
    return value


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


def parse_metadata(text: str | None) -> ModelMetadata:
    """Read the ``attention_explorer`` metadata JSON; raise ContractError naming any fault
    (explorer/contract_parsing.py checks it field by field)."""
    from .contract_parsing import parse_metadata as parse  # the contract's own second module, stdlib only

    return parse(text)


def read_metadata_text(path) -> str | None:
    """The ``attention_explorer`` metadata JSON of the ONNX file at `path` (None where it has none),
    read without onnx or ONNX Runtime (explorer/contract_file.py)."""
    from .contract_file import read_metadata_text as read

    return read(path)
