"""Tokenizers in Hugging Face `tokenizers` format, embedded in every exported text model."""

from __future__ import annotations

import json
import string
from collections import Counter

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

BERT_SPECIAL = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
# A sequence-to-sequence decoder starts from `bos` and stops at `eos`; `pad` comes first (id 0).
SEQ2SEQ_SPECIAL = {"pad": "[PAD]", "unk": "[UNK]", "bos": "[BOS]", "eos": "[EOS]"}
# A GPT's one special token (GPT-2's): it ends each training document, so it also begins the next
# one, and the tokenizer puts it before every text the model reads.
END_OF_TEXT = "<|endoftext|>"
GPT_SPECIAL = {"pad": END_OF_TEXT, "bos": END_OF_TEXT, "eos": END_OF_TEXT}
# Every printable ASCII character but the line breaks and tabs: what people type.
PRINTABLE = "".join(c for c in string.printable if c == " " or not c.isspace())


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


def character_level(alphabet: str = PRINTABLE, special: dict[str, str] | None = None) -> Tokenizer:
    """One token per character: the special tokens (ids 0, 1, ...), then each character of
    `alphabet` once, in sorted order. Case and spaces are kept; other characters become unk.
    Decoding joins the characters again."""
    special = dict(special or SEQ2SEQ_SPECIAL)
    vocab = list(dict.fromkeys(special.values())) + sorted(set(alphabet))  # one id for a token in several roles
    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(vocab)}, unk_token=special["unk"]))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("(?m)."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(list(special.values()))
    return tok


def bert_wordpiece(texts, vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """A WordPiece vocabulary trained on `texts` (an iterable of strings), BERT-style:
    lower-cased, split on whitespace and punctuation, [CLS] A [SEP] around every encoding.
    The same texts give the same vocabulary, id for id (see `_continuation_pieces`)."""
    from tokenizers import trainers

    texts = list(texts)
    tok = Tokenizer(models.WordPiece(unk_token=BERT_SPECIAL["unk"]))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    pieces = _continuation_pieces(tok, texts)
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(BERT_SPECIAL.values()) + pieces,
        continuing_subword_prefix="##",
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok = _unmark_special(tok, set(pieces))
    tok.post_processor = bert_post_processor(tok)
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def gpt_character_level() -> Tokenizer:
    """One token per printable character after <|endoftext|>: for untrained GPTs."""
    return character_level(special={**GPT_SPECIAL, "unk": "<|unk|>"})


def byte_level_bpe(texts, vocab_size: int) -> Tokenizer:
    """GPT-2's kind of tokenizer trained on `texts`: byte-level BPE (any text encodes, nothing is
    unknown; spaces stay in the tokens), <|endoftext|> (id 0) put before every encoding."""
    from tokenizers import trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[END_OF_TEXT], show_progress=False,
                                  initial_alphabet=sorted(pre_tokenizers.ByteLevel.alphabet()))
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{END_OF_TEXT} $A", pair=f"{END_OF_TEXT} $A {END_OF_TEXT} $B:1",
        special_tokens=[(END_OF_TEXT, tok.token_to_id(END_OF_TEXT))])
    return tok


def single_token_share(tokenizer: Tokenizer, texts, words: int = 1000) -> float:
    """Of the `words` most frequent words in `texts` (runs of letters, as the tokenizer's own
    normalizer and pre-tokenizer cut them: lower-cased), the share the vocabulary holds whole,
    as one token rather than pieces."""
    counts: Counter[str] = Counter()
    for text in texts:
        pieces = tokenizer.pre_tokenizer.pre_tokenize_str(tokenizer.normalizer.normalize_str(text))
        counts.update(word for word, _ in pieces if word.isalpha())
    top = [word for word, _ in counts.most_common(words)]
    return sum(tokenizer.token_to_id(word) is not None for word in top) / max(len(top), 1)


def _continuation_pieces(tok: Tokenizer, texts: list[str]) -> list[str]:
    """"##c" for every character c that follows another inside a word, sorted.

    The trainer creates these pieces while iterating over a hash map, so their ids, and through
    tie-breaks the merges, changed from run to run (huggingface/tokenizers#1794). Given to the
    trainer up front, they get fixed ids; they are the pieces it would have made anyway."""
    chars = set()
    for text in texts:
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(text)):
            chars.update(word[1:])
    return ["##" + c for c in sorted(chars)]


def _unmark_special(tok: Tokenizer, pieces: set[str]) -> Tokenizer:
    """The pieces passed as special tokens stay in the vocabulary but stop being special tokens
    (which decoding would skip and the pre-tokenizer would match in raw text)."""
    state = json.loads(tok.to_str())
    state["added_tokens"] = [t for t in state["added_tokens"] if t["content"] not in pieces]
    return Tokenizer.from_str(json.dumps(state))
