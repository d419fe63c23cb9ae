"""The contract's flat inputs and outputs around a Hugging Face model, and the metadata that names
its weights (the anatomy views' way in, W_O and the logit lens's way out)."""

from __future__ import annotations

import dataclasses
import inspect
import math

import onnx
import torch
from torch import nn

from explorer import contract
from export.hf.attention import INTERNALS, AttentionRecord, Scoring
from export.hf.families import Family, Norm
from export.hf.head_mask import HeadMaskHooks
from export.hf.vision import additive_key_mask, patch_embedding, pooled_features
from export.long_inputs import AttentionSelection, kept_positions
from export.onnx_export import initializer_name


class ContractWrapper(nn.Module):
    """The contract's flat inputs (ids or pixels, mask, head mask) and outputs around a HF model:
    logits, attention, the queries, keys and values every attention call used (where the family's
    attention goes through transformers' AttentionInterface), and the hidden states (the first
    layer's input, then each layer's output), for the app's anatomy views."""

    def __init__(self, hf_model: nn.Module, kind: str, family: Family, cache: contract.KVCache | None = None,
                 long_inputs: bool = False):
        super().__init__()
        self.hf = hf_model
        self.kind = kind
        self.family = family
        self.spec = contract.KIND_SPECS[kind]
        self.stack = next(iter(self.spec.stacks))
        self.cache = cache  # a decoder's past/present keys and values, fed and returned per layer
        # The contract's long inputs (rows and a block), which our attention function reduces inside
        # each layer's call (attention.py): convert.takes_long_inputs says where the file has them.
        self.long_inputs = long_inputs
        # and a causal LM's logits only at the positions asked for (transformers' logits_to_keep)
        self.logit_rows = long_inputs and "logits_to_keep" in inspect.signature(hf_model.forward).parameters
        self.scoring: list[Scoring] = []  # how each layer scored, as the last eager forward saw it
        # A pre-norm decoder norms its last hidden state before handing it back: the contract's is
        # the last layer's output, which is what goes into that final norm.
        self.final_norm = None if family.final_norm is None else self._module(family.final_norm.path)

    def _module(self, path: str) -> nn.Module:
        return self.hf.base_model.get_submodule(path)

    def _present(self, path: str | None) -> nn.Module | None:
        """The module at `path` where this checkpoint has one (DeBERTa's positions only where configured)."""
        if path is None:
            return None
        parent, _, name = path.rpartition(".")
        return getattr(self._module(parent), name, None)

    @property
    def internals(self) -> tuple[str, ...]:
        return () if self.family.own_attention else INTERNALS

    def w_o(self, layers: int) -> list[nn.Module]:
        return [self._module(self.family.output_projection.format(i)) for i in range(layers)]

    def input_names(self) -> list[str]:
        past = self.cache.past_inputs() if self.cache else []
        selection = [contract.attention_rows_input(self.stack), contract.attention_block_input(self.stack),
                     contract.internals_input(self.stack)]
        logit_rows = [contract.LOGIT_ROWS] if self.logit_rows else []
        return [*contract.KIND_SEQUENCES[self.kind][0], contract.head_mask_input(self.stack),
                *past, *(selection if self.long_inputs else []), *logit_rows]

    def output_names(self) -> list[str]:
        pooled = [contract.pooled_attention_output(self.stack)] if self.long_inputs else []
        internals = [contract.stack_output(name, self.stack) for name in (*self.internals, "hidden_states")]
        present = self.cache.present_outputs() if self.cache else []
        return [contract.LOGITS, contract.attention_output(self.stack), *pooled, *internals, *present]

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor, head_mask: torch.Tensor, *rest: torch.Tensor):
        """`rest`: a cache's past, then the long inputs' rows, block and internals and the logits' rows
        where the file takes them."""
        if self.logit_rows:
            rest, logit_rows = rest[:-1], rest[-1]
        past, selection = (rest[:-3], AttentionSelection(*rest[-3:])) if self.long_inputs else (rest, None)
        record = AttentionRecord(selection)
        source = self.spec.sequences[0][0]  # input_ids, or pixel_values for an image model
        extra = {} if self.family.own_attention else {"attention_record": record}
        if self.logit_rows:  # the first min(rows, T), as the attention's rows
            extra["logits_to_keep"] = logit_rows[: torch.sym_min(logit_rows.shape[0], inputs.shape[1])]
        if self.cache:  # transformers' own cache, filled with the past (key, value) of each layer
            from transformers import DynamicCache

            # Without the config every layer keeps all its tokens, even under a sliding window (the
            # mask applies the window): the presents are always past + new, as the contract has them.
            layers = list(zip(past[0::2], past[1::2], strict=True))
            extra.update(use_cache=True, cache=DynamicCache(layers))
        elif self.spec.causal:
            extra["use_cache"] = False
        before_norm: list[torch.Tensor] = []
        hook = None if self.final_norm is None else self.final_norm.register_forward_pre_hook(
            lambda module, args: before_norm.append(args[0]))
        vision = self.family.vision
        if vision is not None and vision.additive_mask:
            mask = additive_key_mask(mask)
        try:
            with HeadMaskHooks(self.w_o(head_mask.shape[0]), head_mask):
                out = self.hf(**{source: inputs}, attention_mask=mask, output_attentions=True,
                              output_hidden_states=True, return_dict=True, **extra)
        finally:
            if hook is not None:
                hook.remove()
        self.scoring = record.scoring
        if hasattr(out, "logits"):
            logits = out.logits  # (B, T, vocab) or (B, classes)
        elif self.spec.images:
            logits = pooled_features(out)  # (B, d_model)
        else:
            logits = out.last_hidden_state  # (B, T, d_model)
        hidden = [*out.hidden_states[:-1], *(before_norm or out.hidden_states[-1:])]
        hidden = [kept_positions(h, 1, selection) for h in hidden]
        internals = [record.stacked(name) for name in self.internals]  # each (L, B, H, T, hd), per query head
        present = [t for layer in out.cache.layers for t in (layer.keys, layer.values)] if self.cache else []
        if selection is None:
            attentions = [torch.stack(out.attentions)]  # (L, B, H, T, P + T)
        else:  # (L, B, H, rows, P + T) and (L, B, H, T / b, (P + T) / b)
            attentions = [torch.stack(record.rows), torch.stack(record.pooled)]
        return (logits, *attentions, *internals, torch.stack(hidden), *present)

    def scored(self, spec: contract.StackSpec) -> contract.StackSpec:
        """`spec` with how the layers scored where that differs from q·k / √head_dim (the same scale
        and soft cap in every layer; the sliding window per layer), where the attention calls said."""
        if not self.scoring:
            return spec
        first = self.scoring[0]
        windows = tuple(s.sliding_window for s in self.scoring)
        return dataclasses.replace(
            spec, scale=None if math.isclose(first.scale, spec.head_dim ** -0.5) else first.scale,
            softcap=first.softcap, sliding_window=windows if any(windows) else None)

    def _norm(self, norm: Norm | None, name) -> contract.LayerNormNames | None:
        if norm is None:
            return None
        module = self._module(norm.path)
        bias = getattr(module, "bias", None)
        return contract.LayerNormNames(name(module.weight), None if bias is None else name(bias),
                                       float(getattr(module, norm.eps)), norm.rms, norm.weight_offset)

    def text_embedding(self) -> dict[str, contract.TextEmbedding]:
        """How the ids enter the first layer, by the graph's names of the weights: rows of the token
        embedding (Gemma scales them by √d_model), learned positions where the checkpoint has them, BERT's
        segment 0, a norm; nothing where the sum is then projected to d_model (ALBERT, ELECTRA)."""
        family = self.family
        if self._present(family.embedding_projection) is not None:
            return {}

        def name(parameter: torch.Tensor) -> str:
            return initializer_name(self, parameter)

        positions, token_type = self._present(family.positions), self._present(family.token_type)
        recipe = contract.TextEmbedding(
            scale=float(getattr(self.hf.get_input_embeddings(), "scalar_embed_scale", 1.0)),
            positions=None if positions is None else name(positions.weight),
            position_offset=0 if positions is None else _first_position_row(positions),
            token_type=None if token_type is None else name(token_type.weight),
            norm=self._norm(family.embedding_norm, name),
        )
        return {self.spec.sequences[0][0]: recipe}

    def output_projection(self, layers: int) -> dict[str, contract.OutputProjection]:
        return {self.stack: output_projection(self, self.w_o(layers))}

    def unembedding(self, graph: onnx.GraphProto) -> contract.Unembedding | None:
        """A causal LM's final norm and output embedding, by the graph's names (GPT-2: ln_f, and
        lm_head tied to wte), and Gemma 2's soft-capping of the logits: what the logit lens reads
        each layer's residual stream through. A tied or shared weight has several module paths; the
        graph keeps one of them."""
        head = self.hf.get_output_embeddings()
        if not self.spec.causal or head is None or self.final_norm is None:
            return None
        kept = {init.name for init in graph.initializer}

        def name(parameter: torch.Tensor) -> str:
            return next(n for n, p in self.named_parameters(remove_duplicate=False) if p is parameter and n in kept)

        bias = getattr(head, "bias", None)
        softcap = None if self.family.logit_softcap is None else getattr(self.hf.config, self.family.logit_softcap)
        return contract.Unembedding(
            weight=name(head.weight), bias=None if bias is None else name(bias),
            norm=self._norm(self.family.final_norm, name), softcap=None if softcap is None else float(softcap),
        )

    def patch_embedding(self, image: contract.ImageSpec) -> contract.PatchEmbedding | None:
        """The graph's names of the patch embedding's weights, where the contract can say the way in."""
        return patch_embedding(self, self.family.vision, image)


def _first_position_row(positions: nn.Embedding) -> int:
    """The table row of position 0: OPT's module says it (`offset`); RoBERTa's start after its padding id."""
    if hasattr(positions, "offset"):
        return positions.offset
    return 0 if positions.padding_idx is None else positions.padding_idx + 1


def output_projection(wrapper: nn.Module, modules: list[nn.Module]) -> contract.OutputProjection:
    """Each layer's W_O (`modules`, in layer order) by the graph's names of `wrapper`'s parameters:
    a Linear (D, H*hd), or GPT-2's Conv1D (H*hd, D)."""
    return contract.OutputProjection(
        weight=tuple(initializer_name(wrapper, m.weight) for m in modules),
        bias=tuple(initializer_name(wrapper, m.bias) for m in modules if m.bias is not None),
        transposed=type(modules[0]).__name__ == "Conv1D",
    )
