"""Tiny random encoder–decoders of every family `attention-export hf` imports as seq2seq (T5's relative
position bias and unscaled q·k, BART's learned positions and embedding norm, Marian's sinusoidal
positions, mBART's and Pegasus's pre-norm layers), saved the way `save_pretrained` writes them, with a
word-level tokenizer that ends the source as the family's own does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from .conftest import SENTENCES

HEADS, LAYERS, WIDTH = 4, 2, 32


@dataclass(frozen=True)
class Tiny:
    """One family's tiny checkpoint: its classes, its special tokens in id order, how its tokenizer
    frames a source, what it adds to the common sizes."""

    config: str
    model: str
    special: dict[str, str]  # role -> token, in id order
    template: str  # the tokenizer's post-processor for one sequence
    sizes: dict = field(default_factory=dict)
    start: str = "pad"  # the role of decoder_start_token_id's token
    internals: bool = True  # its attention goes through transformers' interface: the file has q, k, v


_BART = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>"}
_BART_SIZES = {"encoder_layers": LAYERS, "decoder_layers": LAYERS, "encoder_attention_heads": HEADS,
               "decoder_attention_heads": HEADS, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64,
               "max_position_embeddings": 40, "init_std": 0.3, "forced_eos_token_id": None}
# Weights are made large (init_std, initializer_factor) so that the attention is peaked, not uniform.
FAMILIES: dict[str, Tiny] = {
    "t5": Tiny("T5Config", "T5ForConditionalGeneration", {"pad": "<pad>", "eos": "</s>", "unk": "<unk>"},
               "$A </s>", {"num_layers": LAYERS, "num_decoder_layers": LAYERS, "num_heads": HEADS, "d_kv": 8,
                           "d_ff": 64, "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16,
                           "initializer_factor": 1.5}, internals=False),
    "bart": Tiny("BartConfig", "BartForConditionalGeneration", _BART, "<s> $A </s>", _BART_SIZES, start="eos"),
    "marian": Tiny("MarianConfig", "MarianMTModel", {"eos": "</s>", "unk": "<unk>", "pad": "<pad>"}, "$A </s>",
                   {**_BART_SIZES, "scale_embedding": True}),
    "mbart": Tiny("MBartConfig", "MBartForConditionalGeneration", _BART, "$A </s>", _BART_SIZES, start="eos"),
    "pegasus": Tiny("PegasusConfig", "PegasusForConditionalGeneration",
                    {"pad": "<pad>", "eos": "</s>", "unk": "<unk>"}, "$A </s>", _BART_SIZES),
}


WITH_INTERNALS = [name for name, tiny in FAMILIES.items() if tiny.internals]


def tokenizer(tiny: Tiny) -> PreTrainedTokenizerFast:
    """Words of the sentences after the special tokens; the source framed as the family's tokenizer does."""
    vocab = list(tiny.special.values()) + sorted({w for s in SENTENCES for w in s.split()})
    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(vocab)}, unk_token=tiny.special["unk"]))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single=tiny.template, special_tokens=[(t, vocab.index(t)) for t in tiny.special.values() if t in tiny.template])
    return PreTrainedTokenizerFast(tokenizer_object=tok, **{f"{role}_token": t for role, t in tiny.special.items()})


def save(folder: Path, model_type: str) -> Path:
    tiny = FAMILIES[model_type]
    tok = tokenizer(tiny)
    ids = {f"{role}_token_id": tok.convert_tokens_to_ids(t) for role, t in tiny.special.items() if role != "unk"}
    config = getattr(transformers, tiny.config)(vocab_size=len(tok), d_model=WIDTH, **ids, **tiny.sizes,
                                                decoder_start_token_id=ids[f"{tiny.start}_token_id"])
    torch.manual_seed(0)
    getattr(transformers, tiny.model)(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def reference(folder: Path, model_type: str):
    """transformers' own model with eager attention."""
    return getattr(transformers, FAMILIES[model_type].model).from_pretrained(folder, attn_implementation="eager").eval()
