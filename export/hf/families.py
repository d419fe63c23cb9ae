"""Each Hugging Face family `attention-export hf` imports, described once: config.json's model_type ->
the transformers class per kind, where its weights lie (module paths under `model.base_model`), and
whether its attention goes through transformers' AttentionInterface."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Norm:
    """A normalisation module: LayerNorm, or RMSNorm (`rms`; Gemma's scales by 1 + weight)."""

    path: str  # the module under base_model
    rms: bool = False
    weight_offset: float = 0.0
    eps: str = "eps"  # the module's attribute that holds epsilon (Llama's RMSNorm: variance_epsilon)


@dataclass(frozen=True)
class Family:
    classes: dict[str, str]  # kind -> the transformers class that loads the checkpoint as that kind
    output_projection: str  # layer {}'s W_O, whose input the head mask scales (no {}: one shared by all layers)
    positions: str | None = None  # a learned position table; None where positions act inside attention
    token_type: str | None = None  # BERT's segment table (row 0 is added)
    embedding_norm: Norm | None = None  # a norm after the embedding sum
    final_norm: Norm | None = None  # a pre-norm model's norm after its last layer (a decoder's, before the unembedding)
    logit_softcap: str | None = None  # config.json's key of a final tanh soft-capping of the logits
    # Attention code of its own, not through transformers' AttentionInterface: loaded as "eager", the
    # probabilities come from output_attentions and the file has no queries, keys or values.
    own_attention: bool = False
    # A projection of the embedding sum to d_model where the checkpoint has one: then the contract's
    # text_embedding cannot say how tokens enter the first layer, and the file leaves it out.
    embedding_projection: str | None = None
    # The endings of the architectures that carry a masked-LM head (ELECTRA's ForPreTraining is its discriminator).
    masked_lm_architectures: tuple[str, ...] = ("ForMaskedLM", "ForPreTraining")
    # config.json key -> (the value the import is written for, why another is refused)
    supported_config: dict[str, tuple[object, str]] = field(default_factory=dict)


_BERT_EMBEDDINGS = {"positions": "embeddings.position_embeddings", "token_type": "embeddings.token_type_embeddings",
                    "embedding_norm": Norm("embeddings.LayerNorm")}
_BERT_W_O = "encoder.layer.{}.attention.output.dense"
_LLAMA_NORM = Norm("norm", rms=True, eps="variance_epsilon")
_GEMMA_NORM = Norm("norm", rms=True, weight_offset=1.0)
_SELF_ATTN_W_O = "layers.{}.self_attn.o_proj"
_ONE_ALBERT_LAYER = "W_O's one module path per layer holds for one group of one layer, as in every released ALBERT"


def _bert(prefix: str, **fields) -> Family:
    return Family({"encoder": f"{prefix}Model", "bert-mlm": f"{prefix}ForMaskedLM"}, _BERT_W_O, **_BERT_EMBEDDINGS,
                  **fields)


def _rotary_decoder(prefix: str, norm: Norm = _LLAMA_NORM, **fields) -> Family:
    """A Llama-layout decoder: rotary positions, RMSNorm, grouped-query attention, o_proj as W_O."""
    return Family({"decoder-lm": f"{prefix}ForCausalLM"}, _SELF_ATTN_W_O, final_norm=norm, **fields)


FAMILIES: dict[str, Family] = {
    "bert": _bert("Bert"),
    "roberta": _bert("Roberta"),
    "xlm-roberta": _bert("XLMRoberta"),
    "electra": _bert("Electra", embedding_projection="embeddings_project", masked_lm_architectures=("ForMaskedLM",)),
    # One layer's weights shared by every layer.
    "albert": Family({"encoder": "AlbertModel", "bert-mlm": "AlbertForMaskedLM"},
                     "encoder.albert_layer_groups.0.albert_layers.0.attention.dense", **_BERT_EMBEDDINGS,
                     embedding_projection="encoder.embedding_hidden_mapping_in",
                     supported_config={"num_hidden_groups": (1, _ONE_ALBERT_LAYER),
                                       "inner_group_num": (1, _ONE_ALBERT_LAYER)}),
    # Learned positions from padding_idx + 1, and a relative position bias per head inside attention.
    "mpnet": Family({"encoder": "MPNetModel", "bert-mlm": "MPNetForMaskedLM"}, "encoder.layer.{}.attention.attn.o",
                    positions="embeddings.position_embeddings", embedding_norm=Norm("embeddings.LayerNorm"),
                    own_attention=True, supported_config={"relative_attention_num_buckets": (
                        32, "transformers' MPNet looks 32 buckets up whatever the config says")}),
    # Disentangled relative positions inside attention; absolute positions and segments only where configured.
    "deberta-v2": Family({"encoder": "DebertaV2Model", "bert-mlm": "DebertaV2ForMaskedLM"}, _BERT_W_O,
                         **_BERT_EMBEDDINGS, own_attention=True, embedding_projection="embeddings.embed_proj"),
    # Rotary positions; every few layers global, the others a window on either side of the query.
    "modernbert": Family({"encoder": "ModernBertModel", "bert-mlm": "ModernBertForMaskedLM"}, "layers.{}.attn.Wo",
                         embedding_norm=Norm("embeddings.norm"), final_norm=Norm("final_norm")),
    "distilbert": Family({"encoder": "DistilBertModel", "bert-mlm": "DistilBertForMaskedLM"},
                         "transformer.layer.{}.attention.out_lin", positions="embeddings.position_embeddings",
                         embedding_norm=Norm("embeddings.LayerNorm")),
    "vit": Family({"vit-classifier": "ViTForImageClassification"}, "layers.{}.attention.o_proj"),
    "gpt2": Family({"decoder-lm": "GPT2LMHeadModel"}, "h.{}.attn.c_proj", positions="wpe", final_norm=Norm("ln_f")),
    # Unscaled q·k, a local window on alternate layers.
    "gpt_neo": Family({"decoder-lm": "GPTNeoForCausalLM"}, "h.{}.attn.attention.out_proj", positions="wpe",
                      final_norm=Norm("ln_f"), own_attention=True),
    # Rotary on pairs of each head's first dimensions, parallel residual, an unembedding with a bias.
    "gptj": Family({"decoder-lm": "GPTJForCausalLM"}, "h.{}.attn.out_proj", final_norm=Norm("ln_f")),
    # Rotary or ALiBi, multi-query (one key/value head) or grouped, parallel attention and MLP.
    "falcon": Family({"decoder-lm": "FalconForCausalLM"}, "h.{}.self_attention.dense", final_norm=Norm("ln_f"),
                     own_attention=True, supported_config={"alibi": (
                         False, "transformers builds Falcon-RW's ALiBi in bfloat16, which ONNX Runtime's CPU "
                         "cannot multiply")}),
    # ALiBi (a linear bias by distance per head), a LayerNorm after the embedding.
    "bloom": Family({"decoder-lm": "BloomForCausalLM"}, "h.{}.self_attention.dense",
                    embedding_norm=Norm("word_embeddings_layernorm"), final_norm=Norm("ln_f"), own_attention=True),
    "llama": _rotary_decoder("Llama"),
    "mistral": _rotary_decoder("Mistral"),
    "qwen2": _rotary_decoder("Qwen2"),
    "qwen3": _rotary_decoder("Qwen3"),
    "phi3": _rotary_decoder("Phi3"),
    "gemma": _rotary_decoder("Gemma", _GEMMA_NORM),
    "gemma2": _rotary_decoder("Gemma2", _GEMMA_NORM, logit_softcap="final_logit_softcapping"),
    # Rotary on part of each head, LayerNorm; Phi-1/2's lm_head has a bias.
    "gpt_neox": Family({"decoder-lm": "GPTNeoXForCausalLM"}, "layers.{}.attention.dense",
                       final_norm=Norm("final_layer_norm")),
    "phi": Family({"decoder-lm": "PhiForCausalLM"}, "layers.{}.self_attn.dense", final_norm=Norm("final_layernorm")),
    # Learned positions from row 2 (OPTLearnedPositionalEmbedding's offset); queries scaled before q·k.
    "opt": Family({"decoder-lm": "OPTForCausalLM"}, "decoder.layers.{}.self_attn.out_proj",
                  positions="decoder.embed_positions", final_norm=Norm("decoder.final_layer_norm")),
}
# Families refused with a reason of their own; any other model_type gets UNDESCRIBED.
REFUSED: dict[str, str] = {
    "swin": "its attention is computed inside windows of patches that shift from layer to layer, not as one "
            "[queries x keys] square over the image; try a ViT checkpoint (vit)",
}
UNDESCRIBED = ("export/hf/families.py does not describe where its weights and attention lie; try an ONNX export "
               "of it (optimum-cli export onnx), which the app opens by finding the attention's Softmax nodes")
# A ViT saved without its classifier: its "logits" are the [CLS] token's final features.
VIT_FEATURES = "ViTModel"
