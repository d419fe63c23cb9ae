"""Tiny random encoders of every family `attention-export hf` imports as bert-mlm besides BERT:
projected embeddings (ALBERT, ELECTRA), one layer shared by all (ALBERT), relative positions inside
attention code of the family's own (MPNet's bias, DeBERTa-v2's disentangled attention), saved the
way `save_pretrained` writes them, with a WordPiece tokenizer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import transformers

from .conftest import bert_tokenizer

HEADS, LAYERS, WIDTH = 4, 2, 32
EMBEDDING = 16  # ALBERT's and ELECTRA's embedding width, projected to WIDTH
HALF_WINDOW = 2  # ModernBERT's local layers: the keys this many tokens away or nearer


@dataclass(frozen=True)
class Tiny:
    """One family's tiny checkpoint: its classes, what it adds to the common sizes, what its import
    should then say."""

    config: str
    model: str
    sizes: dict = field(default_factory=dict)
    internals: bool = True  # its attention goes through transformers' interface: the file has q, k, v
    projected: bool = False  # the embedding sum is projected to d_model: no text_embedding recipe
    special: dict | None = None  # the tokenizer's special tokens in id order, where not BERT's
    sliding: tuple[int, ...] = ()  # the layers a window of HALF_WINDOW keys on either side applies to


# Scores are made large (initializer_range) so that the attention is peaked, not uniform.
FAMILIES: dict[str, Tiny] = {
    "electra": Tiny("ElectraConfig", "ElectraForMaskedLM", {"embedding_size": EMBEDDING}, projected=True),
    "albert": Tiny("AlbertConfig", "AlbertForMaskedLM", {"embedding_size": EMBEDDING}, projected=True),
    # MPNet's embeddings take id 1 as padding, as its tokenizer has it.
    "mpnet": Tiny("MPNetConfig", "MPNetForMaskedLM", internals=False,
                  special={"cls": "<s>", "pad": "<pad>", "sep": "</s>", "unk": "[UNK]", "mask": "<mask>"}),
    # DeBERTa-v3's layout: relative positions only, in log buckets past 4 tokens.
    "deberta-v2": Tiny("DebertaV2Config", "DebertaV2ForMaskedLM", {
        "relative_attention": True, "position_biased_input": False, "pos_att_type": ["p2c", "c2p"],
        "position_buckets": 8, "norm_rel_ebd": "layer_norm", "share_att_key": True}, internals=False),
    # Layer 1 local: a query sees the keys up to 2 tokens away on either side.
    "modernbert": Tiny("ModernBertConfig", "ModernBertForMaskedLM", {"local_attention": 4,
                       "global_attn_every_n_layers": 2}, sliding=(1,)),
}
WITH_INTERNALS = [name for name, tiny in FAMILIES.items() if tiny.internals]
WITH_RECIPE = [name for name, tiny in FAMILIES.items() if not tiny.projected]  # text_embedding in the file


def save(folder: Path, model_type: str) -> Path:
    tiny = FAMILIES[model_type]
    tokenizer = bert_tokenizer(tiny.special)
    config = getattr(transformers, tiny.config)(
        vocab_size=len(tokenizer), hidden_size=WIDTH, intermediate_size=64, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, max_position_embeddings=40, pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.3, **tiny.sizes)
    torch.manual_seed(0)
    getattr(transformers, tiny.model)(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def reference(folder: Path, model_type: str):
    """transformers' own model with eager attention."""
    return getattr(transformers, FAMILIES[model_type].model).from_pretrained(folder, attn_implementation="eager").eval()
