"""Text to the token ids a model really sees, with the tokenizer embedded in its file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from tokenizers import Tokenizer

EMPTY_TEXT = "The text is empty: type a sentence to see how the model attends over it."
NO_TOKENS = ("The text gives no tokens: the tokenizer drops every character in it (control or formatting "
             "characters). Type a sentence to see how the model attends over it.")


class EmptyTextError(ValueError):
    """The text is blank, or gives no tokens of its own (only the special tokens the model adds around it)."""


@dataclass(frozen=True)
class Encoded:
    """One tokenized text: ids and their token strings, and whether it had to be cut."""

    ids: tuple[int, ...]
    tokens: tuple[str, ...]
    full_length: int  # tokens the whole text gives; more than len(ids) when it was cut

    @property
    def was_cut(self) -> bool:
        return self.full_length > len(self.ids)

    def cut_notice(self) -> str | None:
        if not self.was_cut:
            return None
        kept = len(self.ids)
        return f"Input cut at {kept} tokens: the model takes at most {kept}; the text gives {self.full_length}."


def readable(text: str) -> str:
    """`text` as the tokenizers library takes it: a lone surrogate (half of a UTF-16 pair, which a
    paste of broken data can bring) becomes U+FFFD; well-formed pairs stay the characters they are."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@cache
def _byte_of_symbol() -> dict[str, int]:
    """GPT-2's byte-level alphabet: each byte is a printable symbol (a space is "Ġ", a line break
    "Ċ"), so that a token is a string; this maps the symbols back to bytes."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    moved = [b for b in range(256) if b not in kept]
    return {**{chr(b): b for b in kept}, **{chr(256 + i): b for i, b in enumerate(moved)}}


# How a byte-level token's whitespace is drawn: visible, one mark per character.
_WHITESPACE_MARKS = str.maketrans({" ": "·", "\n": "↵", "\t": "⇥", "\r": "␍"})


def shown_byte_level(token: str) -> str:
    """A byte-level token as a person reads it: "Ġreturn" is "·return", "ĊĠĠĠ" is "↵···"; a token
    that is not byte-level (a special token) stays as it is, and a piece of a character is "�"."""
    symbols = _byte_of_symbol()
    if not all(c in symbols for c in token):
        return token
    return bytes(symbols[c] for c in token).decode("utf-8", "replace").translate(_WHITESPACE_MARKS)


def _is_byte_level(tokenizer_json: str) -> bool:
    decoder = json.loads(tokenizer_json).get("decoder") or {}
    return decoder.get("type") == "ByteLevel"


class TextEncoder:
    """Tokenizes text for one ids input, cutting it to the model's maximum positions.

    Cutting is the tokenizers library's own truncation, which keeps the special tokens the
    post-processor adds (BERT's closing [SEP] stays the last token).
    """

    def __init__(self, tokenizer_json: str, max_positions: int | None = None):
        self._full = Tokenizer.from_str(tokenizer_json)
        self._full.no_padding()
        self._full.no_truncation()
        self._cut = Tokenizer.from_str(tokenizer_json)
        self._cut.no_padding()
        if max_positions is not None:
            self._cut.enable_truncation(max_length=max_positions)
        else:
            self._cut.no_truncation()
        self.max_positions = max_positions
        # Byte-level BPE (GPT-2's, the bundled GPT's) stores spaces and line breaks as symbols: shown decoded.
        self._shown = shown_byte_level if _is_byte_level(tokenizer_json) else None

    def encode(self, text: str) -> Encoded:
        """Raise EmptyTextError when the text has no tokens besides the special ones."""
        text = readable(text)
        if not text.strip():
            raise EmptyTextError(EMPTY_TEXT)
        full = self._full.encode(text)
        if not any(not special for special in full.special_tokens_mask):
            raise EmptyTextError(NO_TOKENS)
        fits = self.max_positions is None or len(full.ids) <= self.max_positions
        encoding = full if fits else self._cut.encode(text)
        return Encoded(tuple(encoding.ids), tuple(self.shown(t) for t in encoding.tokens), len(full.ids))

    def shown(self, token: str) -> str:
        """A token of the vocabulary as the app shows it."""
        return token if self._shown is None else self._shown(token)

    @property
    def vocab_size(self) -> int:
        """Tokens of the vocabulary proper (not the added special ones)."""
        return self._full.get_vocab_size(with_added_tokens=False)

    def token_to_id(self, token: str) -> int | None:
        return self._full.token_to_id(token)

    def id_to_token(self, token_id: int) -> str:
        """The token as the app shows it (see `shown`)."""
        token = self._full.id_to_token(token_id)
        return f"<{token_id}>" if token is None else self.shown(token)

    def decode(self, ids: list[int] | tuple[int, ...]) -> str:
        return self._full.decode(list(ids))
