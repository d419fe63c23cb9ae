"""`attention-export hf` on the encoder families besides BERT (encoders.FAMILIES: projected
embeddings, a layer shared by all, relative positions in attention code of the family's own), each
against transformers' eager attention: attention and logits, head masks, what the file claims, the
window."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import onnx
import pytest
import torch

from explorer import contract
from explorer.core import anatomy
from explorer.core.model import open_model
from explorer.core.runner import Runner
from export.hf import FAMILIES, read_checkpoint

from ..export.selection import check_selection
from . import encoders
from .app_checks import every_view_and_anatomy_tab_drawn
from .conftest import Figures, Imported, imported_families, text_batch

LENGTHS = [5, 11]  # both differ from the export example's length (6)
TEXT = "the cat sat on the [MASK]"
# family -> what the tests measured, for the README's table (printed with pytest -s)
MEASURED = Figures()
measured = MEASURED.add
INTERNALS = [contract.stack_output(name, "encoder") for name in ("queries", "keys", "values")]


@dataclass
class Encoder:
    imported: Imported
    reference: torch.nn.Module  # transformers' own model, eager attention

    @property
    def tiny(self) -> encoders.Tiny:
        return encoders.FAMILIES[self.imported.name]

    def run(self, **feeds: np.ndarray) -> dict[str, np.ndarray]:
        return self.imported.run(feeds)


@pytest.fixture(scope="module")
def imported_encoders(tmp_path_factory):
    """imported_encoders(model_type) -> that family's tiny checkpoint, imported once for the module."""
    yield imported_families(tmp_path_factory, encoders.save, MEASURED,
                            lambda imported: Encoder(imported, encoders.reference(imported.folder, imported.name)))
    MEASURED.report()


@pytest.fixture(params=list(encoders.FAMILIES))
def encoder(request, imported_encoders) -> Encoder:
    return imported_encoders(request.param)


def reference_run(encoder: Encoder, ids: np.ndarray, mask: np.ndarray, ablated=()):
    """transformers' logits and attention (L, B, H, T, T); the (layer, head) pairs in `ablated` zeroed on
    the input of W_O by a forward pre-hook: the k-th call of a W_O module is layer k's (ALBERT shares one)."""
    spec_heads, calls = encoders.HEADS, []
    head_dim = encoders.WIDTH // spec_heads
    keep = torch.ones(encoders.LAYERS, spec_heads * head_dim)
    for layer, head in ablated:
        keep[layer, head * head_dim : (head + 1) * head_dim] = 0.0
    family = FAMILIES[encoder.imported.name]
    w_o = {encoder.reference.base_model.get_submodule(family.output_projection.format(layer))
           for layer in range(encoders.LAYERS)}

    def zero_heads(module, args):
        calls.append(module)
        return (args[0] * keep[len(calls) - 1],)

    hooks = [module.register_forward_pre_hook(zero_heads) for module in w_o]
    try:
        with torch.no_grad():
            out = encoder.reference(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                                    output_attentions=True)
    finally:
        for hook in hooks:
            hook.remove()
    assert len(calls) == encoders.LAYERS
    return out.logits.numpy(), torch.stack(out.attentions).numpy()


@pytest.mark.parametrize("length", LENGTHS)
def test_attention_and_logits_equal_transformers_eager(encoder, length):
    ids, mask = text_batch(encoder.reference.config.vocab_size, 2, length, seed=length)  # item 1 padded
    out = encoder.run(input_ids=ids, attention_mask=mask)
    logits, attentions = reference_run(encoder, ids, mask)
    assert out["attentions.encoder"].shape == attentions.shape == (2, 2, encoders.HEADS, length, length)
    np.testing.assert_allclose(out["attentions.encoder"], attentions, atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.LOGITS], logits, atol=1e-3, rtol=0)
    measured(encoder.imported.name, "attention", np.abs(out["attentions.encoder"] - attentions).max())
    measured(encoder.imported.name, "logits", np.abs(out[contract.LOGITS] - logits).max())
    real, hidden = mask[1] == 1, mask[1] == 0
    assert np.all(out["attentions.encoder"][:, 1][..., real, :][..., hidden] == 0.0)  # masked keys exactly 0


def test_a_head_mask_is_that_heads_slice_of_the_w_o_input_zeroed(encoder):
    ablated = [(0, 1), (1, 3)]
    head_mask = np.ones((encoders.LAYERS, encoders.HEADS), np.float32)
    for layer, head in ablated:
        head_mask[layer, head] = 0.0
    ids, mask = text_batch(encoder.reference.config.vocab_size, 2, 9, seed=9)
    logits, attentions = reference_run(encoder, ids, mask, ablated)
    out = encoder.run(input_ids=ids, attention_mask=mask, **{contract.head_mask_input("encoder"): head_mask})
    np.testing.assert_allclose(out[contract.LOGITS], logits, atol=1e-4, rtol=0)
    np.testing.assert_allclose(out["attentions.encoder"], attentions, atol=1e-4, rtol=0)
    unmasked = encoder.run(input_ids=ids, attention_mask=mask)
    assert not np.allclose(out[contract.LOGITS], unmasked[contract.LOGITS], atol=1e-3)
    np.testing.assert_array_equal(out["attentions.encoder"][0], unmasked["attentions.encoder"][0])  # pattern kept
    measured(encoder.imported.name, "head-masked logits", np.abs(out[contract.LOGITS] - logits).max())


def test_the_file_claims_what_it_has(encoder):
    meta, tiny = encoder.imported.metadata, encoder.tiny
    outputs = {o.name for o in encoder.imported.session.get_outputs()}
    assert (set(INTERNALS) <= outputs) == tiny.internals and (not outputs & set(INTERNALS)) == (not tiny.internals)
    assert contract.stack_output("hidden_states", "encoder") in outputs
    # The long inputs, which our attention function makes, only where the family's attention goes through it
    assert (contract.attention_rows_input("encoder") in encoder.imported.input_names) == tiny.internals
    assert (contract.INPUT_IDS in meta.text_embedding) == (not tiny.projected)
    assert len(meta.output_projection["encoder"].weight) == encoders.LAYERS
    contract.check_initializers(meta, {init.name for init in onnx.load(str(encoder.imported.path)).graph.initializer})


@pytest.mark.parametrize("block", [1, 4])
@pytest.mark.parametrize("name", encoders.WITH_INTERNALS)
def test_long_inputs_give_the_full_attentions_rows_and_block_sums(imported_encoders, name, block):
    encoder = imported_encoders(name)
    ids, mask = text_batch(encoder.reference.config.vocab_size, 2, 11, seed=11)  # item 1 padded
    check_selection(encoder.imported, {contract.INPUT_IDS: ids, contract.ATTENTION_MASK: mask}, block)


@pytest.mark.parametrize("name", encoders.WITH_INTERNALS)
def test_one_heads_steps_from_the_recorded_q_and_k_are_the_models_attention(imported_encoders, name):
    encoder = imported_encoders(name)
    result = Runner(open_model(encoder.imported.path)).run_text(TEXT)
    spec, attention = encoder.imported.metadata.stacks["encoder"], result.outputs["attentions.encoder"]
    for layer in range(spec.layers):
        for head in range(spec.heads):
            alpha = anatomy.head_steps(result.outputs, "encoder", spec, layer, head, 2).alpha
            np.testing.assert_allclose(alpha, attention[layer, head, 2], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", encoders.WITH_RECIPE)
def test_the_embedding_steps_rebuild_the_first_layer_input(imported_encoders, name):
    encoder = imported_encoders(name)
    result = Runner(open_model(encoder.imported.path)).run_text(TEXT)
    weights = anatomy.Initializers(encoder.imported.path)
    ids = tuple(result.token_ids[contract.INPUT_IDS])
    steps = anatomy.embedding_steps(weights, encoder.imported.metadata, result.outputs, "encoder", ids,
                                    result.tokens[contract.INPUT_IDS])
    np.testing.assert_allclose(steps.computed, result.outputs["hidden_states.encoder"][0], atol=1e-5, rtol=0)


def test_the_window_opens_the_import_and_draws_every_view_and_anatomy_tab(qtbot, window, encoder):
    workspace = every_view_and_anatomy_tab_drawn(qtbot, window, encoder.imported.path, TEXT)
    assert workspace.result.logits.shape[-1] == encoder.reference.config.vocab_size


def test_a_local_layer_sees_only_the_keys_near_the_query_and_the_metadata_says_so(encoder):
    ids, mask = text_batch(encoder.reference.config.vocab_size, 2, 11, seed=11)
    attention = encoder.run(input_ids=ids, attention_mask=mask)["attentions.encoder"][:, 0]  # (L, H, T, T)
    offsets = np.abs(np.subtract.outer(np.arange(11), np.arange(11)))
    far = offsets > encoders.HALF_WINDOW
    sliding = encoder.tiny.sliding
    for layer in range(encoders.LAYERS):
        assert np.all(attention[layer][..., far] == 0.0) == (layer in sliding), layer
    windows = tuple(encoders.HALF_WINDOW + 1 if layer in sliding else None for layer in range(encoders.LAYERS))
    assert encoder.imported.metadata.stacks["encoder"].sliding_window == (windows if sliding else None)


def test_an_albert_with_more_than_one_layer_group_is_refused_with_a_sentence(tmp_path):
    folder = encoders.save(tmp_path, "albert")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_groups": 2}))
    with pytest.raises(ValueError, match="num_hidden_groups is 2; the albert import is written for num_hidden_grou"):
        read_checkpoint(folder)


def test_an_electra_discriminator_imports_as_an_encoder_and_a_bert_pretraining_as_masked_lm(tmp_path):
    import transformers

    for name, architecture, kind in (("electra", "ElectraForPreTraining", "encoder"),
                                     ("bert", "BertForPreTraining", "bert-mlm")):
        folder = tmp_path / name
        config = getattr(transformers, f"{name.capitalize()}Config")(architectures=[architecture])
        config.save_pretrained(folder)
        (folder / "model.safetensors").touch()  # read_checkpoint looks for weights, never into them
        assert read_checkpoint(folder).kind == kind, architecture
