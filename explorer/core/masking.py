"""Token masks a person toggles: keys hidden from attention, and tokens replaced by [MASK].

`TokenEdits` is a plain value (frozen sets of positions) that the workspace keeps per text;
`apply` turns it into the ids and `attention_mask` the runner feeds, so the app's own edits
and the contract's inputs meet in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.core.text import Encoded


@dataclass(frozen=True)
class TokenEdits:
    """Positions of one sequence that are hidden as keys (`attention_mask` 0) or replaced by [MASK]."""

    hidden: frozenset[int] = field(default_factory=frozenset)
    masked: frozenset[int] = field(default_factory=frozenset)

    def toggled_hidden(self, position: int) -> TokenEdits:
        return TokenEdits(self.hidden ^ {position}, self.masked)

    def toggled_masked(self, position: int) -> TokenEdits:
        return TokenEdits(self.hidden, self.masked ^ {position})

    def __bool__(self) -> bool:
        return bool(self.hidden or self.masked)

    def apply(self, encoded: Encoded, mask_token: str | None, mask_id: int | None) -> tuple[Encoded, np.ndarray]:
        """(the sequence with [MASK] put in, its (T,) int64 attention mask). Positions past the
        sequence's end are ignored, so edits survive a text that got shorter."""
        length = len(encoded.ids)
        masked = sorted(p for p in self.masked if 0 <= p < length)
        if masked and (mask_token is None or mask_id is None):
            raise ValueError("this model has no [MASK] token to replace tokens with")
        ids, tokens = list(encoded.ids), list(encoded.tokens)
        for position in masked:
            ids[position], tokens[position] = mask_id, mask_token
        attention_mask = np.ones(length, np.int64)  # (T,) 1 attend
        attention_mask[[p for p in self.hidden if 0 <= p < length]] = 0  # hidden keys
        return Encoded(tuple(ids), tuple(tokens), encoded.full_length), attention_mask
