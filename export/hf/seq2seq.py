"""An encoder–decoder checkpoint (T5, BART, Marian, mBART, Pegasus) as the contract's three stacks: the
encoder's self-attention over the source, the decoder's causal self-attention over the target, and the
decoder's cross attention over the encoder's output.

transformers returns the three as `encoder_attentions`, `decoder_attentions` and `cross_attentions`,
so each stack's probabilities are the output named after it. Head masks are head_mask.py's one
mechanism, a pre-hook on W_O, once per stack. The sizes are measured on the loaded model (T5's
config calls its layers num_layers and num_decoder_layers, BART's encoder_layers and decoder_layers).
Where the family's attention goes through transformers' AttentionInterface (BART and its kin), our
recorded eager attention keeps every call's query, key and value: the encoder's layers run first, then
each decoder layer's self-attention and cross attention in turn, which is how the record is split into
stacks. T5 runs its own eager attention, with a relative position bias the contract cannot describe:
its files have no queries, keys or values, and the one-head anatomy says so. No file has hidden states."""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from explorer import contract
from explorer.shared.hf_folder import (
    FolderError,
    audio_spec,
    max_text_positions,
    read_json,
    read_tokenizer,
    special_tokens,
    token_embedding,
)
from export.hf.attention import INTERNALS, AttentionRecord
from export.hf.folder import Checkpoint, load_model
from export.hf.head_mask import HeadMaskHooks
from export.hf.wrapper import output_projection
from export.onnx_export import save_contract_model, to_onnx

GENERATION_CONFIG = "generation_config.json"  # where newer checkpoints keep decoder_start_token_id
_EXAMPLE_BATCH, _EXAMPLE_SOURCE, _EXAMPLE_TARGET = 2, 7, 5  # lengths unlike each other and every size


def _calls(encoder_layers: int) -> dict[str, slice]:
    """Which attention calls of one forward are each stack's: the encoder's layers run first, then each
    decoder layer's self-attention and cross attention in turn."""
    return {"encoder": slice(0, encoder_layers), "decoder": slice(encoder_layers, None, 2),
            "cross": slice(encoder_layers + 1, None, 2)}


class Seq2SeqWrapper(nn.Module):
    """The contract's flat inputs (source and target ids and masks, a head mask per stack) and
    outputs (the target's logits, each stack's attention and, where recorded, its queries, keys and
    values) around a Hugging Face encoder–decoder."""

    def __init__(self, hf_model: nn.Module, spec: contract.KindSpec, w_o_paths: dict[str, str], recorded: bool):
        super().__init__()
        self.hf = hf_model
        self.spec = spec  # the stacks, in the contract's order: encoder, decoder, cross
        self.w_o_paths = w_o_paths  # stack -> layer {}'s W_O under base_model
        self.internals = INTERNALS if recorded else ()

    def w_o(self, stack: str, layers: int) -> list[nn.Module]:
        return [self.hf.base_model.get_submodule(self.w_o_paths[stack].format(i)) for i in range(layers)]

    def input_names(self) -> list[str]:
        sequences = [name for pair in self.spec.sequences for name in pair if name]  # "": no mask input
        return [*sequences, *(contract.head_mask_input(stack) for stack in self.spec.stacks)]

    def output_names(self) -> list[str]:
        internals = [contract.stack_output(name, stack) for name in self.internals for stack in self.spec.stacks]
        return [contract.LOGITS, *(contract.attention_output(stack) for stack in self.spec.stacks), *internals]

    def forward(self, src_ids, src_mask, tgt_ids, tgt_mask, encoder_head_mask, decoder_head_mask, cross_head_mask):
        return self.run({"input_ids": src_ids, "attention_mask": src_mask}, tgt_ids, tgt_mask,
                        (encoder_head_mask, decoder_head_mask, cross_head_mask))

    def run(self, source: dict, tgt_ids, tgt_mask, head_masks: tuple) -> tuple:
        """The model on `source` (its keyword arguments: ids and mask, or Whisper's input_features) and the
        target, each stack's head mask (in the contract's order) applied on its W_O."""
        record = AttentionRecord()
        extra = {"attention_record": record} if self.internals else {}
        with contextlib.ExitStack() as hooks:
            for stack, head_mask in zip(self.spec.stacks, head_masks, strict=True):
                hooks.enter_context(HeadMaskHooks(self.w_o(stack, head_mask.shape[0]), head_mask))
            out = self.hf(**source, decoder_input_ids=tgt_ids, decoder_attention_mask=tgt_mask,
                          output_attentions=True, use_cache=False, return_dict=True, **extra)
        encoder_layers, decoder_layers = head_masks[0].shape[0], head_masks[1].shape[0]
        if self.internals and len(record.scoring) != encoder_layers + 2 * decoder_layers:
            raise ValueError(f"attention ran {len(record.scoring)} times, not once per encoder layer and twice per "
                             "decoder layer: this checkpoint's queries, keys and values cannot be told apart")
        calls = _calls(encoder_layers)
        internals = [torch.stack(record.seen[name][calls[stack]])
                     for name in self.internals for stack in self.spec.stacks]
        # logits (B, T, vocab); each stack's attention (L, B, H, queries, keys); q, k, v (L, B, H, len, hd)
        return (out.logits, *(torch.stack(getattr(out, f"{stack}_attentions")) for stack in self.spec.stacks),
                *internals)

    def probe_source(self) -> dict:
        """A one-item source to measure the stacks with."""
        return {"input_ids": torch.ones(1, 2, dtype=torch.long)}

    def stack_specs(self) -> dict[str, contract.StackSpec]:
        """Each stack's layers and heads as a run shows them; head_dim from W_O's input, H · head_dim wide."""
        record = AttentionRecord()
        extra = {"attention_record": record} if self.internals else {}
        with torch.no_grad():
            out = self.hf(**self.probe_source(), decoder_input_ids=torch.ones(1, 2, dtype=torch.long),
                          output_attentions=True, use_cache=False, **extra)
        specs = {}
        for stack, (queries, keys) in self.spec.stacks.items():
            attentions = getattr(out, f"{stack}_attentions")  # each (B, H, T, S)
            heads = attentions[0].shape[1]
            head_dim = self.w_o(stack, 1)[0].in_features // heads
            scoring = record.scoring[_calls(len(out.encoder_attentions))[stack]] if self.internals else []
            # the scale the recorded queries meet: Whisper scales its queries before the call (scaling 1)
            scale = scoring[0].scale if scoring and not math.isclose(scoring[0].scale, head_dim ** -0.5) else None
            specs[stack] = contract.StackSpec(len(attentions), heads, head_dim, queries, keys,
                                              causal=stack in self.spec.causal, scale=scale)
        return specs

    def output_projection(self, specs: dict[str, contract.StackSpec]) -> dict[str, contract.OutputProjection]:
        return {stack: output_projection(self, self.w_o(stack, spec.layers)) for stack, spec in specs.items()}


class SpeechWrapper(Seq2SeqWrapper):
    """Whisper: the encoder hears the contract's input_features (B, mel_bins, frames), the frames fixed."""

    def __init__(self, hf_model: nn.Module, spec: contract.KindSpec, w_o_paths: dict[str, str], recorded: bool,
                 audio: contract.AudioSpec):
        super().__init__(hf_model, spec, w_o_paths, recorded)
        self.audio = audio

    def forward(self, input_features, tgt_ids, tgt_mask, encoder_head_mask, decoder_head_mask, cross_head_mask):
        return self.run({"input_features": input_features}, tgt_ids, tgt_mask,
                        (encoder_head_mask, decoder_head_mask, cross_head_mask))

    def probe_source(self) -> dict:
        return {"input_features": torch.zeros(1, self.audio.mel_bins, self.audio.frames)}


def example_source(wrapper: Seq2SeqWrapper, vocab_size: int, positions: int | None, batch) -> tuple[tuple, tuple]:
    """Source tensors to trace with, and their dynamic axes: ids and a mask of a dynamic length, or
    input_features of the fixed length Whisper's encoder takes."""
    if isinstance(wrapper, SpeechWrapper):
        features = torch.randn(_EXAMPLE_BATCH, wrapper.audio.mel_bins, wrapper.audio.frames)
        return (features,), ({0: batch},)
    src = torch.randint(0, vocab_size, (_EXAMPLE_BATCH, _EXAMPLE_SOURCE))
    length = torch.export.Dim("src", min=2, max=positions or 4096)
    return (src, torch.ones_like(src)), ({0: batch, 1: length},) * 2


def target_tokens(checkpoint: Checkpoint, tokenizer_json: str) -> dict[str, str]:
    """The special tokens, with bos the token the decoder starts from as generate starts it
    (decoder_start_token_id: T5's and Marian's pad, BART's eos; else bos_token_id) and eos the one it
    stops at (the first, where several are named); raise FolderError where the folder names none."""
    from tokenizers import Tokenizer

    generation = read_json(checkpoint.folder / GENERATION_CONFIG) or {}

    def named(key: str):
        value = next((d[key] for d in (checkpoint.config, generation) if d.get(key) is not None), None)
        return value[0] if isinstance(value, list) and value else value

    tokenizer = Tokenizer.from_str(tokenizer_json)
    start = named("decoder_start_token_id")
    roles = {"bos": named("bos_token_id") if start is None else start, "eos": named("eos_token_id")}
    found = special_tokens(checkpoint.folder, tokenizer_json, checkpoint.config)
    for role, token_id in roles.items():
        token = tokenizer.id_to_token(token_id) if isinstance(token_id, int) else None
        if token is None:
            raise FolderError(f"{checkpoint.folder}: a seq2seq model needs its {role} token's id in config.json or "
                              f"{GENERATION_CONFIG} (decoder_start_token_id, eos_token_id) within its tokenizer, "
                              f"got {token_id!r}")
        found[role] = token
    return found


def export_seq2seq(checkpoint: Checkpoint, out: str | Path, provenance: dict,
                   progress: Callable[[str], None]) -> Path:
    """Import the encoder–decoder `checkpoint` as the contract file `out` (convert.export_hf's steps)."""
    family, spec = checkpoint.family, contract.KIND_SPECS[checkpoint.kind]
    w_o_paths = {next(iter(spec.stacks)): family.output_projection, **family.stack_output_projections}
    tokenizer = read_tokenizer(checkpoint.folder)  # before any work: a folder without one stops here
    special = target_tokens(checkpoint, tokenizer)
    audio = audio_spec(checkpoint.folder, checkpoint.config) if spec.audio else None
    progress("loading the weights")
    model = load_model(checkpoint)
    recorded = not family.own_attention
    wrapper = (SpeechWrapper(model, spec, w_o_paths, recorded, audio) if audio
               else Seq2SeqWrapper(model, spec, w_o_paths, recorded)).eval()
    specs = wrapper.stack_specs()
    positions = max_text_positions(checkpoint.config) or checkpoint.config.get("max_target_positions")
    text_inputs = [ids for ids, _ in spec.sequences if ids != contract.INPUT_FEATURES]
    meta = contract.ModelMetadata(
        kind=checkpoint.kind, stacks=specs, d_model=model.config.d_model, name=checkpoint.folder.name,
        max_positions={ids: positions for ids in text_inputs} if positions else {},
        tokenizer=tokenizer, special_tokens=special, audio=audio,
        provenance={**provenance, "parameters": sum(p.numel() for p in model.parameters())})
    vocab = checkpoint.config["vocab_size"]
    batch = torch.export.Dim("batch", min=1, max=4096)
    source, source_shapes = example_source(wrapper, vocab, positions, batch)
    tgt = torch.randint(0, vocab, (_EXAMPLE_BATCH, _EXAMPLE_TARGET))
    head_masks = tuple(torch.ones(stack.layers, stack.heads) for stack in specs.values())
    target_length = torch.export.Dim("tgt", min=2, max=positions or 4096)
    shapes = (*source_shapes, {0: batch, 1: target_length}, {0: batch, 1: target_length}, *(None for _ in head_masks))
    progress("tracing")
    proto = to_onnx(wrapper, (*source, tgt, torch.ones_like(tgt), *head_masks), shapes)
    meta = dataclasses.replace(meta, embedding=token_embedding(proto.graph, checkpoint.config["vocab_size"]),
                               output_projection=wrapper.output_projection(specs))
    try:
        meta = contract.parse_metadata(meta.to_json())  # the checks a file gets when it opens
    except contract.ContractError as exc:
        raise FolderError(f"{checkpoint.folder}: {exc}") from None
    progress("writing")
    return save_contract_model(proto, meta, out)
