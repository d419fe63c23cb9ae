"""Run an open model on text (or prepared pixels) and gather what it returned into a RunResult.

One `Runner` per open model. It owns the tokenizers, builds the feeds the contract names
(ids with any [MASK] put in, the attention mask with any hidden keys, head masks where given)
and slices batch item 0 out of every output. How text becomes a run is the model's kind's
(explorer.core.kinds): a seq2seq model translates it greedily first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np

from explorer import contract
from explorer.core import long_path
from explorer.core.cancel import RunCancelled, run_options
from explorer.core.decoding import RunGraph, greedy_decode
from explorer.core.errors import RunError
from explorer.core.kv_cache import cut_with_room
from explorer.core.masking import TokenEdits
from explorer.core.model import LoadedModel, error_summary
from explorer.core.result import RunResult, StackAttention
from explorer.core.text import Encoded, TextEncoder
from explorer.shared.feeds import complete_feeds
from explorer.shared.images import special_tokens

# Outputs stacked over layers carry the batch on axis 1: (layers, batch, ...); the rest on axis 0.
_LAYER_FIRST = tuple(f"{name}." for name in ("attentions", "pooled_attentions", *contract.OPTIONAL_STACK_OUTPUTS))
_INTERNALS = tuple(f"{name}." for name in contract.OPTIONAL_STACK_OUTPUTS)

__all__ = ["RunError", "RunGraph", "Runner", "greedy_decode", "patch_tokens"]


class Runner:
    def __init__(self, model: LoadedModel):
        from explorer.core.kinds import kind_of  # the kinds call back into runners

        self.model = model
        meta = model.meta
        self.kind = kind_of(meta)
        self.attention_budget = long_path.FULL_ATTENTION_BUDGET  # past it, the long path (where the file has one)
        self.pooled_side = long_path.POOLED_SIDE  # cells a side of a long input's pooled maps
        self.encoders: dict[str, TextEncoder] = {}
        if not self.kind.takes_images:
            for ids_input, _ in meta.sequence_inputs:
                if ids_input == contract.INPUT_FEATURES:
                    continue  # a recording's frames, not text
                tokenizer = meta.tokenizer_for(ids_input)
                if tokenizer is not None:
                    self.encoders[ids_input] = TextEncoder(tokenizer, meta.max_positions.get(ids_input))

    # -- the graph ----------------------------------------------------------------------------
    def run_graph(
        self,
        feeds: dict[str, np.ndarray],
        head_masks: dict[str, np.ndarray] | None = None,
        outputs: list[str] | None = None,
    ) -> dict[str, np.ndarray]:
        """One session run giving `outputs` (default: all); head masks default to ones (every head kept)."""
        feeds = complete_feeds(self.model.meta, feeds, self.model.input_names, head_masks)
        names = outputs or self.model.output_names
        with run_options() as options:  # fresh each run: a Cancellation may stop it from another thread
            try:
                values = self.model.session.run(names, feeds, options)
            except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
                if options.terminate:
                    raise RunCancelled() from None
                raise RunError(f"ONNX Runtime could not run the model: {error_summary(exc).rstrip('.')}.") from exc
        return dict(zip(names, values, strict=True))

    # -- text ---------------------------------------------------------------------------------
    def run_text(
        self,
        text: str,
        head_masks: dict[str, np.ndarray] | None = None,
        edits: Mapping[str, TokenEdits] | None = None,
        rows: Mapping[str, Iterable[int]] | None = None,
    ) -> RunResult:
        """Tokenize and run as the model's kind does (a seq2seq model translates `text` first).
        `edits` (per ids input) hide keys and put [MASK] in; `rows` (per stack) are the query
        positions a long input keeps exactly. Raises EmptyTextError, RunError."""
        return self.kind.run_text(self, text, head_masks, edits, rows)

    def encode(
        self, ids_input: str, text: str, edits: Mapping[str, TokenEdits] | None = None
    ) -> tuple[Encoded, np.ndarray]:
        """The tokens `ids_input` is fed for `text`, with `edits` applied, and its (T,) int64 attention mask."""
        encoded = self._encoder(ids_input).encode(text)
        mask_token = self.mask_token()
        try:
            return (edits or {}).get(ids_input, TokenEdits()).apply(encoded, *(mask_token or (None, None)))
        except ValueError as exc:
            raise RunError(f"Cannot replace tokens by [MASK]: {exc}.") from None

    def mask_token(self) -> tuple[str, int] | None:
        """(token, id) of a masked language model's [MASK], or None where the model has none."""
        token = self.model.meta.special_tokens.get("mask")
        ids_input = self.model.meta.sequence_inputs[0][0]
        if token is None or ids_input not in self.encoders:
            return None
        token_id = self.encoders[ids_input].token_to_id(token)
        return None if token_id is None else (token, token_id)

    def bos_eos(self) -> tuple[int, int]:
        """Ids of a seq2seq target's first and last tokens."""
        target_encoder = self._encoder(contract.TGT_IDS)
        special = self.model.meta.special_tokens
        bos, eos = target_encoder.token_to_id(special["bos"]), target_encoder.token_to_id(special["eos"])
        if bos is None or eos is None:
            raise RunError(f"The target tokenizer lacks the bos/eos tokens {special['bos']!r}, {special['eos']!r}.")
        return bos, eos

    def target_max_len(self) -> int:
        return self._encoder(contract.TGT_IDS).max_positions or 64

    def run_target(
        self,
        source: Encoded,
        source_mask: np.ndarray,
        target_ids: list[int] | tuple[int, ...],
        head_masks: dict[str, np.ndarray] | None = None,
        rows: Mapping[str, Iterable[int]] | None = None,
    ) -> RunResult:
        """One run of a seq2seq model on a source and a target (so far): every stack and the logits."""
        target_encoder = self._encoder(contract.TGT_IDS)
        target = Encoded(
            tuple(target_ids), tuple(target_encoder.id_to_token(i) for i in target_ids), len(target_ids)
        )
        sequences = {contract.SRC_IDS: source, contract.TGT_IDS: target}
        key_masks = {contract.SRC_IDS: source_mask, contract.TGT_IDS: np.ones(len(target_ids), np.int64)}
        return self.run_sequences(sequences, key_masks, head_masks, rows=rows)

    def decode(self, ids_input: str, ids: tuple[int, ...]) -> str:
        """Token ids back to text, e.g. the translation a seq2seq model produced."""
        return self._encoder(ids_input).decode(ids)

    def _encoder(self, ids_input: str) -> TextEncoder:
        if ids_input not in self.encoders:
            raise RunError(f"The model's metadata has no tokenizer for {ids_input}.")
        return self.encoders[ids_input]

    def run_sequences(
        self,
        sequences: dict[str, Encoded],
        key_masks: dict[str, np.ndarray],
        head_masks: dict[str, np.ndarray] | None,
        room: int = 0,
        rows: Mapping[str, Iterable[int]] | None = None,
    ) -> RunResult:
        """Run on `sequences` (per ids input) with their (T,) attention masks, 0 for hidden keys.
        With `room`, a cached decoder's one sequence is followed by that many masked tokens, which
        its causal positions never see: the result is the run on the sequence alone, with room
        for generation to grow into (see explorer.core.kv_cache).
        An input whose full attention would not fit takes the long path (explorer.core.long_path):
        exact rows for the query positions `rows` names (per stack), a pooled map of the rest, and
        no room (a pooled block would mix the padding's queries in)."""
        lengths = {name: len(e.ids) for name, e in sequences.items()}
        graph_inputs = self.model.input_names
        paths = long_path.choose(self.model.meta, graph_inputs, lengths, rows or {},
                                 self.attention_budget, self.pooled_side)
        room = 0 if paths else room
        feeds = {}
        mask_of = dict(self.model.meta.sequence_inputs)
        for ids_input, encoded in sequences.items():
            padding = np.zeros(room, np.int64)  # any token: masked, and after every real one
            feeds[ids_input] = np.concatenate([np.asarray(encoded.ids, np.int64), padding])[None, :]  # (1, T)
            feeds[mask_of[ids_input]] = np.concatenate([np.asarray(key_masks[ids_input], np.int64), padding])[None, :]
        tokens = {name: e.tokens for name, e in sequences.items()}
        notices = tuple(n for e in sequences.values() if (n := e.cut_notice()))
        outputs = None
        if paths:
            feeds.update(long_path.feeds(paths, graph_inputs))
            # Neither the step-by-step views' internals (every layer's q, k, v: 0.8 GB for 30 x 9 heads at 4,096
            # tokens) nor a cache's presents (0.19 GB there): a long prompt is not generated from (no room).
            presents = set(self.model.meta.kv_cache.present_outputs()) if self.model.meta.kv_cache else set()
            outputs = [name for name in self.model.output_names
                       if not name.startswith(_INTERNALS) and name not in presents]
            notices += (long_path.path_words(paths, long_path.full_attention_bytes(self.model.meta, lengths)),)
        item = self.batch_item(self.run_graph(feeds, head_masks, outputs))
        room_left = None
        if room:
            (length,) = {len(e.ids) for e in sequences.values()}
            item, room_left = cut_with_room(item, length)
        result = self._result(item, tokens, {name: e.ids for name, e in sequences.items()}, notices)
        stacks = {  # the views show what was fed: a hidden key is a masked column
            name: dataclasses.replace(stack, key_mask=np.asarray(key_masks[self.model.meta.stacks[name].keys], bool),
                                      **_selected(item, name, paths))
            for name, stack in result.stacks.items()
        }
        logit_rows = tuple(feeds[contract.LOGIT_ROWS]) if contract.LOGIT_ROWS in feeds else None
        return dataclasses.replace(result, stacks=stacks, room=room_left, logit_rows=logit_rows)

    # -- recordings ---------------------------------------------------------------------------
    def speech_feeds(self, features: np.ndarray, target_ids: list[int] | tuple[int, ...]) -> dict[str, np.ndarray]:
        """A speech model's feeds: `features` (1, mel_bins, frames) as prepared by explorer.core.audio,
        and the target so far."""
        tgt = np.asarray(target_ids, np.int64)[None, :]  # (1, T)
        return {contract.INPUT_FEATURES: features.astype(np.float32, copy=False), contract.TGT_IDS: tgt,
                contract.TGT_MASK: np.ones_like(tgt)}

    def run_speech(
        self,
        features: np.ndarray,
        target_ids: list[int] | tuple[int, ...],
        head_masks: dict[str, np.ndarray] | None = None,
    ) -> RunResult:
        """One run of a speech model on a recording's features and a target (so far): every stack and the logits."""
        audio = self.model.meta.audio
        if audio is None:
            raise RunError("This model does not take recordings.")
        expected = (1, audio.mel_bins, audio.frames)
        if features.shape != expected:
            raise RunError(f"The recording must be prepared to {expected} (batch, mel bins, frames), "
                           f"not {features.shape}.")
        target_encoder = self._encoder(contract.TGT_IDS)
        target = tuple(target_encoder.id_to_token(i) for i in target_ids)
        outputs = self.run_graph(self.speech_feeds(features, target_ids), head_masks)
        tokens = {contract.INPUT_FEATURES: contract.audio_position_names(audio), contract.TGT_IDS: target}
        return self._result(self.batch_item(outputs), tokens, {contract.TGT_IDS: tuple(target_ids)}, ())

    # -- images -------------------------------------------------------------------------------
    def run_pixels(
        self,
        pixel_values: np.ndarray,
        head_masks: dict[str, np.ndarray] | None = None,
        patch_mask: np.ndarray | None = None,
    ) -> RunResult:
        """Run a ViT on one image prepared by `explorer.shared.images.preprocess`: (1, C, H, W) float32.
        `patch_mask` (1, tokens), 0 for hidden patches (see `images.patch_mask`), defaults to ones."""
        image = self.model.meta.image
        if image is None:
            raise RunError("This model does not take images.")
        expected = (1, image.channels, *image.size)
        if pixel_values.shape != expected:
            raise RunError(f"The image must be prepared to {expected} (batch, channels, height, width), "
                           f"not {pixel_values.shape}.")
        tokens = patch_tokens(image)
        feeds = {
            contract.PIXEL_VALUES: pixel_values.astype(np.float32, copy=False),  # (1, C, H, W)
            contract.PATCH_MASK: np.ones((1, len(tokens)), np.int64) if patch_mask is None else patch_mask,  # (1, T)
        }
        outputs = self.run_graph(feeds, head_masks)
        result = self._result(self.batch_item(outputs), {contract.PIXEL_VALUES: tokens}, {}, ())
        if patch_mask is None:
            return result
        keys = np.asarray(patch_mask[0], bool)  # (T,) hidden patches are masked keys
        stacks = {name: dataclasses.replace(s, key_mask=keys) for name, s in result.stacks.items()}
        return dataclasses.replace(result, stacks=stacks)

    # -- results ------------------------------------------------------------------------------
    @staticmethod
    def batch_item(outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Batch item 0 of every output."""
        return {name: value[:, 0] if name.startswith(_LAYER_FIRST) else value[0]
                for name, value in outputs.items()}

    def _result(
        self,
        item: dict[str, np.ndarray],  # batch item 0 of every output
        tokens: dict[str, tuple[str, ...]],
        token_ids: dict[str, tuple[int, ...]],
        notices: tuple[str, ...],
    ) -> RunResult:
        stacks = {}
        for stack, spec in self.model.meta.stacks.items():
            stacks[stack] = StackAttention(
                name=stack,
                attentions=item[contract.attention_output(stack)],  # (layers, heads, queries, keys)
                query_tokens=tokens[spec.queries],
                key_tokens=tokens[spec.keys],
                causal=spec.causal,
                key_mask=np.ones(len(tokens[spec.keys]), bool),  # the app feeds a mask of ones
                kv_heads=spec.kv_heads,
            )
        return RunResult(
            stacks=stacks,
            logits=item[contract.LOGITS],
            token_ids=token_ids,
            tokens=tokens,
            notices=notices,
            outputs=item,
        )


def _selected(item: dict[str, np.ndarray], stack: str, paths: dict[str, long_path.LongPath] | None) -> dict:
    """A long input's StackAttention fields: which rows `attentions` holds, and the pooled map."""
    if not paths:
        return {}
    path = paths[stack]
    return {"rows": path.rows, "pooled": item[contract.pooled_attention_output(stack)], "block": path.block}


def patch_tokens(image: contract.ImageSpec) -> tuple[str, ...]:
    """Names for a ViT's sequence: the class token and any extra tokens ("[DIST]", "[REG0]"), then
    patches row by row ("r0c1" = row 0, column 1)."""
    rows, cols = image.grid
    patches = tuple(f"r{r}c{c}" for r in range(rows) for c in range(cols))
    return special_tokens(image) + patches
