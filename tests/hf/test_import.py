"""`attention-export hf`: tiny BERT, GPT-2 and ViT checkpoints against transformers' eager attention."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from explorer import contract

from ..export.selection import check_selection
from .conftest import PREPROCESSOR, VIT_LABELS, image_batch, reference_model, text_batch

LENGTHS = [5, 11]  # both differ from the export example's length (6)


def feeds_and_reference(imported, batch: int, length: int, seed: int):
    """Contract feeds for `imported`, and transformers' eager outputs for the same input."""
    model = reference_model(imported.folder, imported.name)
    if imported.name == "vit":
        pixels, mask = image_batch(batch, seed)
        feeds = {contract.PIXEL_VALUES: pixels, contract.PATCH_MASK: mask}
        with torch.no_grad():
            ref = model(pixel_values=torch.from_numpy(pixels), attention_mask=torch.from_numpy(mask),
                        output_attentions=True)
    else:
        ids, mask = text_batch(model.config.vocab_size, batch, length, seed)
        feeds = {contract.INPUT_IDS: ids, contract.ATTENTION_MASK: mask}
        with torch.no_grad():
            ref = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                        output_attentions=True)
    return feeds, ref.logits.numpy(), torch.stack(ref.attentions).numpy()  # attentions (L, B, H, T, T)


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("length", LENGTHS)
def test_attentions_and_logits_equal_transformers_eager(imported, batch, length):
    feeds, ref_logits, ref_attentions = feeds_and_reference(imported, batch, length, seed=length)
    stack = next(iter(imported.metadata.stacks))
    out = imported.run(feeds)
    attentions = out[contract.attention_output(stack)]
    assert attentions.shape == ref_attentions.shape
    np.testing.assert_allclose(attentions, ref_attentions, atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.LOGITS], ref_logits, atol=1e-3, rtol=0)


def test_masked_keys_get_exactly_zero(imported):
    feeds, _, _ = feeds_and_reference(imported, 2, 9, seed=3)
    stack, spec = next(iter(imported.metadata.stacks.items()))
    attentions = imported.run(feeds)[contract.attention_output(stack)]  # (L, B, H, Q, K)
    hidden = feeds[dict(imported.metadata.sequence_inputs)[spec.keys]][1] == 0  # (K,) of item 1
    assert hidden.any()
    assert np.all(attentions[:, 1, :, :, hidden] == 0.0)
    if spec.causal:
        future = np.triu(np.ones(attentions.shape[-2:], bool), k=1)
        assert np.all(attentions[..., future] == 0.0)


@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_a_text_import_takes_the_long_inputs(imports, name):
    imported = imports(name)
    feeds, _, _ = feeds_and_reference(imported, 2, 11, seed=5)
    for block in (1, 3, 4):
        check_selection(imported, feeds, block)


def test_an_image_import_takes_no_long_inputs(imports):
    """A ViT's few, fixed patches never need them: the file's inputs are the contract's first three."""
    assert imports("vit").input_names == [
        contract.PIXEL_VALUES, contract.PATCH_MASK, contract.head_mask_input("encoder")]


def test_head_mask_ablates_a_head_and_keeps_its_pattern_visible(imported):
    feeds, _, _ = feeds_and_reference(imported, 1, 9, seed=4)
    stack, spec = next(iter(imported.metadata.stacks.items()))
    name = contract.attention_output(stack)
    base = imported.run(feeds)
    head_mask = np.ones((spec.layers, spec.heads), np.float32)
    head_mask[0, 1] = 0.0
    ablated = imported.run({**feeds, contract.head_mask_input(stack): head_mask})
    assert not np.allclose(ablated[contract.LOGITS], base[contract.LOGITS], atol=1e-5)
    np.testing.assert_array_equal(ablated[name][0], base[name][0])  # layer 0 reads only the input
    assert not np.allclose(ablated[name][1], base[name][1], atol=1e-7)  # later layers see the change


def test_head_mask_runs_as_in_pytorch(imported):
    """Every head of the last layer ablated: ONNX Runtime and our PyTorch wrapper agree."""
    from export.hf import ContractWrapper, load_model, read_checkpoint

    checkpoint = read_checkpoint(imported.folder)
    wrapper = ContractWrapper(load_model(checkpoint), checkpoint.kind, checkpoint.family).eval()
    feeds, _, _ = feeds_and_reference(imported, 2, 7, seed=5)
    stack, spec = next(iter(imported.metadata.stacks.items()))
    head_mask = np.ones((spec.layers, spec.heads), np.float32)
    head_mask[spec.layers - 1] = 0.0
    out = imported.run({**feeds, contract.head_mask_input(stack): head_mask})
    inputs = [torch.from_numpy(feeds[n]) for n in contract.KIND_SEQUENCES[checkpoint.kind][0]]
    with torch.no_grad():
        logits, attentions, *_ = wrapper(*inputs, torch.from_numpy(head_mask))  # a ViT's hidden_states last
    np.testing.assert_allclose(out[contract.LOGITS], logits.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.attention_output(stack)], attentions.numpy(), atol=1e-5, rtol=0)


def test_metadata_describes_the_checkpoint(imported):
    meta = imported.metadata
    config = json.loads((imported.folder / "config.json").read_text())
    spec = next(iter(meta.stacks.values()))
    assert (spec.layers, spec.heads) == (2, 4)
    assert spec.head_dim * spec.heads == meta.d_model == 32
    assert meta.provenance["source"] == "huggingface"
    assert meta.provenance["config"] == config["model_type"]
    assert meta.provenance["architecture"] == config["architectures"][0]
    graph_inputs = [i.name for i in imported.session.get_inputs()]
    overridable = [i.name for i in imported.session.get_overridable_initializers()]
    contract.check_graph_io(meta, graph_inputs + overridable, [o.name for o in imported.session.get_outputs()])
    assert contract.head_mask_input(next(iter(meta.stacks))) in overridable  # optional, default ones
    # a decoder's cache: its past is optional too (empty by default), one key and value per layer
    assert (meta.kv_cache is not None) == spec.causal
    if meta.kv_cache:
        assert meta.kv_cache == contract.KVCache("decoder", 2, 4, 8)
        assert set(meta.kv_cache.past_inputs()) <= set(overridable)
    if imported.name == "vit":
        assert meta.kind == "vit-classifier"
        assert meta.labels == tuple(VIT_LABELS.values())
        assert meta.image.size == (16, 16) and meta.image.patch_size == 4
        assert meta.image.mean == tuple(PREPROCESSOR["image_mean"])
        assert meta.image.std == tuple(PREPROCESSOR["image_std"])
        assert meta.max_positions == {contract.PIXEL_VALUES: 17}
        return
    tokenizer = json.loads(meta.tokenizer)
    assert tokenizer["padding"] is None and tokenizer["truncation"] is None
    assert meta.max_positions == {contract.INPUT_IDS: 40}
    assert meta.embedding is not None
    if imported.name == "bert":
        assert meta.kind == "bert-mlm" and not spec.causal
        assert meta.special_tokens == {"cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]", "pad": "[PAD]",
                                       "unk": "[UNK]"}
    else:
        assert meta.kind == "decoder-lm" and spec.causal
        assert meta.special_tokens["bos"] == meta.special_tokens["eos"] == "<|endoftext|>"


def test_opens_and_runs_in_the_app_core(imported):
    from explorer.core.model import open_model
    from explorer.core.runner import Runner
    from explorer.shared.images import preprocess

    loaded = open_model(imported.path)
    runner = Runner(loaded)
    if imported.name == "vit":
        image = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
        result = runner.run_pixels(preprocess(image, loaded.meta.image))
        assert result.logits.shape == (len(VIT_LABELS),)
    else:
        result = runner.run_text("the cat sat on the mat")
    stack = next(iter(result.stacks.values()))
    tokens = stack.query_tokens
    assert stack.attentions.shape == (2, 4, len(tokens), len(tokens))
    np.testing.assert_allclose(stack.attentions.sum(-1), 1.0, atol=1e-5)
    if imported.name == "bert":
        assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "cat" in tokens
