"""Tiny random decoders of every family `attention-export hf` imports as decoder-lm besides GPT-2
(rotary positions, RMSNorm, grouped-query attention, sliding windows, soft-capping, OPT's learned
positions), saved the way `save_pretrained` writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import transformers

from .conftest import gpt2_tokenizer

HEADS, KV_HEADS, LAYERS, WIDTH = 4, 2, 2, 32
WINDOW = 3  # the sliding windows: shorter than the test inputs


@dataclass(frozen=True)
class Tiny:
    """One family's tiny checkpoint: its classes, what it adds to the common sizes, what its import
    should then say."""

    config: str
    model: str
    sizes: dict = field(default_factory=dict)
    grouped: bool = True  # 4 query heads share 2 key/value heads
    rms: bool = True  # the final norm is an RMSNorm
    sliding: tuple[int, ...] = ()  # the layers a window of WINDOW keys applies to
    scale: float | None = None  # what q·k is multiplied by, where not 1/√head_dim
    softcap: float | None = None  # the scores' soft cap
    position_offset: int | None = None  # learned positions: the table row of position 0


# Scores are made large (initializer_range) so that the attention is peaked, not uniform, and Gemma 2's
# soft-capping (at 2) bends them; its scale 1/√12 is not 1/√head_dim.
FAMILIES: dict[str, Tiny] = {
    "llama": Tiny("LlamaConfig", "LlamaForCausalLM"),
    "mistral": Tiny("MistralConfig", "MistralForCausalLM", {"sliding_window": WINDOW}, sliding=(0, 1)),
    "qwen2": Tiny("Qwen2Config", "Qwen2ForCausalLM"),
    "qwen3": Tiny("Qwen3Config", "Qwen3ForCausalLM", {"head_dim": 16}),
    "phi3": Tiny("Phi3Config", "Phi3ForCausalLM"),
    "gemma": Tiny("GemmaConfig", "GemmaForCausalLM", {"head_dim": 16}),
    "gemma2": Tiny("Gemma2Config", "Gemma2ForCausalLM", {
        "head_dim": 16, "query_pre_attn_scalar": 12, "sliding_window": WINDOW, "attn_logit_softcapping": 2.0,
        "final_logit_softcapping": 5.0}, sliding=(0,), scale=12 ** -0.5, softcap=2.0),
    "gpt_neox": Tiny("GPTNeoXConfig", "GPTNeoXForCausalLM", {"rotary_pct": 0.5}, grouped=False, rms=False),
    "phi": Tiny("PhiConfig", "PhiForCausalLM", {"partial_rotary_factor": 0.5}, rms=False),
    "opt": Tiny("OPTConfig", "OPTForCausalLM", {"ffn_dim": 64, "word_embed_proj_dim": WIDTH, "init_std": 0.3},
                grouped=False, rms=False, scale=1.0, position_offset=2),  # queries scaled by q_proj's side
}


def save(folder: Path, model_type: str) -> Path:
    tiny = FAMILIES[model_type]
    tokenizer = gpt2_tokenizer()
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    grouped = {"num_key_value_heads": KV_HEADS} if tiny.grouped else {}
    config = getattr(transformers, tiny.config)(
        vocab_size=len(tokenizer), hidden_size=WIDTH, intermediate_size=64, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, max_position_embeddings=40, bos_token_id=eos, eos_token_id=eos,
        pad_token_id=eos, initializer_range=0.3, **grouped, **tiny.sizes)
    torch.manual_seed(0)
    getattr(transformers, tiny.model)(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def reference(folder: Path, model_type: str):
    """transformers' own model with eager attention."""
    return getattr(transformers, FAMILIES[model_type].model).from_pretrained(folder, attn_implementation="eager").eval()
