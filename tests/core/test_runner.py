"""Runs give exactly what ONNX Runtime returns, sliced to batch item 0 and named by stack."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from explorer import contract
from explorer.core.model import open_model
from explorer.core.runner import RunError, Runner, greedy_decode
from explorer.core.text import EmptyTextError
from explorer.shared import images


def reference_run(path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A plain session of our own, with head masks of ones."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for spec in session.get_inputs() + session.get_overridable_initializers():
        if spec.name.startswith("head_mask."):
            feeds[spec.name] = np.ones(spec.shape, np.float32)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds), strict=True))


def ids_feed(ids: tuple[int, ...]) -> np.ndarray:
    return np.asarray(ids, np.int64)[None, :]  # (1, T)


def ones(n: int) -> np.ndarray:
    return np.ones((1, n), np.int64)  # (1, T) a mask that keeps every token


@pytest.fixture(scope="module")
def bert(bert_path) -> Runner:
    return Runner(open_model(bert_path))


@pytest.fixture(scope="module")
def translator(transformer_path) -> Runner:
    return Runner(open_model(transformer_path))


def test_bert_attention_is_exactly_what_onnx_runtime_returns(bert, bert_path):
    result = bert.run_text("the cat sat on the mat")
    ids = result.token_ids[contract.INPUT_IDS]
    expected = reference_run(bert_path, {"input_ids": ids_feed(ids), "attention_mask": ones(len(ids))})
    stack = result.stacks["encoder"]
    np.testing.assert_array_equal(stack.attentions, expected["attentions.encoder"][:, 0])
    np.testing.assert_array_equal(result.logits, expected["logits"][0])
    assert set(result.outputs) == set(expected)
    np.testing.assert_array_equal(result.outputs["hidden_states.encoder"], expected["hidden_states.encoder"][:, 0])
    assert stack.query_tokens == stack.key_tokens == result.tokens[contract.INPUT_IDS]
    assert stack.attentions.shape == (stack.layers, stack.heads, len(ids), len(ids))
    assert stack.key_mask.all() and not stack.causal


def test_long_text_runs_cut_with_a_notice(bert):
    limit = bert.model.meta.max_positions[contract.INPUT_IDS]
    result = bert.run_text("word " * (2 * limit))
    assert result.stacks["encoder"].attentions.shape[-1] == limit
    assert any(f"cut at {limit} tokens" in n for n in result.notices)


def test_empty_text_is_an_error_a_person_can_read(bert):
    with pytest.raises(EmptyTextError):
        bert.run_text("  ")


def test_head_masks_reach_the_graph(bert):
    plain = bert.run_text("the cat")
    spec = bert.model.meta.stacks["encoder"]
    silenced = np.ones((spec.layers, spec.heads), np.float32)
    silenced[0, :] = 0  # no head of layer 0 passes anything on
    masked = bert.run_text("the cat", head_masks={"encoder": silenced})
    assert not np.allclose(plain.logits, masked.logits)


def test_seq2seq_translates_greedily_then_runs_all_three_stacks_on_the_pair(translator, transformer_path):
    result = translator.run_text("12 march 1999")
    meta = translator.model.meta
    src, tgt = result.token_ids[contract.SRC_IDS], result.token_ids[contract.TGT_IDS]
    bos = translator.encoders[contract.TGT_IDS].token_to_id(meta.special_tokens["bos"])
    eos = translator.encoders[contract.TGT_IDS].token_to_id(meta.special_tokens["eos"])
    assert tgt[0] == bos
    assert tgt[-1] == eos or len(tgt) == meta.max_positions[contract.TGT_IDS]
    # Greedy: every target token is the argmax after the ones before it (the decoder is causal).
    assert all(int(result.logits[i].argmax()) == tgt[i + 1] for i in range(len(tgt) - 1))

    expected = reference_run(transformer_path, {
        "src_ids": ids_feed(src), "src_mask": ones(len(src)), "tgt_ids": ids_feed(tgt), "tgt_mask": ones(len(tgt)),
    })
    assert list(result.stacks) == ["encoder", "decoder", "cross"]
    for name, stack in result.stacks.items():
        np.testing.assert_array_equal(stack.attentions, expected[f"attentions.{name}"][:, 0])
    cross = result.stacks["cross"]
    assert cross.query_tokens == result.tokens[contract.TGT_IDS]
    assert cross.key_tokens == result.tokens[contract.SRC_IDS]
    assert result.stacks["decoder"].causal


def test_greedy_decode_stops_at_max_len():
    def never_ends(feeds):  # a model that always says token 7
        tgt = feeds[contract.TGT_IDS]
        logits = np.zeros((1, tgt.shape[1], 10), np.float32)
        logits[..., 7] = 1
        return {contract.LOGITS: logits}

    assert greedy_decode(never_ends, (4, 5), bos=1, eos=2, max_len=5) == [1, 7, 7, 7, 7]


def test_vit_runs_on_prepared_pixels(vit_path):
    runner = Runner(open_model(vit_path))
    spec = runner.model.meta.image
    picture = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    pixels = images.preprocess(picture, spec)
    result = runner.run_pixels(pixels)
    expected = reference_run(vit_path, {"pixel_values": pixels, "patch_mask": ones(1 + spec.num_patches)})
    np.testing.assert_array_equal(result.stacks["encoder"].attentions, expected["attentions.encoder"][:, 0])
    assert result.stacks["encoder"].query_tokens[0] == "[CLS]"
    assert len(result.stacks["encoder"].key_tokens) == 1 + spec.num_patches
    with pytest.raises(RunError, match="image model"):
        runner.run_text("a cat")
    with pytest.raises(RunError, match="prepared to"):
        runner.run_pixels(pixels[:, :, :8])
