"""Import a Hugging Face checkpoint folder on disk as one contract ONNX file.

    attention-export hf DIR --out FILE.onnx [--task encoder|bert-mlm|vit-classifier|decoder-lm]

DIR is what `save_pretrained` writes: config.json, the weights (model.safetensors or
pytorch_model.bin) and, for text, tokenizer.json. Nothing is ever downloaded.

Supported: BERT-family encoders (BERT, MiniLM and others with BERT's layout, RoBERTa,
XLM-RoBERTa, DistilBERT) as `encoder` or `bert-mlm`; ViT as `vit-classifier`; GPT-2 as
`decoder-lm`. The model runs transformers' eager attention (softmax of the scaled scores plus
the additive mask); SDPA would return no probabilities. transformers 5 dropped the `head_mask`
argument, so `eager_attention_with_head_mask` below puts it back: every file gets the
contract's optional `head_mask.<stack>` input. The same function keeps each call's query, key and
value, and the file carries them with the hidden states and the names of the embedding and W_O
weights, so the app's anatomy views take an import apart as they do a bundled model. The metadata
comes from the same readers of a Hugging Face folder that open plain ONNX exports in the app
(explorer.shared.instrument).
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import onnx
import torch
from torch import nn

from explorer import contract
from explorer.shared.hf_folder import CONFIG, folder_metadata, read_json, token_embedding
from export.onnx_export import initializer_name, save_contract_model, to_onnx

# config.json's model_type -> the transformers class that loads it for each kind it can be.
FAMILIES: dict[str, dict[str, str]] = {
    "bert": {"encoder": "BertModel", "bert-mlm": "BertForMaskedLM"},
    "roberta": {"encoder": "RobertaModel", "bert-mlm": "RobertaForMaskedLM"},
    "xlm-roberta": {"encoder": "XLMRobertaModel", "bert-mlm": "XLMRobertaForMaskedLM"},
    "distilbert": {"encoder": "DistilBertModel", "bert-mlm": "DistilBertForMaskedLM"},
    "vit": {"vit-classifier": "ViTForImageClassification"},
    "gpt2": {"decoder-lm": "GPT2LMHeadModel"},
}
# A ViT saved without its classifier: its "logits" are the [CLS] token's final features.
VIT_FEATURES = "ViTModel"
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
# model_type -> the module of layer {} that is its W_O, under the model's base_model.
OUTPUT_PROJECTIONS = {
    "bert": "encoder.layer.{}.attention.output.dense",
    "roberta": "encoder.layer.{}.attention.output.dense",
    "xlm-roberta": "encoder.layer.{}.attention.output.dense",
    "distilbert": "transformer.layer.{}.attention.out_lin",
    "vit": "layers.{}.attention.o_proj",
    "gpt2": "h.{}.attn.c_proj",
}
INTERNALS = ("queries", "keys", "values")  # the contract's step-by-step outputs, per attention call
ATTENTION = "attention_explorer_eager"  # our name for eager attention with a head mask

_EXAMPLE_BATCH, _EXAMPLE_LENGTH = 2, 6  # lengths of at least 2, so that no axis is specialised
_EXAMPLE_PAST = 3  # a cached decoder is traced with this many past tokens


class AttentionCalls:
    """What one forward's attention calls share: each call takes its layer's head-mask row and
    leaves its query, key and value (after any rotary positions), in the order the layers run."""

    def __init__(self, head_mask: torch.Tensor):
        self.head_mask = head_mask  # (layers, heads)
        self.layer = 0
        self.seen: dict[str, list[torch.Tensor]] = {"queries": [], "keys": [], "values": []}

    def next(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        for name, tensor in zip(self.seen, (query, key, value), strict=True):
            self.seen[name].append(tensor)  # (B, H, T, hd)
        row = self.head_mask[self.layer]  # (heads,)
        self.layer += 1
        return row

    def stacked(self, name: str) -> torch.Tensor:
        return torch.stack(self.seen[name])  # (L, B, H, T, hd)


def eager_attention_with_head_mask(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    head_mask_rows: AttentionCalls | None = None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """transformers' eager attention; the head mask scales each head's probabilities on their way
    to V, and the probabilities returned are those before it (the contract's rule)."""
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling  # (B, H, T, S)
    if attention_mask is not None:
        scores = scores + attention_mask  # 0 where allowed, the most negative float where masked
    probs = torch.softmax(scores, dim=-1)  # (B, H, T, S); masked keys exactly 0
    weights = probs if head_mask_rows is None else probs * head_mask_rows.next(query, key, value)[None, :, None, None]
    out = torch.matmul(weights, value).transpose(1, 2).contiguous()  # (B, T, H, hs)
    return out, probs


def _register_attention() -> None:
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import eager_mask

    AttentionInterface.register(ATTENTION, eager_attention_with_head_mask)
    AttentionMaskInterface.register(ATTENTION, eager_mask)  # additive float masks, as eager takes


class ContractWrapper(nn.Module):
    """The contract's flat inputs (ids or pixels, mask, head mask) and outputs around a HF model:
    logits, attention, the queries, keys and values every attention call used, and the hidden
    states (the first layer's input, then each layer's output), for the app's anatomy views."""

    def __init__(self, hf_model: nn.Module, kind: str, cache: contract.KVCache | None = None):
        super().__init__()
        self.hf = hf_model
        self.kind = kind
        self.spec = contract.KIND_SPECS[kind]
        self.stack = next(iter(self.spec.stacks))
        self.cache = cache  # a decoder's past/present keys and values, fed and returned per layer
        # A pre-norm decoder (GPT-2) norms its last hidden state before handing it back: the
        # contract's is the last layer's output, which is what goes into that final norm.
        self.final_norm = getattr(hf_model.base_model, "ln_f", None)

    def input_names(self) -> list[str]:
        past = self.cache.past_inputs() if self.cache else []
        return [*contract.KIND_SEQUENCES[self.kind][0], contract.head_mask_input(self.stack), *past]

    def output_names(self) -> list[str]:
        internals = [contract.stack_output(name, self.stack) for name in (*INTERNALS, "hidden_states")]
        present = self.cache.present_outputs() if self.cache else []
        return [contract.LOGITS, contract.attention_output(self.stack), *internals, *present]

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor, head_mask: torch.Tensor, *past: torch.Tensor):
        calls = AttentionCalls(head_mask)
        source = self.spec.sequences[0][0]  # input_ids, or pixel_values for an image model
        extra = {}
        if self.cache:  # transformers' own cache, filled with the past (key, value) of each layer
            from transformers import DynamicCache

            layers = list(zip(past[0::2], past[1::2], strict=True))
            extra = {"use_cache": True, "cache": DynamicCache(layers, config=self.hf.config)}
        elif self.spec.causal:
            extra = {"use_cache": False}
        before_norm: list[torch.Tensor] = []
        hook = None if self.final_norm is None else self.final_norm.register_forward_pre_hook(
            lambda module, args: before_norm.append(args[0]))
        try:
            out = self.hf(**{source: inputs}, attention_mask=mask, head_mask_rows=calls, output_attentions=True,
                          output_hidden_states=True, return_dict=True, **extra)
        finally:
            if hook is not None:
                hook.remove()
        if hasattr(out, "logits"):
            logits = out.logits  # (B, T, vocab) or (B, classes)
        elif self.spec.images:
            logits = out.last_hidden_state[:, 0]  # (B, d_model): the [CLS] features
        else:
            logits = out.last_hidden_state  # (B, T, d_model)
        hidden = [*out.hidden_states[:-1], *(before_norm or out.hidden_states[-1:])]
        internals = [calls.stacked(name) for name in INTERNALS]  # each (L, B, H, T, hd)
        present = [t for layer in out.cache.layers for t in (layer.keys, layer.values)] if self.cache else []
        # attentions (L, B, H, T, P + T)
        return (logits, torch.stack(out.attentions), *internals, torch.stack(hidden), *present)

    def text_embedding(self) -> dict[str, contract.TextEmbedding]:
        """How the ids enter the first layer, by the graph's names of the weights: BERT's family and
        DistilBERT add positions (and segment 0) and LayerNorm; GPT-2 adds positions only."""
        base = self.hf.base_model
        embeddings = getattr(base, "embeddings", None)
        if embeddings is None:  # GPT-2: wte + wpe
            recipe = contract.TextEmbedding(positions=initializer_name(self, base.wpe.weight))
        else:
            token_type = getattr(embeddings, "token_type_embeddings", None)
            norm = embeddings.LayerNorm
            padding = getattr(embeddings, "padding_idx", None)  # RoBERTa's positions start after it
            recipe = contract.TextEmbedding(
                positions=initializer_name(self, embeddings.position_embeddings.weight),
                position_offset=0 if padding is None else padding + 1,
                token_type=None if token_type is None else initializer_name(self, token_type.weight),
                norm=contract.LayerNormNames(initializer_name(self, norm.weight), initializer_name(self, norm.bias),
                                             norm.eps),
            )
        return {self.spec.sequences[0][0]: recipe}

    def output_projection(self, model_type: str, layers: int) -> dict[str, contract.OutputProjection]:
        """Each layer's W_O, by the graph's names: a Linear (D, H*hd), or GPT-2's Conv1D (H*hd, D)."""
        modules = [self.hf.base_model.get_submodule(OUTPUT_PROJECTIONS[model_type].format(i)) for i in range(layers)]
        return {self.stack: contract.OutputProjection(
            weight=tuple(initializer_name(self, m.weight) for m in modules),
            bias=tuple(initializer_name(self, m.bias) for m in modules if m.bias is not None),
            transposed=type(modules[0]).__name__ == "Conv1D",
        )}

    def unembedding(self, graph: onnx.GraphProto) -> contract.Unembedding | None:
        """A causal LM's final norm and output embedding, by the graph's names (GPT-2: ln_f, and
        lm_head tied to wte): what the logit lens reads each layer's residual stream through. A
        tied or shared weight has several module paths; the graph keeps one of them."""
        head, norm = self.hf.get_output_embeddings(), self.final_norm
        if not self.spec.causal or head is None or norm is None:
            return None
        kept = {init.name for init in graph.initializer}

        def name(parameter: torch.Tensor) -> str:
            return next(n for n, p in self.named_parameters(remove_duplicate=False) if p is parameter and n in kept)

        bias = getattr(head, "bias", None)
        return contract.Unembedding(
            weight=name(head.weight), bias=None if bias is None else name(bias),
            norm=contract.LayerNormNames(name(norm.weight), name(norm.bias), norm.eps),
        )

    def patch_embedding(self) -> contract.PatchEmbedding:
        """The graph's names of a ViT's patch embedding weights (transformers' ViTEmbeddings)."""
        embeddings = self.hf.base_model.embeddings
        projection = embeddings.patch_embeddings.projection  # Conv2d(C, D, kernel p, stride p): weight (D, C, p, p)
        return contract.PatchEmbedding(
            weight=initializer_name(self, projection.weight),
            bias=None if projection.bias is None else initializer_name(self, projection.bias),
            class_token=initializer_name(self, embeddings.cls_token),  # (1, 1, D)
            positions=initializer_name(self, embeddings.position_embeddings),  # (1, 1 + N, D)
        )


# -- the folder -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """What a folder holds, before any weights are read."""

    folder: Path
    config: dict  # config.json, with the defaults of its config class filled in
    model_type: str
    architecture: str
    kind: str
    class_name: str  # the transformers class that loads it as `kind`


def read_checkpoint(folder: str | Path, task: str | None = None) -> Checkpoint:
    """Check the folder and choose the kind and class; raise FileNotFoundError/ValueError naming the fault."""
    from transformers import AutoConfig

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder: give the folder a Hugging Face checkpoint was saved to")
    if not (folder / CONFIG).is_file():
        raise FileNotFoundError(f"{folder / CONFIG} is missing: the folder is not a Hugging Face checkpoint")
    if not any((folder / name).is_file() for name in WEIGHTS):
        raise FileNotFoundError(f"{folder} holds no weights (looked for {', '.join(WEIGHTS)})")
    saved = read_json(folder / CONFIG)
    model_type = saved.get("model_type", "")
    architecture = (saved.get("architectures") or [""])[0]
    if model_type not in FAMILIES:
        supported = ", ".join(sorted(FAMILIES))
        raise ValueError(f"{folder / CONFIG}: model_type {model_type!r} ({architecture or 'no architecture'}) "
                         f"cannot be imported; supported: {supported}")
    config = AutoConfig.from_pretrained(folder, local_files_only=True).to_dict()  # with the class's defaults
    kinds = FAMILIES[model_type]
    kind = task or default_kind(kinds, architecture)
    if kind not in kinds:
        raise ValueError(f"{folder / CONFIG}: a {model_type} checkpoint imports as {' or '.join(kinds)}, not {kind}")
    class_name = VIT_FEATURES if architecture == VIT_FEATURES else kinds[kind]
    return Checkpoint(folder, config, model_type, architecture, kind, class_name)


def default_kind(kinds: dict[str, str], architecture: str) -> str:
    """The kind the checkpoint's own architecture is: with a masked-LM head or without one."""
    if len(kinds) == 1:
        return next(iter(kinds))
    return "bert-mlm" if architecture.endswith(("ForMaskedLM", "ForPreTraining")) else "encoder"


def load_model(checkpoint: Checkpoint) -> nn.Module:
    """The model with our eager attention; raise ValueError when the checkpoint lacks weights it needs."""
    import transformers
    from transformers.utils import logging as hf_logging

    _register_attention()
    hf_logging.disable_progress_bar()
    model_class = getattr(transformers, checkpoint.class_name)
    options = {}
    if "add_pooling_layer" in inspect.signature(model_class.__init__).parameters:
        options["add_pooling_layer"] = False  # a pooler we do not use need not be in the checkpoint
    model, info = model_class.from_pretrained(
        checkpoint.folder, attn_implementation=ATTENTION, local_files_only=True, output_loading_info=True, **options
    )
    if info["missing_keys"]:
        missing = sorted(info["missing_keys"])
        raise ValueError(f"{checkpoint.folder}: the checkpoint ({checkpoint.architecture}) has no weights for "
                         f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}; it cannot be a "
                         f"{checkpoint.kind} (try another --task)")
    return model.eval()


# -- export -----------------------------------------------------------------------------------


def example_inputs(checkpoint: Checkpoint, meta: contract.ModelMetadata) -> tuple[torch.Tensor, ...]:
    spec = meta.stacks[contract.KIND_STACKS[checkpoint.kind][0]]
    head_mask = torch.ones(spec.layers, spec.heads)
    b = _EXAMPLE_BATCH
    if meta.image is not None:
        pixels = torch.randn(b, meta.image.channels, *meta.image.size)  # (B, C, H, W)
        return pixels, torch.ones(b, 1 + meta.image.num_patches, dtype=torch.long), head_mask
    ids = torch.randint(0, checkpoint.config["vocab_size"], (b, _EXAMPLE_LENGTH))  # (B, T)
    if meta.kv_cache is None:
        return ids, torch.ones_like(ids), head_mask
    past = tuple(torch.randn(meta.kv_cache.shape(b, _EXAMPLE_PAST)) for _ in meta.kv_cache.past_inputs())
    return ids, torch.ones(b, _EXAMPLE_PAST + _EXAMPLE_LENGTH, dtype=torch.long), head_mask, *past


def dynamic_shapes(meta: contract.ModelMetadata) -> tuple:
    batch = torch.export.Dim("batch", min=1, max=4096)
    if meta.image is not None:
        return {0: batch}, {0: batch}, None
    if meta.kv_cache is not None:  # the mask covers past + new tokens, a sum torch.export infers by itself
        auto = torch.export.Dim.AUTO
        past = tuple({0: batch, 2: auto} for _ in meta.kv_cache.past_inputs())
        return {0: batch, 1: auto}, {0: batch, 1: auto}, None, past  # forward's *past: one entry
    longest = next(iter(meta.max_positions.values()), 4096)
    seq = torch.export.Dim("seq", min=2, max=longest)
    return {0: batch, 1: seq}, {0: batch, 1: seq}, None


def kv_cache(meta: contract.ModelMetadata) -> contract.KVCache | None:
    """A decoder's cache: every layer's keys and values, as transformers' own cache holds them."""
    causal = [(name, spec) for name, spec in meta.stacks.items() if spec.causal]
    if len(meta.stacks) != 1 or not causal:  # a seq2seq decoder steps with its encoder: not cached here
        return None
    name, spec = causal[0]
    return contract.KVCache(name, spec.layers, spec.heads, spec.head_dim)


def export_hf(folder: str | Path, out: str | Path, task: str | None = None) -> Path:
    """Import the checkpoint in `folder` as the contract file `out`; `task` overrides the kind."""
    checkpoint = read_checkpoint(folder, task)
    # The metadata first: a missing tokenizer.json or preprocessor_config.json stops us before any work.
    meta = folder_metadata(
        checkpoint.folder,
        checkpoint.kind,
        checkpoint.config,
        labels=(tuple(f"feature {i}" for i in range(checkpoint.config["hidden_size"]))
                if checkpoint.class_name == VIT_FEATURES else None),
        provenance={
            "source": "huggingface",
            "path": str(checkpoint.folder.resolve()),
            "architecture": checkpoint.architecture,
            "config": checkpoint.model_type,
        },
    )
    model = load_model(checkpoint)
    parameters = sum(p.numel() for p in model.parameters())  # tied weights once, as the app should count them
    meta = dataclasses.replace(meta, provenance={**meta.provenance, "parameters": parameters},
                               kv_cache=kv_cache(meta))
    wrapper = ContractWrapper(model, checkpoint.kind, meta.kv_cache).eval()
    proto = to_onnx(wrapper, example_inputs(checkpoint, meta), dynamic_shapes(meta))
    if meta.image is None:
        meta = dataclasses.replace(meta, embedding=token_embedding(proto.graph, checkpoint.config["vocab_size"]),
                                   text_embedding=wrapper.text_embedding())
    else:
        meta = dataclasses.replace(meta, patch_embedding=wrapper.patch_embedding())
    layers = meta.stacks[wrapper.stack].layers
    meta = dataclasses.replace(meta, output_projection=wrapper.output_projection(checkpoint.model_type, layers),
                               unembedding=wrapper.unembedding(proto.graph))
    return save_contract_model(proto, meta, out)
