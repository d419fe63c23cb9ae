"""The GPT in PyTorch: its cache gives what the whole sequence gives, and the app's greedy
generation from the exported file is PyTorch's, token for token."""

from __future__ import annotations

import pytest
import torch

from explorer.core.generation import TextGenerator
from explorer.core.model import open_model
from explorer.core.runner import Runner
from export.bundle import model_from_onnx
from export.layers import causal_mask


def test_the_causal_mask_puts_new_queries_after_the_cached_keys():
    assert causal_mask(3, 3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    # two cached keys, then two new queries: each sees the past and itself
    assert causal_mask(2, 4).tolist() == [[True, True, True, False], [True, True, True, True]]


@pytest.mark.parametrize("past_length", [1, 5])
def test_a_step_with_past_equals_the_whole_sequence_in_pytorch(gpt_path, past_length):
    model = model_from_onnx(gpt_path).eval()
    ids = torch.randint(1, 100, (2, past_length + 3), generator=torch.Generator().manual_seed(past_length))
    with torch.no_grad():
        whole = model(ids)
        before = model(ids[:, :past_length]).stacks["decoder"]
        past = list(zip(before.keys, before.values, strict=True))
        step = model(ids[:, past_length:], None, None, past)
    torch.testing.assert_close(step.logits, whole.logits[:, past_length:], atol=1e-5, rtol=0)
    for new, full in zip(step.stacks["decoder"].probs, whole.stacks["decoder"].probs, strict=True):
        torch.testing.assert_close(new, full[:, :, past_length:], atol=1e-6, rtol=0)


@pytest.mark.parametrize("prompt", ["def area(radius):", "x"])
def test_greedy_generation_equals_pytorch(gpt_path, prompt):
    runner = Runner(open_model(gpt_path))
    generator = TextGenerator(runner, prompt, max_new_tokens=10)
    generator.run_to_end()
    model = model_from_onnx(gpt_path).eval()
    eos = runner.encoders["input_ids"].token_to_id(runner.model.meta.special_tokens["eos"])
    expected = model.greedy_generate(torch.tensor([generator.prompt]), 10, eos_id=eos)
    assert generator.target == expected[0].tolist()
    assert len(generator.generated) == 10 or generator.generated[-1] == eos
