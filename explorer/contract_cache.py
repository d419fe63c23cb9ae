"""The contract's key-value cache for decoders, in Hugging Face's and Optimum's layout: per layer, a
past input and a present output of keys and of values. Part of the contract (explorer.contract
re-exports it); standard library only."""

from __future__ import annotations

from dataclasses import dataclass

CACHE_PARTS = ("key", "value")


def past_input(layer: int, part: str) -> str:
    """Input ``[batch, kv_heads, past, head_dim]``: the keys ("key") or values ("value") of a decoder
    layer for the tokens before, as the previous step's `present_output` gave them."""
    return f"past_key_values.{layer}.{part}"


def present_output(layer: int, part: str) -> str:
    """Output ``[batch, kv_heads, past + seq, head_dim]``: the past and this run's keys or values."""
    return f"present.{layer}.{part}"


@dataclass(frozen=True)
class KVCache:
    """A decoder's key-value cache: per layer, inputs `past_input(l, "key" | "value")` and outputs
    `present_output(l, ...)`. Fed a past of P tokens, the ids are only the new tokens: they take
    positions P, P + 1, ..., the mask covers the P + T keys, and the attention rows are the new
    queries over all P + T keys. A run on a whole sequence feeds a past of length 0 (the file's
    default for batch 1)."""

    stack: str  # the causal stack whose keys and values are cached
    layers: int
    heads: int  # key/value heads: fewer than the query heads where the model groups queries
    head_dim: int

    def past_inputs(self) -> list[str]:
        return [past_input(layer, part) for layer in range(self.layers) for part in CACHE_PARTS]

    def present_outputs(self) -> list[str]:
        return [present_output(layer, part) for layer in range(self.layers) for part in CACHE_PARTS]

    def shape(self, batch: int, length: int) -> tuple[int, int, int, int]:
        return batch, self.heads, length, self.head_dim

    def next_past(self, outputs: dict) -> dict:
        """The next step's past: this run's presents (`outputs`, by name) under the past inputs' names."""
        pairs = zip(self.past_inputs(), self.present_outputs(), strict=True)
        return {past: outputs[present] for past, present in pairs}
