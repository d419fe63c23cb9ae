"""Check a freshly opened model before it replaces the open one: what its first run would trip over.

`open_model` already checked the metadata and that the graph has the contract's inputs and
outputs by name. Here: the tokenizers parse and encode text (including a character they cannot
know, which a WordPiece vocabulary without [UNK] cannot encode); the special tokens the kind
needs are in them; and one tiny probe run (batch 1, two tokens or one blank image) gives every
declared output with the contract's rank and sizes, so that a view never meets an array of the
wrong shape. Each failure is one ModelOpenError sentence naming the field.
"""

from __future__ import annotations

import numpy as np

from explorer import contract
from explorer.core.errors import RunError
from explorer.core.model import LoadedModel, ModelOpenError, error_summary
from explorer.core.runner import Runner, patch_tokens

PROBE_TEXT = "The probe: 42 words, ünïcödé and ☃."  # a snowman no small vocabulary holds
PROBE_LENGTH = 2  # the contract's shortest sequence


def checked_runner(model: LoadedModel) -> Runner:
    """The runner for `model`, once its tokenizers, special tokens and outputs have passed; raise
    ModelOpenError naming the first fault."""
    name, meta = model.path.name, model.meta
    try:
        runner = Runner(model)
    except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exceptions for a bad JSON
        raise ModelOpenError(f"{name}: the tokenizer in its metadata cannot be read ({error_summary(exc)}).") from None
    for ids_input, encoder in runner.encoders.items():
        try:
            encoder.encode(PROBE_TEXT)
        except Exception as exc:  # noqa: BLE001 - a tokenizer that fails here fails on a person's text too
            raise ModelOpenError(f"{name}: its tokenizer for {ids_input} cannot encode text "
                                 f"({error_summary(exc)}); a WordPiece vocabulary needs its unknown token.") from None
    last = runner.encoders.get(meta.sequence_inputs[-1][0])  # the target's, for a seq2seq model's bos/eos
    for role in contract.KIND_SPECS[meta.kind].special_tokens:
        token = meta.special_tokens[role]
        if last is not None and last.token_to_id(token) is None:
            raise ModelOpenError(f"{name}: metadata field special_tokens.{role} names {token!r}, "
                                 "which its tokenizer does not have.")
    _check_outputs(runner, name)
    return runner


def _check_head_masks(model: LoadedModel, name: str) -> None:
    """Each head-mask input the graph has is [layers, heads] of its stack, as the metadata says."""
    declared = {i.name: i.shape for i in model.session.get_overridable_initializers()}
    for stack, spec in model.meta.stacks.items():
        shape = declared.get(contract.head_mask_input(stack))
        if shape is not None and list(shape) != [spec.layers, spec.heads]:
            raise ModelOpenError(f"{name}: input {contract.head_mask_input(stack)!r} is {list(shape)} in the graph, "
                                 f"where the metadata's stacks.{stack} gives [{spec.layers}, {spec.heads}] "
                                 "(layers, heads).")


def _check_outputs(runner: Runner, name: str) -> None:
    meta = runner.model.meta
    _check_head_masks(runner.model, name)
    feeds, lengths = _probe_feeds(runner)
    try:
        outputs = runner.run_graph(feeds)
    except RunError as exc:
        raise ModelOpenError(f"{name}: a probe run on {PROBE_LENGTH} tokens failed: {exc}") from None
    expected = {contract.LOGITS: _logits_shape(meta, lengths)}
    for stack, spec in meta.stacks.items():
        queries, keys = lengths[spec.queries], lengths[spec.keys]
        expected[contract.attention_output(stack)] = (spec.layers, 1, spec.heads, queries, keys)
        # Blocks of the file's default size: one a side for ours; any number for another's.
        expected[contract.pooled_attention_output(stack)] = (spec.layers, 1, spec.heads, None, None)
        per_head = {"queries": queries, "keys": keys, "values": keys}
        for what, length in per_head.items():
            expected[contract.stack_output(what, stack)] = (spec.layers, 1, spec.heads, length, spec.head_dim)
        expected[contract.stack_output("hidden_states", stack)] = (spec.layers + 1, 1, queries, meta.d_model)
    for output, shape in expected.items():
        if output not in outputs:
            continue  # the optional ones; open_model has checked the required ones are there
        got = outputs[output].shape
        if len(got) != len(shape) or any(w is not None and g != w for g, w in zip(got, shape, strict=True)):
            wanted = ", ".join("any" if w is None else str(w) for w in shape)
            raise ModelOpenError(f"{name}: output {output!r} has shape {tuple(got)} on a probe run, where the "
                                 f"contract and its metadata give [{wanted}].")
        if not np.all(np.isfinite(outputs[output])) and output.startswith(("attentions.", "pooled_attentions.")):
            raise ModelOpenError(f"{name}: output {output!r} holds NaN or infinite values on a probe run.")


def _probe_feeds(runner: Runner) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Batch-1 feeds of the smallest input, and each sequence's length."""
    meta = runner.model.meta
    if meta.image is not None:
        image = meta.image
        tokens = len(patch_tokens(image))
        feeds = {contract.PIXEL_VALUES: np.zeros((1, image.channels, *image.size), np.float32),
                 contract.PATCH_MASK: np.ones((1, tokens), np.int64)}
        return feeds, {contract.PIXEL_VALUES: tokens}
    feeds, lengths = {}, {}
    if meta.audio is not None:  # a recording of silence: the encoder's fixed frames
        feeds[contract.INPUT_FEATURES] = np.zeros((1, meta.audio.mel_bins, meta.audio.frames), np.float32)
        lengths[contract.INPUT_FEATURES] = meta.audio.positions
    for ids_input, mask_input in meta.sequence_inputs:
        if ids_input in feeds:
            continue
        ids = runner.encoders[ids_input].encode(PROBE_TEXT).ids[:PROBE_LENGTH] if ids_input in runner.encoders else ()
        ids = (tuple(ids) + (0, 0))[:PROBE_LENGTH]
        feeds[ids_input] = np.asarray(ids, np.int64)[None, :]
        feeds[mask_input] = np.ones((1, PROBE_LENGTH), np.int64)
        lengths[ids_input] = PROBE_LENGTH
    return feeds, lengths


def _logits_shape(meta: contract.ModelMetadata, lengths: dict[str, int]) -> tuple[int | None, ...]:
    """[batch, classes] for an image classifier; [batch, seq, vocab or d_model] over the last sequence."""
    if meta.image is not None:
        return (1, len(meta.labels))
    return (1, lengths[meta.sequence_inputs[-1][0]], None)

