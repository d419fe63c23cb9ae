"""ONNX Runtime against the PyTorch reference, for each of the three models."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest

from explorer import contract
from export.onnx_export import EMBEDDING_INITIALIZER, save_contract_model

from .conftest import feeds_for, torch_outputs

# Lengths that differ from the export examples (6, 7/5) and from each other.
LENGTHS = [5, 11]


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("length", LENGTHS)
def test_ort_matches_pytorch(exported, batch, length):
    feeds = feeds_for(exported, batch, length, seed=length)
    ort_out = exported.run(feeds)
    ref = torch_outputs(exported, feeds)
    assert set(ort_out) == set(ref)
    np.testing.assert_allclose(ort_out[contract.LOGITS], ref[contract.LOGITS], atol=1e-4, rtol=0)
    for stack in exported.metadata.stacks:
        name = contract.attention_output(stack)
        spec = exported.metadata.stacks[stack]
        assert ort_out[name].shape[:3] == (spec.layers, batch, spec.heads)
        np.testing.assert_allclose(ort_out[name], ref[name], atol=1e-5, rtol=0)
    for name in ort_out:  # queries/keys/values/hidden_states too
        np.testing.assert_allclose(ort_out[name], ref[name], atol=1e-4, rtol=0, err_msg=name)


@pytest.mark.parametrize("length", LENGTHS)
def test_rows_sum_to_one_and_masked_keys_are_exactly_zero(exported, length):
    feeds = feeds_for(exported, 3, length, seed=7)
    out = exported.run(feeds)
    for stack, spec in exported.metadata.stacks.items():
        att = out[contract.attention_output(stack)]  # (L, B, H, Q, K)
        np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-5)
        mask_name = dict(exported.metadata.sequence_inputs)[spec.keys]
        key_mask = feeds[mask_name].astype(bool)  # (B, K)
        hidden = np.broadcast_to(~key_mask[None, :, None, None, :], att.shape)
        assert hidden.any()
        assert np.all(att[hidden] == 0.0), f"{stack}: masked keys got attention"
        if spec.causal:
            future = np.triu(np.ones(att.shape[-2:], dtype=bool), k=1)
            assert np.all(att[..., future] == 0.0), f"{stack}: future positions got attention"


def test_head_mask_changes_logits_as_pytorch_and_keeps_probabilities(exported):
    length = 9
    base = exported.run(feeds_for(exported, 2, length))
    head_masks = {}
    for stack, spec in exported.metadata.stacks.items():
        m = np.ones((spec.layers, spec.heads), dtype=np.float32)
        m[0, 1] = 0.0
        m[spec.layers - 1, 0] = 0.0
        head_masks[stack] = m
    feeds = feeds_for(exported, 2, length, head_masks=head_masks)
    ablated = exported.run(feeds)
    ref = torch_outputs(exported, feeds)
    assert not np.allclose(ablated[contract.LOGITS], base[contract.LOGITS], atol=1e-4)
    np.testing.assert_allclose(ablated[contract.LOGITS], ref[contract.LOGITS], atol=1e-4, rtol=0)
    for stack in exported.metadata.stacks:
        name = contract.attention_output(stack)
        # A self-attention stack's first layer reads only the inputs, so no ablated head acts
        # before it: identical. (Cross-attention queries come after the decoder's first layer.)
        if stack != "cross":
            np.testing.assert_array_equal(ablated[name][0], base[name][0])
        # The ablated head's own probabilities stay visible.
        np.testing.assert_allclose(ablated[name][0, :, 1].sum(-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(ablated[name], ref[name], atol=1e-5, rtol=0)


def _expected_weight_names(exported) -> tuple[dict, dict]:
    """The text_embedding and output_projection our exporter writes, by the PyTorch module paths."""
    config = exported.model.config

    def w_o(path: str, layers: int) -> contract.OutputProjection:
        modules = [f"model.{path.format(layer=i)}.w_o" for i in range(layers)]
        return contract.OutputProjection(tuple(f"{m}.weight" for m in modules), tuple(f"{m}.bias" for m in modules))

    if exported.kind == "bert":
        norm = contract.LayerNormNames("model.embed_norm.weight", "model.embed_norm.bias", 1e-5)
        text = {contract.INPUT_IDS: contract.TextEmbedding(1.0, "model.positions.weight", norm=norm)}
        return text, {"encoder": w_o("encoder.blocks.{layer}.attention", config.layers)}
    if exported.kind == "transformer":
        both = contract.TextEmbedding(config.d_model ** 0.5, contract.SINUSOIDAL)
        return {contract.SRC_IDS: both, contract.TGT_IDS: both}, {
            "encoder": w_o("encoder.blocks.{layer}.attention", config.encoder_layers),
            "decoder": w_o("decoder_blocks.{layer}.self_attention", config.decoder_layers),
            "cross": w_o("decoder_blocks.{layer}.cross_attention", config.decoder_layers),
        }
    if exported.kind == "gpt":
        text = {contract.INPUT_IDS: contract.TextEmbedding(1.0, "model.positions.weight")}
        return text, {"decoder": w_o("decoder.blocks.{layer}.attention", config.layers)}
    return {}, {"encoder": w_o("encoder.blocks.{layer}.attention", config.layers)}


def test_metadata_round_trips_through_onnxruntime(exported):
    raw = exported.session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY]
    meta = contract.parse_metadata(raw)
    # The exporter names the token embedding's or the patch embedding's initializers; the rest is as given.
    expected_embedding = None if exported.kind == "vit" else EMBEDDING_INITIALIZER
    expected_patches = contract.PatchEmbedding(
        weight="model.patch_embed.weight", bias="model.patch_embed.bias", class_token="model.cls_token",
        positions="model.positions.weight",
    ) if exported.kind == "vit" else None
    assert meta.embedding == expected_embedding
    assert meta.patch_embedding == expected_patches
    # ...and where the anatomy views find the rest: how text enters the first layer, each layer's W_O.
    expected_text, expected_w_o = _expected_weight_names(exported)
    assert meta.text_embedding == expected_text
    assert meta.output_projection == expected_w_o
    expected_unembedding = contract.Unembedding(
        EMBEDDING_INITIALIZER, norm=contract.LayerNormNames("model.decoder.final_norm.weight",
                                                            "model.decoder.final_norm.bias", 1e-5),
    ) if exported.kind == "gpt" else None  # the tied output projection after the final norm
    assert meta.unembedding == expected_unembedding
    assert meta == dataclasses.replace(exported.metadata, embedding=expected_embedding,
                                       patch_embedding=expected_patches, text_embedding=expected_text,
                                       output_projection=expected_w_o, unembedding=expected_unembedding)
    contract.check_initializers(meta, {init.name for init in onnx.load(str(exported.path)).graph.initializer})
    assert meta.kind == exported.metadata.kind
    assert meta.stacks == exported.metadata.stacks
    assert list(meta.stacks) == list(contract.KIND_STACKS[meta.kind])
    # head masks (and a cache's past) are optional inputs with a default (ONNX: an input with an
    # initializer), which ONNX Runtime lists apart from the required inputs.
    overridable = {i.name: i.shape for i in exported.session.get_overridable_initializers()}
    inputs = [i.name for i in exported.session.get_inputs()]
    assert inputs == [name for pair in meta.sequence_inputs for name in pair]
    outputs = [o.name for o in exported.session.get_outputs()]
    contract.check_graph_io(meta, inputs + list(overridable), outputs)
    for stack, spec in meta.stacks.items():
        assert overridable[contract.head_mask_input(stack)] == [spec.layers, spec.heads]
    if meta.kv_cache:  # batch 1, length 0 by default; dynamic when fed
        cache = meta.kv_cache
        assert (cache.stack, cache.layers, cache.heads, cache.head_dim) == ("decoder", 2, 4, 8)
        assert [overridable[name][1::2] for name in cache.past_inputs()] == [[cache.heads, cache.head_dim]] * 4


def test_the_exporter_refuses_metadata_that_names_a_missing_initializer(exported, tmp_path):
    proto = onnx.load(str(exported.path))
    wrong = dataclasses.replace(exported.metadata, embedding="model.no_such.weight")
    with pytest.raises(contract.ContractError, match=r"embedding \('model.no_such.weight'\)"):
        save_contract_model(proto, wrong, tmp_path / "wrong.onnx")
    assert not (tmp_path / "wrong.onnx").exists()


def test_head_masks_default_to_ones(exported):
    feeds = feeds_for(exported, 1, 6)
    with_masks = exported.run(feeds)
    without = exported.run({k: v for k, v in feeds.items() if not k.startswith("head_mask.")})
    for name in with_masks:
        np.testing.assert_array_equal(with_masks[name], without[name])


def test_one_self_contained_file(exported):
    proto = onnx.load(str(exported.path), load_external_data=False)
    assert all(init.data_location != onnx.TensorProto.EXTERNAL for init in proto.graph.initializer)
    assert not list(exported.path.parent.glob("*.data"))
