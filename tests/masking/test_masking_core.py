"""Token masks, [MASK] predictions, head masks and step-by-step decoding, without Qt or torch."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import contract
from explorer.core.ablation import HeadMasks
from explorer.core.decoding import GreedyDecoder
from explorer.core.masking import TokenEdits
from explorer.core.predictions import mask_predictions, softmax

TEXT = "the cat sat on the mat"
DATE = "12 may 2021"


def test_a_hidden_key_is_exactly_zero_and_marked_in_the_stack(bert_runner):
    edits = {contract.INPUT_IDS: TokenEdits(hidden=frozenset({2, 4}))}
    result = bert_runner.run_text(TEXT, edits=edits)
    stack = result.stacks["encoder"]
    assert np.all(stack.attentions[..., [2, 4]] == 0.0)  # (L, H, Q, K): columns of hidden keys
    assert np.all(stack.attentions[..., [0, 1, 3]] > 0.0)
    np.testing.assert_allclose(stack.attentions.sum(-1), 1.0, atol=1e-5)
    expected = np.ones(len(stack.key_tokens), bool)
    expected[[2, 4]] = False
    np.testing.assert_array_equal(stack.key_mask, expected)


def test_a_run_without_edits_feeds_a_mask_of_ones(bert_runner):
    stack = bert_runner.run_text(TEXT).stacks["encoder"]
    assert stack.key_mask.all() and (stack.attentions > 0).all()


def test_replacing_by_mask_and_typing_mask_give_the_same_ids(bert_runner):
    mask_token, mask_id = bert_runner.mask_token()
    replaced = bert_runner.run_text(TEXT, edits={contract.INPUT_IDS: TokenEdits(masked=frozenset({3}))})
    plain = bert_runner.run_text(TEXT)
    assert replaced.token_ids[contract.INPUT_IDS][3] == mask_id
    assert replaced.tokens[contract.INPUT_IDS][3] == mask_token
    assert replaced.token_ids[contract.INPUT_IDS][:3] == plain.token_ids[contract.INPUT_IDS][:3]
    typed = bert_runner.run_text(f"the {mask_token} sat")
    assert mask_id in typed.token_ids[contract.INPUT_IDS]


def test_mask_predictions_equal_a_direct_onnx_runtime_top_k(bert_runner, bert_path):
    import onnxruntime as ort

    _, mask_id = bert_runner.mask_token()
    result = bert_runner.run_text(TEXT, edits={contract.INPUT_IDS: TokenEdits(masked=frozenset({2, 5}))})
    ids = result.token_ids[contract.INPUT_IDS]
    found = mask_predictions(result.logits, ids, mask_id, bert_runner.encoders[contract.INPUT_IDS].id_to_token, k=5)
    assert [p.position for p in found] == [2, 5]

    session = ort.InferenceSession(str(bert_path), providers=["CPUExecutionProvider"])
    feeds = {contract.INPUT_IDS: np.array([ids], np.int64), contract.ATTENTION_MASK: np.ones((1, len(ids)), np.int64)}
    (logits,) = session.run([contract.LOGITS], feeds)  # (1, T, vocab)
    for prediction in found:
        row = logits[0, prediction.position]
        probabilities = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
        best = np.argsort(probabilities)[::-1][:5]
        assert prediction.ids == tuple(int(i) for i in best)
        np.testing.assert_allclose(prediction.probabilities, probabilities[best], rtol=1e-5)


def test_softmax_is_a_distribution():
    rows = softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]], np.float32))
    np.testing.assert_allclose(rows.sum(-1), 1.0)
    assert rows[1, 0] == pytest.approx(1.0)


def test_head_masks_ablate_keep_only_and_reset(bert_runner):
    masks = HeadMasks(bert_runner.model.meta.stacks)
    assert masks.feeds() is None
    masks.toggle("encoder", 1, 2)
    assert masks.ablated("encoder") == [(1, 2)]
    masks.keep_only("encoder", 0, 3)
    heads = bert_runner.model.meta.stacks["encoder"].heads
    assert masks.ablated("encoder") == [(0, h) for h in range(heads) if h != 3] + [(1, 2)]
    masks.toggle("encoder", 1, 2)
    assert (1, 2) not in masks.ablated("encoder")
    masks.reset()
    assert masks.feeds() is None and not masks.any_ablated


def test_an_ablated_head_changes_logits_and_reset_restores_them_bit_for_bit(bert_runner):
    before = bert_runner.run_text(TEXT)
    masks = HeadMasks(bert_runner.model.meta.stacks)
    masks.toggle("encoder", 0, 1)
    ablated = bert_runner.run_text(TEXT, masks.feeds())
    assert not np.allclose(ablated.logits, before.logits)
    # probabilities are reported before the head mask: layer 0 is unchanged, later layers move
    np.testing.assert_array_equal(ablated.stacks["encoder"].attentions[0], before.stacks["encoder"].attentions[0])
    masks.reset()
    after = bert_runner.run_text(TEXT, masks.feeds())
    np.testing.assert_array_equal(after.logits, before.logits)
    for name, stack in before.stacks.items():
        np.testing.assert_array_equal(after.stacks[name].attentions, stack.attentions)


def test_step_by_step_decoding_equals_decoding_in_one_go(transformer_runner):
    one_go = transformer_runner.run_text(DATE)
    decoder = GreedyDecoder(transformer_runner, DATE)
    assert decoder.current is None and decoder.target == [decoder.bos]
    decoder.next()
    decoder.next()
    decoder.back()
    assert len(decoder.target) == 2 and len(decoder.steps) == 1
    decoder.run_to_end()
    assert decoder.done
    assert tuple(decoder.target) == one_go.token_ids[contract.TGT_IDS]
    assert decoder.text() == transformer_runner.decode(contract.TGT_IDS, one_go.token_ids[contract.TGT_IDS])


def test_each_step_keeps_the_attention_it_chose_its_token_with(transformer_runner):
    one_go = transformer_runner.run_text(DATE)
    decoder = GreedyDecoder(transformer_runner, DATE)
    decoder.run_to_end()
    for step, result in enumerate(decoder.steps):
        assert result.tokens[contract.TGT_IDS] == tuple(one_go.tokens[contract.TGT_IDS][: step + 1])
        for name in ("decoder", "cross"):
            att = result.stacks[name].attentions  # (L, H, step + 1, K)
            assert att.shape[2] == step + 1
            # causal: the last row of a step is the same row of the whole run
            whole = one_go.stacks[name].attentions[:, :, step, : att.shape[-1]]  # the rest is future: 0
            np.testing.assert_allclose(att[:, :, -1], whole, atol=1e-6)
        assert int(result.logits[-1].argmax()) == decoder.target[step + 1]


def test_decoding_follows_hidden_source_keys_and_head_masks(transformer_runner):
    edits = {contract.SRC_IDS: TokenEdits(hidden=frozenset({0, 1}))}
    result = transformer_runner.run_text(DATE, edits=edits)
    for name in ("encoder", "cross"):
        assert np.all(result.stacks[name].attentions[..., [0, 1]] == 0.0)
        assert not result.stacks[name].key_mask[:2].any()
    assert result.stacks["decoder"].key_mask.all()
    masks = HeadMasks(transformer_runner.model.meta.stacks)
    masks.keep_only("cross", 0, 0)
    decoder = GreedyDecoder(transformer_runner, DATE, masks.feeds(), edits)
    decoder.run_to_end()
    assert tuple(decoder.target) == transformer_runner.run_text(DATE, masks.feeds(), edits).token_ids[contract.TGT_IDS]


def test_token_edits_ignore_positions_past_the_end():
    from explorer.core.text import Encoded

    encoded = Encoded((5, 6, 7), ("a", "b", "c"), 3)
    edited, mask = TokenEdits(frozenset({1, 9}), frozenset({2, 8})).apply(encoded, "[MASK]", 4)
    assert edited.ids == (5, 6, 4) and edited.tokens == ("a", "b", "[MASK]")
    np.testing.assert_array_equal(mask, [1, 0, 1])
    with pytest.raises(ValueError):
        TokenEdits(masked=frozenset({0})).apply(encoded, None, None)
