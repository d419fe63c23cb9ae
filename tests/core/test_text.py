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
