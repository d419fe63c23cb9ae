"""Attention arrays with their tokens, to and from `.npz` files (numpy only, no pickles).

Each stack is stored under its name: `<stack>.attentions` (layers, heads, queries, keys),
`<stack>.query_tokens`, `<stack>.key_tokens` (unicode arrays), `<stack>.causal` and, where
the input masked keys, `<stack>.key_mask`. A long input's stack (explorer.core.long_path) holds some
rows only: `<stack>.rows` names their query positions, beside `<stack>.pooled` and `<stack>.block`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from explorer.core.result import StackAttention


def _tokens(tokens: tuple[str, ...]) -> np.ndarray:
    return np.array(tokens, dtype=np.str_) if tokens else np.zeros(0, dtype="<U1")


def save_npz(path: str | Path, stacks: StackAttention | Mapping[str, StackAttention]) -> Path:
    """Write one stack or a {name: stack} mapping; returns the path written."""
    path = Path(path)
    if isinstance(stacks, StackAttention):
        stacks = {stacks.name: stacks}
    arrays: dict[str, np.ndarray] = {}
    for name, stack in stacks.items():
        if "." in name:
            raise ValueError(f"stack names may not contain '.': {name!r}")
        arrays[f"{name}.attentions"] = stack.attentions
        arrays[f"{name}.query_tokens"] = _tokens(stack.query_tokens)
        arrays[f"{name}.key_tokens"] = _tokens(stack.key_tokens)
        arrays[f"{name}.causal"] = np.array(stack.causal)
        if stack.key_mask is not None:
            arrays[f"{name}.key_mask"] = np.asarray(stack.key_mask, dtype=bool)
        if not stack.complete:
            arrays[f"{name}.rows"] = np.asarray(stack.rows, np.int64)
            arrays[f"{name}.pooled"] = stack.pooled
            arrays[f"{name}.block"] = np.array(stack.block)
    with path.open("wb") as file:  # a file object: np.savez would append ".npz" to a name
        np.savez(file, **arrays)
    return path


def load_npz(path: str | Path) -> dict[str, StackAttention]:
    """Read what `save_npz` wrote, in the order it was written."""
    with np.load(path, allow_pickle=False) as data:
        names = list(dict.fromkeys(key.rsplit(".", 1)[0] for key in data.files))
        return {
            name: StackAttention(
                name=name,
                attentions=data[f"{name}.attentions"],
                query_tokens=tuple(str(t) for t in data[f"{name}.query_tokens"]),
                key_tokens=tuple(str(t) for t in data[f"{name}.key_tokens"]),
                causal=bool(data[f"{name}.causal"]),
                key_mask=data[f"{name}.key_mask"] if f"{name}.key_mask" in data.files else None,
                **_long_fields(data, name),
            )
            for name in names
        }


def _long_fields(data, name: str) -> dict:
    """A long input's rows, pooled map and block, where the file has them."""
    if f"{name}.rows" not in data.files:
        return {}
    return {"rows": tuple(int(r) for r in data[f"{name}.rows"]), "pooled": data[f"{name}.pooled"],
            "block": int(data[f"{name}.block"])}
