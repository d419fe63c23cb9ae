"""Per-head statistics of one attention stack, and the usual head types they reveal.

All figures are averaged over the query rows of one input; `attentions` is one stack's
(layers, heads, queries, keys) array as the model returned it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from explorer.shared.repetition import probe_ids, repetition_scores

# column name -> what it measures, as the table's header tooltips say it
COLUMNS: dict[str, str] = {
    "entropy": "mean over queries of -sum(a * ln a), in nats; ln(keys) is uniform attention",
    "distance": "mean over queries of sum(a * |query position - key position|), in tokens",
    "first": "share of attention on the first token ([CLS] or the sequence start)",
    "end": "share of attention on [SEP] / end-of-sequence tokens",
    "self": "share of attention a token pays to itself",
    "previous": "share of attention on the token just before",
    "next": "share of attention on the token just after",
    "max": "the largest single weight",
    "induction": "repeated random tokens: share of attention from the second copy to the token after the "
                 "first copy of the current one (blank on other inputs)",
    "duplicate": "repeated random tokens: share of attention from the second copy to the first copy of the "
                 "current token (blank on other inputs)",
}

# Head types and the rule that marks them (shown next to the table).
HEAD_TYPE_RULES: dict[str, str] = {
    "previous": "previous-token head: more than half of the attention on the token before",
    "next": "next-token head: more than half on the token after",
    "self": "self head: more than half on the token itself",
    "sink": "sink head: more than half on the first token or on [SEP]/end tokens",
    "broad": "broad head: entropy above 80% of uniform attention's ln(keys)",
    "induction": "induction head: over 0.4 of the attention on repeated random tokens goes to the token after "
                 "the earlier copy (it completes patterns it has seen)",
    "duplicate": "duplicate-token head: over half on the earlier copy of the same token",
}
TYPE_THRESHOLD = 0.5
INDUCTION_THRESHOLD = 0.4
REPETITION_COLUMNS = ("induction", "duplicate")  # measured on repeated random tokens only
BROAD_FRACTION = 0.8


@dataclass(frozen=True)
class HeadStats:
    """Each field is a (layers, heads) array; `types` holds each head's type names."""

    entropy: np.ndarray
    distance: np.ndarray
    first: np.ndarray
    end: np.ndarray
    self: np.ndarray
    previous: np.ndarray
    next: np.ndarray
    max: np.ndarray
    types: tuple[tuple[tuple[str, ...], ...], ...]  # [layer][head] -> type names
    induction: np.ndarray | None = None  # on repeated random tokens only; else NaN in rows()
    duplicate: np.ndarray | None = None

    def rows(self) -> list[dict]:
        """One dict per head: layer, head, every column, and its types joined by commas."""
        layers, heads = self.entropy.shape
        return [
            {
                "layer": layer,
                "head": head,
                **{name: float(np.nan if getattr(self, name) is None else getattr(self, name)[layer, head])
                   for name in COLUMNS},
                "types": ", ".join(self.types[layer][head]),
            }
            for layer in range(layers)
            for head in range(heads)
        ]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["layer", "head", *COLUMNS, "types"], lineterminator="\n")
        writer.writeheader()
        for row in self.rows():
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})
        return out.getvalue()


def _diagonal_share(att: np.ndarray, offset: int) -> np.ndarray:
    """Mean over queries of att[..., q, q + offset] (queries without such a key count as 0)."""
    diag = np.diagonal(att, offset=offset, axis1=-2, axis2=-1)  # (L, H, Q - |offset|)
    return diag.sum(-1) / att.shape[-2]


def _per_head_sums(att: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per head: -sum(a ln a), sum(a * gap), max(a). One head at a time keeps its matrix in
    cache across the three passes (about 3x faster than whole-array passes at 12 x 12 x 512^2)."""
    layers, heads = att.shape[:2]
    rows = att.reshape(layers * heads, -1)  # (L*H, Q*K)
    entropy, distance, largest = (np.empty(len(rows), np.float32) for _ in range(3))
    log = np.empty(rows.shape[1], np.float32)
    for i, row in enumerate(rows):
        np.add(row, np.float32(1e-30), out=log)  # ln(0) -> ln(1e-30): 0 * that is still 0
        np.log(log, out=log)
        entropy[i] = -np.dot(row, log)
        distance[i] = np.dot(row, gaps)
        largest[i] = row.max()
    return tuple(a.reshape(layers, heads) for a in (entropy, distance, largest))


def head_stats(
    attentions: np.ndarray,
    end_positions: np.ndarray | list[int] = (),
    same_sequence: bool = True,
) -> HeadStats:
    """Statistics of every head of one stack.

    `end_positions` are the key positions holding [SEP] / end tokens. For cross-attention
    (`same_sequence=False`) query and key positions are not comparable: distance, self,
    previous and next are then NaN.
    """
    att = np.ascontiguousarray(attentions, dtype=np.float32)  # (L, H, Q, K)
    layers, heads, queries, keys = att.shape
    gaps = np.abs(np.arange(queries, dtype=np.float32)[:, None] - np.arange(keys, dtype=np.float32)[None, :])
    entropy, distance, largest = _per_head_sums(att, gaps.reshape(-1))
    entropy /= queries
    distance = distance / queries if same_sequence else np.full((layers, heads), np.nan, np.float32)
    first = att[..., 0].mean(-1)
    ends = np.asarray(list(end_positions), dtype=np.int64)
    end = att[..., ends].sum(-1).mean(-1) if ends.size else np.zeros((layers, heads), np.float32)
    if same_sequence:
        self_share, previous, following = (_diagonal_share(att, o) for o in (0, -1, 1))
    else:
        self_share = previous = following = np.full((layers, heads), np.nan, np.float32)

    uniform = np.log(keys) if keys > 1 else 1.0
    types = head_types(entropy, first, end, self_share, previous, following, uniform)
    return HeadStats(entropy, distance, first, end, self_share, previous, following, largest, types)


def head_types(entropy, first, end, self_share, previous, following, uniform: float, induction=None,
               duplicate=None):
    """[layer][head] -> the names of the HEAD_TYPE_RULES a head meets; arguments are (layers, heads)
    arrays, `uniform` the entropy of uniform attention (ln of the key count); `induction` and
    `duplicate` only on repeated random tokens."""
    layers, heads = entropy.shape
    nothing = np.zeros((layers, heads))
    induction = nothing if induction is None else induction
    duplicate = nothing if duplicate is None else duplicate
    return tuple(
        tuple(
            tuple(
                name
                for name, hit in (
                    ("previous", previous[layer, h] > TYPE_THRESHOLD),
                    ("next", following[layer, h] > TYPE_THRESHOLD),
                    ("self", self_share[layer, h] > TYPE_THRESHOLD),
                    ("sink", first[layer, h] > TYPE_THRESHOLD or end[layer, h] > TYPE_THRESHOLD),
                    ("broad", entropy[layer, h] > BROAD_FRACTION * uniform),
                    ("induction", induction[layer, h] > INDUCTION_THRESHOLD),
                    ("duplicate", duplicate[layer, h] > TYPE_THRESHOLD),
                )
                if hit
            )
            for h in range(heads)
        )
        for layer in range(layers)
    )


def end_positions(tokens: tuple[str, ...] | list[str], end_tokens: set[str] | frozenset[str]) -> list[int]:
    """Positions of the [SEP] / end-of-sequence tokens among `tokens`."""
    return [i for i, token in enumerate(tokens) if token in end_tokens]


def mean_head_stats(batch: list[HeadStats], key_counts: list[int]) -> HeadStats:
    """The statistics of several inputs averaged head by head; types are judged on the averages,
    "broad" against the mean ln(keys) of the inputs (`key_counts[i]` keys in input i)."""
    if not batch or len(batch) != len(key_counts):
        raise ValueError("need one key count per HeadStats, and at least one of each")
    mean = {name: np.mean([getattr(s, name) for s in batch], axis=0) for name in COLUMNS
            if all(getattr(s, name) is not None for s in batch)}
    uniform = float(np.mean([np.log(k) if k > 1 else 1.0 for k in key_counts]))
    types = head_types(
        mean["entropy"], mean["first"], mean["end"], mean["self"], mean["previous"], mean["next"], uniform
    )
    return HeadStats(**mean, types=types)


END_TOKENS = frozenset({"[SEP]", "</s>", "<eos>", "[EOS]"})  # besides the metadata's "sep"/"eos" roles


def end_tokens_of(special_tokens: dict[str, str]) -> frozenset[str]:
    """The token texts that end a sequence for a model with these special tokens."""
    return END_TOKENS | {special_tokens[r] for r in ("sep", "eos") if r in special_tokens}


def result_head_stats(stacks: dict, end_tokens: frozenset[str]) -> dict[str, HeadStats]:
    """Statistics of every stack of one run: `stacks` maps names to StackAttention (explorer.core.result).
    A long input's stacks are left out: they do not hold every row (explorer.core.long_path)."""
    return {
        name: head_stats(
            stack.attentions,
            end_positions(stack.key_tokens, end_tokens),
            same_sequence=name != "cross",  # cross-attention: queries and keys are different sequences
        )
        for name, stack in stacks.items() if stack.complete
    }


# -- repeated random tokens: the probe for induction and duplicate-token heads ---------------------


def repeated_tokens_stats(attentions: np.ndarray, start: int, span: int) -> HeadStats:
    """Every statistic of one stack's run on repeated random tokens (`span` of them from `start`,
    twice), the induction and duplicate-token scores among them, and the types they give."""
    stats = head_stats(attentions)
    induction, duplicate = repetition_scores(np.asarray(attentions, np.float32), start, span)
    uniform = np.log(attentions.shape[-1])
    types = head_types(stats.entropy, stats.first, stats.end, stats.self, stats.previous, stats.next, uniform,
                       induction, duplicate)
    return HeadStats(**{name: getattr(stats, name) for name in COLUMNS if name not in REPETITION_COLUMNS},
                     types=types, induction=induction, duplicate=duplicate)


def repeated_tokens_run(runner, span: int = 50, seed: int = 0) -> tuple[dict[str, HeadStats], int]:
    """Run a text model on repeated random tokens (its BOS first where it has one) and give each
    stack's statistics with the induction and duplicate-token scores, and the span used (shorter
    where the model takes fewer positions)."""
    from explorer.core.text import Encoded

    meta = runner.model.meta
    ids_input = meta.sequence_inputs[0][0]
    encoder = runner.encoders[ids_input]
    special = {encoder.token_to_id(t) for t in meta.special_tokens.values()} - {None}
    bos = encoder.token_to_id(meta.special_tokens["bos"]) if "bos" in meta.special_tokens else None
    ids, start, span = probe_ids(encoder.vocab_size, special, bos, encoder.max_positions, span, seed)
    encoded = Encoded(ids, tuple(encoder.id_to_token(i) for i in ids), len(ids))
    result = runner.run_sequences({ids_input: encoded}, {ids_input: np.ones(len(ids), np.int64)}, None)
    stats = {name: repeated_tokens_stats(stack.attentions, start, span) for name, stack in result.stacks.items()}
    return stats, span
