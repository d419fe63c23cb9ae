"""`attention-export hf` on the decoder families besides GPT-2 (decoders.FAMILIES: rotary positions,
RMSNorm, 4 query heads sharing 2 or 1 key/value heads, sliding windows, soft-capping, OPT's learned
positions, ALiBi, attention code of the family's own), each against transformers' eager attention:
attention and logits, cached steps, head masks, the anatomy's weights, the window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
import pytest
import torch

from explorer import contract
from explorer.core import anatomy
from explorer.core.logit_lens import LogitLens, run_hidden_states
from explorer.core.model import open_model
from explorer.core.runner import Runner
from export.hf import FAMILIES, read_checkpoint

from ..export.selection import ROWS, check_selection, selection_feeds
from . import decoders
from .app_checks import every_view_and_anatomy_tab_drawn
from .conftest import Figures, Imported, imported_families, text_batch

LENGTHS = [5, 11]  # both differ from the export example's length (6); 11 is past every sliding window
TEXT = "the cat sat on the mat and the dog ran"
# family -> what the tests measured, for the README's table (printed with pytest -s)
MEASURED = Figures()
measured = MEASURED.add


@dataclass
class Decoder:
    imported: Imported
    reference: torch.nn.Module  # transformers' own model, eager attention

    @property
    def meta(self) -> contract.ModelMetadata:
        return self.imported.metadata

    def run(self, **feeds: np.ndarray) -> dict[str, np.ndarray]:
        return self.imported.run(feeds)


@pytest.fixture(scope="module")
def imported_decoders(tmp_path_factory):
    """imported_decoders(model_type) -> that family's tiny checkpoint, imported once for the module."""
    yield imported_families(tmp_path_factory, decoders.save, MEASURED,
                            lambda imported: Decoder(imported, decoders.reference(imported.folder, imported.name)))
    MEASURED.report()


@pytest.fixture(params=list(decoders.FAMILIES))
def decoder(request, imported_decoders) -> Decoder:
    return imported_decoders(request.param)


@pytest.fixture(params=decoders.WITH_INTERNALS)
def decoder_with_internals(request, imported_decoders) -> Decoder:
    """A family whose attention goes through transformers' interface: its file has q, k and v."""
    return imported_decoders(request.param)


def padded_batch(decoder: Decoder, length: int, padding: str) -> tuple[np.ndarray, np.ndarray]:
    ids, mask = text_batch(decoder.reference.config.vocab_size, 2, length, seed=length)  # item 1 right-padded
    return ids, (mask if padding == "right" else np.ascontiguousarray(mask[:, ::-1]))


def reference_run(decoder: Decoder, ids: np.ndarray, mask: np.ndarray):
    with torch.no_grad():
        out = decoder.reference(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                                output_attentions=True, output_hidden_states=True)
    return out, torch.stack(out.attentions).numpy()  # (L, B, H, T, T)


@pytest.mark.parametrize("padding", ["right", "left"])
@pytest.mark.parametrize("length", LENGTHS)
def test_attention_and_logits_equal_transformers_eager(decoder, length, padding):
    ids, mask = padded_batch(decoder, length, padding)
    out = decoder.run(input_ids=ids, attention_mask=mask)
    ref, attentions = reference_run(decoder, ids, mask)
    assert out["attentions.decoder"].shape == attentions.shape == (2, 2, decoders.HEADS, length, length)
    np.testing.assert_allclose(out["attentions.decoder"], attentions, atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.LOGITS], ref.logits.numpy(), atol=1e-3, rtol=0)
    measured(decoder.imported.name, "attention", np.abs(out["attentions.decoder"] - attentions).max())
    measured(decoder.imported.name, "logits", np.abs(out[contract.LOGITS] - ref.logits.numpy()).max())
    hidden = [k for k in range(length) if not mask[1, k]]
    real = [q for q in range(length) if mask[1, q] and mask[1, : q + 1].any()]
    assert np.all(out["attentions.decoder"][:, 1][..., real, :][..., hidden] == 0.0)  # masked keys exactly 0


def test_a_sliding_window_hides_the_keys_further_back_exactly(decoder):
    ids, mask = padded_batch(decoder, 11, "right")
    attention = decoder.run(input_ids=ids, attention_mask=mask)["attentions.decoder"][:, 0]  # (L, H, T, T)
    far = np.tril(np.ones((11, 11), bool), k=-decoders.WINDOW)  # keys WINDOW or more tokens back
    sliding = decoders.FAMILIES[decoder.imported.name].sliding
    for layer in range(decoder.meta.stacks["decoder"].layers):
        assert np.all(attention[layer][..., far] == 0.0) == (layer in sliding), layer


@pytest.mark.parametrize("prompt", [2, 5])
def test_cached_steps_equal_full_recomputation(decoder, prompt):
    cache, spec = decoder.meta.kv_cache, decoder.meta.stacks["decoder"]
    ids = np.random.default_rng(prompt).integers(1, 90, size=(1, prompt + 3)).astype(np.int64)
    full = decoder.run(input_ids=ids, attention_mask=np.ones_like(ids))
    step = decoder.run(input_ids=ids[:, :prompt], attention_mask=np.ones((1, prompt), np.int64))
    for t in range(prompt, ids.shape[1]):
        step = decoder.run(input_ids=ids[:, t : t + 1], attention_mask=np.ones((1, t + 1), np.int64),
                           **cache.next_past(step))
        assert step[contract.present_output(0, "key")].shape == (1, cache.heads, t + 1, spec.head_dim)
        row = step["attentions.decoder"][..., 0, :]  # (L, 1, H, t + 1)
        np.testing.assert_allclose(row, full["attentions.decoder"][..., t, : t + 1], atol=1e-5, rtol=0)
        np.testing.assert_allclose(step[contract.LOGITS][0, 0], full[contract.LOGITS][0, t], atol=1e-4, rtol=0)
        measured(decoder.imported.name, "cached attention",
                 np.abs(row - full["attentions.decoder"][..., t, : t + 1]).max())


def test_a_head_mask_is_that_heads_slice_of_the_w_o_input_zeroed(decoder):
    """ONNX Runtime with head_mask.decoder against transformers with the ablated heads' slices of the
    output projection's input set to 0 (a forward pre-hook)."""
    spec = decoder.meta.stacks["decoder"]
    ablated = [(0, 1), (1, 3)]
    head_mask = np.ones((spec.layers, spec.heads), np.float32)
    hooks = []
    for layer, head in ablated:
        head_mask[layer, head] = 0.0
        keep = torch.ones(spec.heads * spec.head_dim)
        keep[head * spec.head_dim : (head + 1) * spec.head_dim] = 0.0
        module = decoder.reference.base_model.get_submodule(
            FAMILIES[decoder.imported.name].output_projection.format(layer))
        hooks.append(module.register_forward_pre_hook(lambda m, args, keep=keep: (args[0] * keep,)))
    ids, mask = padded_batch(decoder, 9, "right")
    try:
        ref, attentions = reference_run(decoder, ids, mask)
    finally:
        for hook in hooks:
            hook.remove()
    out = decoder.run(input_ids=ids, attention_mask=mask, **{contract.head_mask_input("decoder"): head_mask})
    np.testing.assert_allclose(out[contract.LOGITS], ref.logits.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(out["attentions.decoder"], attentions, atol=1e-4, rtol=0)
    assert not np.allclose(out[contract.LOGITS], decoder.run(input_ids=ids, attention_mask=mask)[contract.LOGITS],
                           atol=1e-3)
    measured(decoder.imported.name, "head-masked logits", np.abs(out[contract.LOGITS] - ref.logits.numpy()).max())


def test_metadata_names_shared_key_value_heads_positions_and_norm(decoder):
    meta, tiny = decoder.meta, decoders.FAMILIES[decoder.imported.name]
    spec = meta.stacks["decoder"]
    kv_heads = tiny.kv_heads
    assert (spec.heads, spec.kv_heads, spec.layers) == (decoders.HEADS, kv_heads, decoders.LAYERS)
    shares = [h * (kv_heads or spec.heads) // spec.heads for h in range(spec.heads)]  # consecutive heads share
    assert [spec.key_value_head(h) for h in range(spec.heads)] == shares
    assert meta.kv_cache == contract.KVCache("decoder", spec.layers, kv_heads or spec.heads, spec.head_dim)
    recipe = meta.text_embedding[contract.INPUT_IDS]
    if tiny.position_offset is None:
        assert recipe.positions is None  # rotary: inside attention
    else:
        assert recipe.positions is not None and recipe.position_offset == tiny.position_offset
    assert meta.unembedding.norm.rms == tiny.rms and (meta.unembedding.norm.bias is None) == tiny.rms
    contract.check_initializers(meta, {init.name for init in onnx.load(str(decoder.imported.path)).graph.initializer})


def test_metadata_says_how_the_recorded_queries_and_keys_were_scored(decoder_with_internals):
    decoder = decoder_with_internals
    meta, tiny = decoder.meta, decoders.FAMILIES[decoder.imported.name]
    spec = meta.stacks["decoder"]
    windows = tuple(decoders.WINDOW if layer in tiny.sliding else None for layer in range(spec.layers))
    assert spec.sliding_window == (windows if tiny.sliding else None)
    assert (spec.softcap, spec.scale) == (tiny.softcap, pytest.approx(tiny.scale) if tiny.scale else None)
    ids, mask = padded_batch(decoder, 7, "right")
    out = decoder.run(input_ids=ids, attention_mask=mask)
    for layer in range(spec.layers):  # keys/values per query head: each its key/value head's present
        for head in range(spec.heads):
            shared = spec.key_value_head(head)
            np.testing.assert_array_equal(out["keys.decoder"][layer, :, head],
                                          out[contract.present_output(layer, "key")][:, shared])
            np.testing.assert_array_equal(out["values.decoder"][layer, :, head],
                                          out[contract.present_output(layer, "value")][:, shared])


@pytest.mark.parametrize("block", [1, 4, 5])
def test_long_inputs_give_the_full_attentions_rows_and_block_sums(decoder_with_internals, block):
    ids, mask = padded_batch(decoder_with_internals, 11, "right")
    check_selection(decoder_with_internals.imported, {contract.INPUT_IDS: ids, contract.ATTENTION_MASK: mask}, block)


def test_with_a_past_long_inputs_index_the_runs_own_queries(decoder_with_internals):
    decoder = decoder_with_internals
    assert {contract.attention_rows_input("decoder"), contract.LOGIT_ROWS} <= set(decoder.imported.input_names)
    ids, mask = padded_batch(decoder, 14, "right")
    first = decoder.run(input_ids=ids[:, :8], attention_mask=mask[:, :8])
    step = {contract.INPUT_IDS: ids[:, 8:], contract.ATTENTION_MASK: mask, **decoder.meta.kv_cache.next_past(first)}
    check_selection(decoder.imported, step, 4)  # 6 new queries over 14 keys
    rows = decoder.run(**step, **selection_feeds(decoder.imported, ROWS, 4))["attentions.decoder"]
    full = decoder.run(input_ids=ids, attention_mask=mask)["attentions.decoder"]
    np.testing.assert_allclose(rows, full[..., 8 + ROWS[:6], :], atol=1e-5)  # the whole run's rows 8 + r


def test_a_family_with_its_own_attention_code_claims_no_queries_keys_or_values(imported_decoders):
    for name in set(decoders.FAMILIES) - set(decoders.WITH_INTERNALS):
        decoder = imported_decoders(name)
        outputs = {o.name for o in decoder.imported.session.get_outputs()}
        assert not outputs & {contract.stack_output(n, "decoder") for n in ("queries", "keys", "values")}, name
        # nor the long inputs, which our attention function computes inside each layer
        assert contract.attention_rows_input("decoder") not in decoder.imported.input_names, name
        assert contract.stack_output("hidden_states", "decoder") in outputs
        result = Runner(open_model(decoder.imported.path)).run_text(TEXT)
        with pytest.raises(anatomy.MissingInternalsError):
            anatomy.head_steps(result.outputs, "decoder", decoder.meta.stacks["decoder"], 0, 0, 1)


def test_the_anatomy_rebuilds_the_way_in_w_o_and_the_way_out_from_the_named_weights(decoder_with_internals):
    decoder = decoder_with_internals
    result = Runner(open_model(decoder.imported.path)).run_text(TEXT)
    meta, weights = decoder.meta, anatomy.Initializers(decoder.imported.path)
    ids = torch.tensor([result.token_ids[contract.INPUT_IDS]])
    seen: list[torch.Tensor] = []
    family = FAMILIES[decoder.imported.name]
    w_o = [decoder.reference.base_model.get_submodule(family.output_projection.format(layer))
           for layer in range(meta.stacks["decoder"].layers)]
    hooks = [m.register_forward_hook(lambda m, args, output: seen.append(output)) for m in w_o]
    with torch.no_grad():
        reference = decoder.reference(input_ids=ids, output_hidden_states=True)
    for hook in hooks:
        hook.remove()
    spec, attention = meta.stacks["decoder"], result.outputs["attentions.decoder"]  # (L, H, T, T)
    for layer in range(spec.layers):  # q·k scaled, soft-capped, masked (window too) and softmaxed: the model's
        for head in range(spec.heads):
            for query in (1, attention.shape[2] - 1):
                alpha = anatomy.head_steps(result.outputs, "decoder", spec, layer, head, query).alpha
                np.testing.assert_allclose(alpha, attention[layer, head, query], atol=1e-5, rtol=0)
    steps = anatomy.embedding_steps(weights, meta, result.outputs, "decoder", tuple(ids[0].tolist()),
                                    result.tokens[contract.INPUT_IDS])
    np.testing.assert_allclose(steps.computed, reference.hidden_states[0][0].numpy(), atol=1e-5, rtol=0)
    for layer, output in enumerate(seen):
        heads = anatomy.multi_head_steps(result.outputs, meta, "decoder", layer, weights)
        np.testing.assert_allclose(heads.output, output[0].numpy(), atol=1e-4, rtol=0)
    hidden = run_hidden_states(result, "decoder")
    lens = LogitLens(weights, meta)  # the final RMSNorm (Gemma's gain 1 + w) and Gemma 2's soft cap
    np.testing.assert_allclose(lens.logits(hidden[-1]), reference.logits[0].numpy(), atol=1e-4, rtol=0)


def test_the_window_opens_the_import_names_grouped_heads_and_draws_every_view(qtbot, window, decoder):
    workspace = every_view_and_anatomy_tab_drawn(qtbot, window, decoder.imported.path, TEXT)
    from explorer.ui.views.controls import HeadBox

    kv_heads = decoders.FAMILIES[decoder.imported.name].kv_heads
    label = f"head 3 · shares key/value head {3 * kv_heads // decoders.HEADS}" if kv_heads else "head 3"
    assert workspace.selection.stacks["decoder"].head_label(3) == label
    boxes = window.findChildren(HeadBox)
    assert boxes and all(box.itemText(3) == label for box in boxes)  # every head menu names the shared head
    workspace.decoder_panel.next_button.click()  # one generation step over the cache
    assert len(window.state.decoder.generated) == 1


def test_a_falcon_with_alibi_is_refused_with_a_sentence(tmp_path):
    import transformers

    transformers.FalconConfig(alibi=True).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").touch()  # read_checkpoint looks for weights, never into them
    with pytest.raises(ValueError, match="alibi is True; the falcon import is written for alibi False: transformers"):
        read_checkpoint(tmp_path)
