"""Tokenizing with the tokenizer embedded in a contract file."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from explorer import contract
from explorer.core.model import open_model
from explorer.core.text import EmptyTextError, TextEncoder


@pytest.fixture(scope="module")
def bert_meta(bert_path) -> contract.ModelMetadata:
    return open_model(bert_path).meta


def test_ids_and_tokens_are_the_tokenizers_own(bert_meta):
    text = "Apple, orange!"
    reference = Tokenizer.from_str(bert_meta.tokenizer)
    reference.no_truncation()
    expected = reference.encode(text)
    encoded = TextEncoder(bert_meta.tokenizer, bert_meta.max_positions[contract.INPUT_IDS]).encode(text)
    assert encoded.ids == tuple(expected.ids)
    assert encoded.tokens == tuple(expected.tokens)
    assert not encoded.was_cut and encoded.cut_notice() is None


def test_long_text_is_cut_at_max_positions_keeping_the_closing_token(bert_meta):
    limit = bert_meta.max_positions[contract.INPUT_IDS]
    encoder = TextEncoder(bert_meta.tokenizer, limit)
    text = "attention " * limit
    encoded = encoder.encode(text)
    assert len(encoded.ids) == limit
    assert encoded.tokens[0] == bert_meta.special_tokens["cls"]
    assert encoded.tokens[-1] == bert_meta.special_tokens["sep"]
    assert encoded.full_length > limit
    assert f"cut at {limit} tokens" in encoded.cut_notice()


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_says_so(bert_meta, text):
    with pytest.raises(EmptyTextError, match="empty"):
        TextEncoder(bert_meta.tokenizer).encode(text)


def test_ids_map_back_to_tokens(bert_meta):
    encoder = TextEncoder(bert_meta.tokenizer)
    encoded = encoder.encode("the mat")
    assert tuple(encoder.id_to_token(i) for i in encoded.ids) == encoded.tokens


def test_byte_level_tokens_are_shown_as_text_with_visible_whitespace():
    from explorer.core.text import shown_byte_level

    assert shown_byte_level("Ġreturn") == "·return"
    assert shown_byte_level("ĊĠĠĠ") == "↵···"
    assert shown_byte_level("ĉ") == "⇥"
    assert shown_byte_level("<|endoftext|>") == "<|endoftext|>"  # a special token stays as it is
    assert shown_byte_level("Ã©") == "é" and shown_byte_level("Ã") == "�"  # half a character: U+FFFD
    assert shown_byte_level("[CLS]") == "[CLS]"


def test_a_byte_level_encoder_shows_decoded_tokens_and_keeps_the_ids():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {"<|endoftext|>": 0, "Ġ": 1, "a": 2, "Ċ": 3, "Ġa": 4}
    tokenizer = Tokenizer(models.BPE(vocab, [("Ġ", "a")]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    encoder = TextEncoder(tokenizer.to_str())
    encoded = encoder.encode("a a\n")
    assert encoded.ids == (2, 4, 3)
    assert encoded.tokens == ("a", "·a", "↵")
    assert [encoder.id_to_token(i) for i in encoded.ids] == list(encoded.tokens)
    assert encoder.decode(encoded.ids) == "a a\n"
