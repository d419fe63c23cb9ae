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
class PatchPaths:
    """A vision model's way in, as the contract's patch_embedding says it (paths under base_model)."""

    projection: str  # the Conv2d(C, D, kernel p, stride p)
    positions: str  # the learned positions: a parameter (1, tokens, D) or an Embedding's weight (tokens, D)
    class_token: str | None = None


@dataclass(frozen=True)
class Vision:
    """What a vision family adds; the tokens before its patches are read from its folder (hf_folder)."""

    # Where the contract's patch_embedding can say how the patches enter the first layer; None where a
    # token it cannot name (DeiT's distillation token), a norm or no learned positions come between.
    patch_embedding: PatchPaths | None = None
    features: str | None = None  # the class of a checkpoint without a classifier: its "logits" are its features
    also: tuple[str, ...] = ()  # other architectures of the kind, loaded as they are saved
    additive_mask: bool = False  # the model hands attention_mask to its layers as it is: the wrapper makes it additive


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
    vision: Vision | None = None  # an image model's way in and out
    # A kind with several stacks (seq2seq): layer {}'s W_O of each stack after the first (output_projection's).
    stack_output_projections: dict[str, str] = field(default_factory=dict)


_BERT_EMBEDDINGS = {"positions": "embeddings.position_embeddings", "token_type": "embeddings.token_type_embeddings",
                    "embedding_norm": Norm("embeddings.LayerNorm")}
_BERT_W_O = "encoder.layer.{}.attention.output.dense"
_LLAMA_NORM = Norm("norm", rms=True, eps="variance_epsilon")
_GEMMA_NORM = Norm("norm", rms=True, weight_offset=1.0)
_SELF_ATTN_W_O = "layers.{}.self_attn.o_proj"
_VIT_PATCHES = PatchPaths("embeddings.patch_embeddings.projection", "embeddings.position_embeddings",
                           "embeddings.cls_token")
_ONE_ALBERT_LAYER = "W_O's one module path per layer holds for one group of one layer, as in every released ALBERT"


def _bert(prefix: str, **fields) -> Family:
    return Family({"encoder": f"{prefix}Model", "bert-mlm": f"{prefix}ForMaskedLM"}, _BERT_W_O, **_BERT_EMBEDDINGS,
                  **fields)


def _rotary_decoder(prefix: str, norm: Norm = _LLAMA_NORM, **fields) -> Family:
    """A Llama-layout decoder: rotary positions, RMSNorm, grouped-query attention, o_proj as W_O."""
    return Family({"decoder-lm": f"{prefix}ForCausalLM"}, _SELF_ATTN_W_O, final_norm=norm, **fields)


def _encoder_decoder(model_class: str, kind: str = "seq2seq") -> Family:
    """BART's layout: encoder.layers and decoder.layers, each attention's W_O out_proj."""
    return Family({kind: model_class}, "encoder.layers.{}.self_attn.out_proj",
                  stack_output_projections={"decoder": "decoder.layers.{}.self_attn.out_proj",
                                            "cross": "decoder.layers.{}.encoder_attn.out_proj"})


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
    "vit": Family({"vit-classifier": "ViTForImageClassification"}, "layers.{}.attention.o_proj",
                  vision=Vision(_VIT_PATCHES, features="ViTModel")),
    # vision
    # [CLS], a distillation token, then the patches; the teacher-distilled head averages both tokens' logits.
    "deit": Family({"vit-classifier": "DeiTForImageClassification"}, "layers.{}.attention.o_proj",
                   vision=Vision(features="DeiTModel", also=("DeiTForImageClassificationWithTeacher",))),
    # A relative position bias per head inside attention (added to the mask): loaded as plain eager, no q, k, v.
    "beit": Family({"vit-classifier": "BeitForImageClassification"}, "layers.{}.attention.o_proj",
                   own_attention=True, vision=Vision()),
    # Positions interpolated to the image it is given; the features: the normed [CLS].
    "dinov2": Family({"vit-classifier": "Dinov2ForImageClassification"}, "encoder.layer.{}.attention.o_proj",
                     vision=Vision(_VIT_PATCHES, features="Dinov2Model")),
    # Register tokens after [CLS], added after the positions.
    "dinov2_with_registers": Family(
        {"vit-classifier": "Dinov2WithRegistersForImageClassification"}, "encoder.layer.{}.attention.o_proj",
        vision=Vision(features="Dinov2WithRegistersModel")),
    # CLIP's image tower: a LayerNorm before the first layer; the features: the normed [CLS].
    "clip_vision_model": Family({"vit-classifier": "CLIPVisionModel"}, "encoder.layers.{}.self_attn.out_proj",
                                vision=Vision(features="CLIPVisionModel", additive_mask=True)),
    # SigLIP's image tower: no class token; the features: its attention-pooling head's output. Its attention
    # passes on no keyword arguments, so no record reaches ours: loaded as plain eager, no q, k, v.
    "siglip_vision_model": Family(
        {"vit-classifier": "SiglipVisionModel"}, "encoder.layers.{}.self_attn.out_proj", own_attention=True,
        vision=Vision(PatchPaths("embeddings.patch_embedding", "embeddings.position_embedding.weight"),
                      features="SiglipVisionModel", additive_mask=True),
        supported_config={"vision_use_head": (True, "without its attention-pooling head the tower gives no one "
                                                    "feature vector")}),
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
    # encoder–decoders
    # A relative position bias inside attention, added to unscaled q·k: loaded as plain eager, no q, k, v.
    "t5": Family({"seq2seq": "T5ForConditionalGeneration"}, "encoder.block.{}.layer.0.SelfAttention.o",
                 own_attention=True, stack_output_projections={"decoder": "decoder.block.{}.layer.0.SelfAttention.o",
                                                               "cross": "decoder.block.{}.layer.1.EncDecAttention.o"}),
    # Learned positions from row 2, a LayerNorm after the embedding, post-norm layers.
    "bart": _encoder_decoder("BartForConditionalGeneration"),
    # As BART, sinusoidal positions (sines in one half, cosines in the other), embeddings × √d, no embedding norm.
    "marian": _encoder_decoder("MarianMTModel"),
    # As BART, pre-norm layers and a LayerNorm after each stack.
    "mbart": _encoder_decoder("MBartForConditionalGeneration"),
    # As Marian, pre-norm layers and a LayerNorm after each stack.
    "pegasus": _encoder_decoder("PegasusForConditionalGeneration"),
    # As mBART, the encoder hearing log-mel frames through two convolutions (the second of stride 2).
    "whisper": _encoder_decoder("WhisperForConditionalGeneration", "speech-seq2seq"),
}
# Families refused with a reason of their own; any other model_type gets UNDESCRIBED.
REFUSED: dict[str, str] = {
    "swin": "its attention is computed inside windows of patches that shift from layer to layer, not as one "
            "[queries x keys] square over the image; try a ViT checkpoint (vit)",
    # vision
    "clip": "it holds a text and an image tower; save the image tower alone (CLIPVisionModel.from_pretrained, then "
            "save_pretrained beside a copy of preprocessor_config.json) and import that (clip_vision_model)",
    "siglip": "it holds a text and an image tower; save the image tower alone (SiglipVisionModel.from_pretrained, "
              "then save_pretrained beside a copy of preprocessor_config.json) and import that (siglip_vision_model)",
}
UNDESCRIBED = ("export/hf/families.py does not describe where its weights and attention lie; try an ONNX export "
               "of it (optimum-cli export onnx), which the app opens by finding the attention's Softmax nodes")
