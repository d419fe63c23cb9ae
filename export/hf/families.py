"""Each Hugging Face family `attention-export hf` imports, described once: config.json's model_type ->
the transformers class per kind, and where its weights lie (module paths under `model.base_model`)."""

from __future__ import annotations

from dataclasses import dataclass


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
    output_projection: str  # layer {}'s W_O
    positions: str | None = None  # a learned position table; None where positions act inside attention
    token_type: str | None = None  # BERT's segment table (row 0 is added)
    embedding_norm: Norm | None = None  # a norm after the embedding sum
    final_norm: Norm | None = None  # a pre-norm decoder's norm before the unembedding
    logit_softcap: str | None = None  # config.json's key of a final tanh soft-capping of the logits


_BERT_EMBEDDINGS = {"positions": "embeddings.position_embeddings", "token_type": "embeddings.token_type_embeddings",
                    "embedding_norm": Norm("embeddings.LayerNorm")}
_BERT_W_O = "encoder.layer.{}.attention.output.dense"
_LLAMA_NORM = Norm("norm", rms=True, eps="variance_epsilon")
_GEMMA_NORM = Norm("norm", rms=True, weight_offset=1.0)
_SELF_ATTN_W_O = "layers.{}.self_attn.o_proj"


def _bert(prefix: str) -> Family:
    return Family({"encoder": f"{prefix}Model", "bert-mlm": f"{prefix}ForMaskedLM"}, _BERT_W_O, **_BERT_EMBEDDINGS)


def _rotary_decoder(prefix: str, norm: Norm = _LLAMA_NORM, **fields) -> Family:
    """A Llama-layout decoder: rotary positions, RMSNorm, grouped-query attention, o_proj as W_O."""
    return Family({"decoder-lm": f"{prefix}ForCausalLM"}, _SELF_ATTN_W_O, final_norm=norm, **fields)


FAMILIES: dict[str, Family] = {
    "bert": _bert("Bert"),
    "roberta": _bert("Roberta"),
    "xlm-roberta": _bert("XLMRoberta"),
    "distilbert": Family({"encoder": "DistilBertModel", "bert-mlm": "DistilBertForMaskedLM"},
                         "transformer.layer.{}.attention.out_lin", positions="embeddings.position_embeddings",
                         embedding_norm=Norm("embeddings.LayerNorm")),
    "vit": Family({"vit-classifier": "ViTForImageClassification"}, "layers.{}.attention.o_proj"),
    "gpt2": Family({"decoder-lm": "GPT2LMHeadModel"}, "h.{}.attn.c_proj", positions="wpe", final_norm=Norm("ln_f")),
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
# A ViT saved without its classifier: its "logits" are the [CLS] token's final features.
VIT_FEATURES = "ViTModel"
