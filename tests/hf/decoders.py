"""Tiny random decoders of every family `attention-export hf` imports as decoder-lm besides GPT-2
(rotary positions, RMSNorm, grouped-query and multi-query attention, sliding windows, soft-capping,
OPT's learned positions, ALiBi, attention code of the family's own), saved the way `save_pretrained`
writes them."""

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
    kv_heads: int | None = KV_HEADS  # the 4 query heads share this many key/value heads (None: each its own)
    kv_heads_key: str | None = "num_key_value_heads"  # config's key for them (Falcon: multi_query says 1)
    rms: bool = True  # the final norm is an RMSNorm
    sliding: tuple[int, ...] = ()  # the layers a window of WINDOW keys applies to
    scale: float | None = None  # what q·k is multiplied by, where not 1/√head_dim
    softcap: float | None = None  # the scores' soft cap
    position_offset: int | None = None  # learned positions: the table row of position 0
    internals: bool = True  # its attention goes through transformers' interface: the file has q, k, v


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
    "gpt_neox": Tiny("GPTNeoXConfig", "GPTNeoXForCausalLM", {"rotary_pct": 0.5}, kv_heads=None, rms=False),
    "phi": Tiny("PhiConfig", "PhiForCausalLM", {"partial_rotary_factor": 0.5}, rms=False),
    "opt": Tiny("OPTConfig", "OPTForCausalLM", {"ffn_dim": 64, "word_embed_proj_dim": WIDTH, "init_std": 0.3},
                kv_heads=None, rms=False, scale=1.0, position_offset=2),  # queries scaled by q_proj's side
    "gptj": Tiny("GPTJConfig", "GPTJForCausalLM", {"rotary_dim": 4}, kv_heads=None, rms=False),
    # Attention code of their own: probabilities from output_attentions, no q, k, v in the file.
    "gpt_neo": Tiny("GPTNeoConfig", "GPTNeoForCausalLM", {"attention_types": [[["global", "local"], 1]],
                    "window_size": WINDOW}, kv_heads=None, rms=False, sliding=(1,), position_offset=0, internals=False),
    "falcon": Tiny("FalconConfig", "FalconForCausalLM", {"multi_query": True}, kv_heads=1, kv_heads_key=None,
                   rms=False, internals=False),  # Falcon-7B's layout: one key/value head, rotary
    "bloom": Tiny("BloomConfig", "BloomForCausalLM", kv_heads=None, rms=False, internals=False),
}
WITH_INTERNALS = [name for name, tiny in FAMILIES.items() if tiny.internals]


def save(folder: Path, model_type: str) -> Path:
    tiny = FAMILIES[model_type]
    tokenizer = gpt2_tokenizer()
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    grouped = {tiny.kv_heads_key: tiny.kv_heads} if tiny.kv_heads and tiny.kv_heads_key else {}
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
