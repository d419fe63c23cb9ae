"""The app's masks against the PyTorch reference: hidden keys, ablated heads, greedy decoding.

The contract files come from `export.bundle.export_untrained` (seed 0) in a child process; here
`export.bundle.untrained_model` rebuilds the same weights from the same seed and config."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer import contract
from explorer.core.ablation import HeadMasks
from explorer.core.decoding import GreedyDecoder
from explorer.core.masking import TokenEdits
from export.bundle import untrained_model

TEXT = "the cat sat on the mat"
DATES = ["12 may 2021", "1999-01-31", "march 3rd"]


@pytest.fixture(scope="module")
def torch_bert(small_configs):
    return untrained_model("bert", small_configs["bert"])


@pytest.fixture(scope="module")
def torch_transformer(small_configs):
    return untrained_model("transformer", small_configs["transformer"])


def _ids(result, ids_input):
    return torch.tensor([result.token_ids[ids_input]])  # (1, T)


@torch.no_grad()
def test_a_hidden_key_gives_the_attention_pytorch_gives(bert_runner, torch_bert):
    hidden = frozenset({1, 3})
    result = bert_runner.run_text(TEXT, edits={contract.INPUT_IDS: TokenEdits(hidden=hidden)})
    mask = torch.tensor(result.stacks["encoder"].key_mask[None, :].astype(np.int64))  # (1, T)
    reference = torch_bert(_ids(result, contract.INPUT_IDS), mask)
    probs = torch.stack(reference.stacks["encoder"].probs)[:, 0].numpy()  # (L, H, Q, K)
    attentions = result.stacks["encoder"].attentions
    assert np.all(attentions[..., sorted(hidden)] == 0.0) and np.all(probs[..., sorted(hidden)] == 0.0)
    np.testing.assert_allclose(attentions, probs, atol=1e-5, rtol=0)
    np.testing.assert_allclose(result.logits, reference.logits[0].numpy(), atol=1e-4, rtol=0)


@torch.no_grad()
def test_an_ablated_head_changes_logits_as_pytorch_does(bert_runner, torch_bert):
    masks = HeadMasks(bert_runner.model.meta.stacks)
    masks.toggle("encoder", 0, 1)
    masks.keep_only("encoder", 1, 2)
    before = bert_runner.run_text(TEXT)
    ablated = bert_runner.run_text(TEXT, masks.feeds())
    ids = _ids(before, contract.INPUT_IDS)
    reference = torch_bert(ids, torch.ones_like(ids), torch.from_numpy(masks.mask("encoder"))).logits[0].numpy()
    plain = torch_bert(ids, torch.ones_like(ids)).logits[0].numpy()
    np.testing.assert_allclose(ablated.logits, reference, atol=1e-4, rtol=0)
    change = np.abs(ablated.logits - before.logits).max()
    assert change > 1e-2  # the ablation really moved the logits...
    np.testing.assert_allclose(ablated.logits - before.logits, reference - plain, atol=1e-4, rtol=0)  # ...as torch's


@pytest.mark.parametrize("date", DATES)
def test_step_by_step_decoding_equals_pytorch_greedy_decode(transformer_runner, torch_transformer, date):
    decoder = GreedyDecoder(transformer_runner, date)
    decoder.run_to_end()
    src = torch.tensor([decoder.source.ids])  # (1, S)
    expected = torch_transformer.greedy_decode(src, torch.ones_like(src), decoder.bos, decoder.eos, decoder.max_len)
    assert decoder.target == expected[0].tolist()
    assert tuple(decoder.target) == transformer_runner.run_text(date).token_ids[contract.TGT_IDS]
