"""Tokenizers in Hugging Face `tokenizers` format, embedded in every exported text model."""

from __future__ import annotations

import string

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

BERT_SPECIAL = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}


def bert_post_processor(tokenizer: Tokenizer) -> processors.TemplateProcessing:
    """[CLS] A [SEP] (and [CLS] A [SEP] B [SEP] for pairs), as BERT uses them."""
    cls, sep = BERT_SPECIAL["cls"], BERT_SPECIAL["sep"]
    return processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, tokenizer.token_to_id(cls)), (sep, tokenizer.token_to_id(sep))],
    )


def character_wordpiece(vocab_size: int) -> Tokenizer:
    """A WordPiece tokenizer over printable characters, padded with [unusedN] entries up to
    `vocab_size`. For untrained demo and test models, where no corpus is at hand."""
    vocab = list(BERT_SPECIAL.values())
    chars = [c for c in string.ascii_lowercase + string.digits + string.punctuation]
    vocab += chars + ["##" + c for c in chars]
    if vocab_size < len(vocab):
        raise ValueError(f"vocab_size must be at least {len(vocab)} for the character vocabulary")
    vocab += [f"[unused{i}]" for i in range(vocab_size - len(vocab))]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token=BERT_SPECIAL["unk"]))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = bert_post_processor(tok)
    tok.add_special_tokens(list(BERT_SPECIAL.values()))
    return tok
