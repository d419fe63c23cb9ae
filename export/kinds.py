"""Each of our model classes as the contract sees it, in one place: its kind, its stacks, how the
contract's flat inputs call it, the sizes its metadata states, and where its weights lie.

`onnx_export` (the graph and metadata), `bundle` (untrained models, files back to PyTorch) and
`checkpoint` look a model up here (`for_model`, `for_kind`, `MODEL_KINDS`) rather than asking
which class it is. A new model class is one more `ModelKind` registered at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from tokenizers import Tokenizer
from torch import nn

from explorer import contract
from export.layers import MultiHeadAttention
from export.models import GPT, Bert, BertConfig, GPTConfig, Transformer, TransformerConfig, ViT, ViTConfig
from export.models.common import ModelOutput
from export.tokenizer import BERT_SPECIAL, GPT_SPECIAL, character_wordpiece, gpt_character_level

# The Transformer's character vocabulary starts its target with [CLS] and ends it with [SEP].
SEQ2SEQ_SPECIAL = {"pad": "[PAD]", "unk": "[UNK]", "bos": "[CLS]", "eos": "[SEP]"}
EXAMPLE_PAST = 3  # tokens in the past a cached model is traced with: more than 1, fewer than the new ones
UNTRAINED = {"source": "untrained", "note": "random weights, for tests and demos"}


@dataclass(frozen=True)
class ModelKind:
    """One model class of export.models, described for the contract. Subclasses fill in the methods."""

    name: str  # the command line's name: attention-export untrained NAME
    model_class: type[nn.Module]
    config_class: type
    kind: str  # the contract kind its files are

    @property
    def spec(self) -> contract.KindSpec:
        return contract.KIND_SPECS[self.kind]

    # -- the graph ----------------------------------------------------------------------------
    def stack_layers(self, config) -> dict[str, int]:
        """Layers of each stack, in the contract's order."""
        raise NotImplementedError

    def forward(self, model: nn.Module, sequences: tuple[torch.Tensor, ...], head_masks: dict,
                selections: dict | None = None) -> ModelOutput:
        """The model on the contract's sequence inputs (ids, mask, ... in KindSpec order), head masks and
        long-input selections (by stack)."""
        raise NotImplementedError

    def example_sequences(self, config, batch: int) -> tuple[torch.Tensor, ...]:
        """Sequence inputs for tracing, with lengths that differ from each other and from 0/1."""
        raise NotImplementedError

    def dynamic_sequences(self, config, batch: torch.export.Dim) -> tuple[dict, ...]:
        raise NotImplementedError

    def attention_modules(self, model: nn.Module) -> dict[str, list[MultiHeadAttention]]:
        """Each stack's attention, layer by layer: where its W_O lies."""
        raise NotImplementedError

    # -- the metadata -------------------------------------------------------------------------
    def stack_specs(self, config) -> dict[str, contract.StackSpec]:
        head_dim = config.d_model // config.heads
        return {
            stack: contract.StackSpec(layers, config.heads, head_dim, *self.spec.stacks[stack],
                                      causal=stack in self.spec.causal)
            for stack, layers in self.stack_layers(config).items()
        }

    def max_positions(self, config) -> dict[str, int]:
        return {ids: config.max_positions for ids, _ in self.spec.sequences}

    def text_embedding(self, model: nn.Module, name_of) -> dict[str, contract.TextEmbedding]:
        """How each text sequence enters the first layer; `name_of(parameter)` is its initializer's name."""
        return {}

    def patch_embedding(self, model: nn.Module, name_of) -> contract.PatchEmbedding | None:
        return None

    def unembedding(self, model: nn.Module, name_of) -> contract.Unembedding | None:
        """A language model's final norm and output projection (the logit lens reads them)."""
        return None

    # -- the key-value cache ------------------------------------------------------------------
    def kv_cache(self, config) -> contract.KVCache | None:
        """Where the model caches its keys and values between steps (None: it does not)."""
        return None

    def example_past(self, config, batch: int) -> tuple[torch.Tensor, ...]:
        """A past for tracing: keys and values of each layer, longer than 1 and than the new tokens."""
        cache = self.kv_cache(config)
        return tuple(torch.randn(cache.shape(batch, EXAMPLE_PAST)) for _ in cache.past_inputs())

    def untrained_metadata(self, model: nn.Module) -> dict:
        """metadata_for's keywords for a model with random weights (tokenizer, labels, image...)."""
        raise NotImplementedError

    # -- back from a file ---------------------------------------------------------------------
    def config_fields(self, meta: contract.ModelMetadata, shapes: dict[str, tuple[int, ...]]) -> dict:
        """The config of the model a file of ours holds: sizes from the metadata, the rest from weight shapes."""
        encoder = meta.stacks[next(iter(meta.stacks))]
        return {"d_model": meta.d_model, "heads": encoder.heads,
                "d_ff": shapes["encoder.blocks.0.feed_forward.net.0.weight"][0]}  # (d_ff, d_model)

    def config(self, overrides: dict | None = None):
        known = {f.name for f in fields(self.config_class)}
        unknown = set(overrides or {}) - known
        if unknown:
            raise ValueError(f"unknown {self.config_class.__name__} fields {sorted(unknown)}; known: {sorted(known)}")
        return self.config_class(**(overrides or {}))


def _text_fields(meta: contract.ModelMetadata, shapes: dict[str, tuple[int, ...]]) -> dict:
    """A text model's vocabulary (the embedding's rows) and padding id (its tokenizer's [PAD])."""
    pad_id = Tokenizer.from_str(meta.tokenizer).token_to_id(meta.special_tokens.get("pad", ""))
    return {"vocab_size": shapes["embed.weight"][0], "pad_id": 0 if pad_id is None else pad_id}


def _text_sequences(config, batch: int, lengths: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    """(ids, mask) per length: random ids of the vocabulary, masks of ones."""
    pairs = [(torch.randint(1, config.vocab_size, (batch, n)), torch.ones(batch, n, dtype=torch.long)) for n in lengths]
    return tuple(t for pair in pairs for t in pair)


def _text_dims(config, batch: torch.export.Dim, names: tuple[str, ...]) -> tuple[dict, ...]:
    dims = [torch.export.Dim(name, min=2, max=config.max_positions) for name in names]
    return tuple(d for dim in dims for d in ({0: batch, 1: dim}, {0: batch, 1: dim}))


class BertKind(ModelKind):
    def stack_layers(self, config):
        return {"encoder": config.layers}

    def forward(self, model, sequences, head_masks, selections=None):
        return model(*sequences, head_masks["encoder"], selections)

    def example_sequences(self, config, batch):
        return _text_sequences(config, batch, (6,))

    def dynamic_sequences(self, config, batch):
        return _text_dims(config, batch, ("seq",))

    def attention_modules(self, model):
        return {"encoder": [block.attention for block in model.encoder.blocks]}

    def text_embedding(self, model, name_of):
        norm = contract.LayerNormNames(name_of(model.embed_norm.weight), name_of(model.embed_norm.bias),
                                       model.embed_norm.eps)
        return {contract.INPUT_IDS: contract.TextEmbedding(model.embed.scale, name_of(model.positions.weight),
                                                           norm=norm)}

    def untrained_metadata(self, model):
        tokenizer = character_wordpiece(model.config.vocab_size)
        return {"name": "untrained BERT", "tokenizer_json": tokenizer.to_str(), "special_tokens": BERT_SPECIAL}

    def config_fields(self, meta, shapes):
        return {**super().config_fields(meta, shapes), **_text_fields(meta, shapes),
                "layers": meta.stacks["encoder"].layers, "max_positions": meta.max_positions[contract.INPUT_IDS]}


class TransformerKind(ModelKind):
    def stack_layers(self, config):
        return {"encoder": config.encoder_layers, "decoder": config.decoder_layers, "cross": config.decoder_layers}

    def forward(self, model, sequences, head_masks, selections=None):
        return model(*sequences, head_masks["encoder"], head_masks["decoder"], head_masks["cross"], selections)

    def example_sequences(self, config, batch):
        return _text_sequences(config, batch, (7, 5))

    def dynamic_sequences(self, config, batch):
        return _text_dims(config, batch, ("src", "tgt"))

    def attention_modules(self, model):
        return {"encoder": [block.attention for block in model.encoder.blocks],
                "decoder": [block.self_attention for block in model.decoder_blocks],
                "cross": [block.cross_attention for block in model.decoder_blocks]}

    def text_embedding(self, model, name_of):
        # One embedding (times sqrt(d_model)) and the sinusoidal table for both sides.
        both = contract.TextEmbedding(model.embed.scale, contract.SINUSOIDAL)
        return {contract.SRC_IDS: both, contract.TGT_IDS: both}

    def untrained_metadata(self, model):
        tokenizer = character_wordpiece(model.config.vocab_size)
        tokenizer.post_processor = None
        return {"name": "untrained Transformer", "tokenizer_json": tokenizer.to_str(),
                "special_tokens": SEQ2SEQ_SPECIAL}

    def config(self, overrides=None):
        # Room for the character vocabulary of an untrained model.
        return super().config({"vocab_size": 160, **(overrides or {})})

    def config_fields(self, meta, shapes):
        return {**super().config_fields(meta, shapes), **_text_fields(meta, shapes),
                "encoder_layers": meta.stacks["encoder"].layers, "decoder_layers": meta.stacks["decoder"].layers,
                "max_positions": meta.max_positions[contract.SRC_IDS]}


class GPTKind(ModelKind):
    def stack_layers(self, config):
        return {"decoder": config.layers}

    def forward(self, model, sequences, head_masks, selections=None, past=None):
        return model(*sequences, head_masks["decoder"], past, selections)

    def example_sequences(self, config, batch):
        ids, _ = _text_sequences(config, batch, (6,))
        return ids, torch.ones(batch, EXAMPLE_PAST + 6, dtype=torch.long)  # the mask covers past and new keys

    def dynamic_sequences(self, config, batch):
        # With a cache the mask covers past + new tokens, a sum torch.export infers by itself.
        return {0: batch, 1: torch.export.Dim.AUTO}, {0: batch, 1: torch.export.Dim.AUTO}

    def attention_modules(self, model):
        return {"decoder": [block.attention for block in model.decoder.blocks]}

    def text_embedding(self, model, name_of):
        return {contract.INPUT_IDS: contract.TextEmbedding(1.0, name_of(model.positions.weight))}

    def unembedding(self, model, name_of):
        norm = model.decoder.final_norm
        return contract.Unembedding(name_of(model.embed.weight),
                                    norm=contract.LayerNormNames(name_of(norm.weight), name_of(norm.bias), norm.eps))

    def kv_cache(self, config):
        return contract.KVCache("decoder", config.layers, config.heads, config.d_model // config.heads)

    def untrained_metadata(self, model):
        tokenizer = gpt_character_level()
        return {"name": "untrained GPT", "tokenizer_json": tokenizer.to_str(), "special_tokens": GPT_SPECIAL}

    def config(self, overrides=None):
        return super().config({"vocab_size": 160, **(overrides or {})})

    def config_fields(self, meta, shapes):
        return {"d_model": meta.d_model, "heads": meta.stacks["decoder"].heads,
                "d_ff": shapes["decoder.blocks.0.feed_forward.net.0.weight"][0], **_text_fields(meta, shapes),
                "layers": meta.stacks["decoder"].layers, "max_positions": meta.max_positions[contract.INPUT_IDS]}


class ViTKind(ModelKind):
    def stack_layers(self, config):
        return {"encoder": config.layers}

    def forward(self, model, sequences, head_masks, selections=None):
        return model(*sequences, head_masks["encoder"], selections)

    def example_sequences(self, config, batch):
        pixels = torch.randn(batch, config.channels, config.image_size, config.image_size)  # (B, C, H, W)
        return pixels, torch.ones(batch, 1 + config.num_patches, dtype=torch.long)  # patch mask (B, 1 + N)

    def dynamic_sequences(self, config, batch):
        return {0: batch}, {0: batch}

    def attention_modules(self, model):
        return {"encoder": [block.attention for block in model.encoder.blocks]}

    def max_positions(self, config):
        return {contract.PIXEL_VALUES: 1 + config.num_patches}

    def patch_embedding(self, model, name_of):
        return contract.PatchEmbedding(
            weight=name_of(model.patch_embed.weight),  # (D, C*p*p), a Linear
            bias=name_of(model.patch_embed.bias),
            class_token=name_of(model.cls_token),  # (1, 1, D)
            positions=name_of(model.positions.weight),  # (1 + N, D)
        )

    def untrained_metadata(self, model):
        labels = tuple(f"class {i}" for i in range(model.config.classes))
        return {"name": "untrained ViT", "labels": labels, "image": image_spec_for(model.config)}

    def config_fields(self, meta, shapes):
        height, width = meta.image.size
        if height != width:
            raise ValueError(f"our ViT takes square images; the metadata says {meta.image.size}")
        return {**super().config_fields(meta, shapes), "layers": meta.stacks["encoder"].layers,
                "image_size": height, "patch_size": meta.image.patch_size, "channels": meta.image.channels,
                "classes": shapes["head.weight"][0]}


def image_spec_for(config: ViTConfig) -> contract.ImageSpec:
    """Our ViTs take [0, 1] RGB normalised with mean 0.5, std 0.5 per channel."""
    return contract.ImageSpec(
        size=(config.image_size, config.image_size),
        patch_size=config.patch_size,
        channels=config.channels,
        mean=(0.5,) * config.channels,
        std=(0.5,) * config.channels,
    )


BERT = BertKind("bert", Bert, BertConfig, "bert-mlm")
TRANSFORMER = TransformerKind("transformer", Transformer, TransformerConfig, "seq2seq")
VIT = ViTKind("vit", ViT, ViTConfig, "vit-classifier")
GPT_KIND = GPTKind("gpt", GPT, GPTConfig, "decoder-lm")
MODEL_KINDS: dict[str, ModelKind] = {k.name: k for k in (BERT, TRANSFORMER, VIT, GPT_KIND)}


def for_model(model: nn.Module) -> ModelKind:
    for kind in MODEL_KINDS.values():
        if isinstance(model, kind.model_class):
            return kind
    raise TypeError(f"no contract kind for {type(model).__name__}")


def for_kind(kind: str) -> ModelKind:
    """Our model class whose files are of contract kind `kind`."""
    for model_kind in MODEL_KINDS.values():
        if model_kind.kind == kind:
            return model_kind
    raise ValueError(f"a {kind!r} file; export/ defines {sorted(k.kind for k in MODEL_KINDS.values())}")


def for_class_name(name: str) -> ModelKind | None:
    """The kind of the model class a checkpoint names, or None."""
    return next((k for k in MODEL_KINDS.values() if k.model_class.__name__ == name), None)

