"""Generating step by step with an imported GPT-2 (random weights): greedy generation equals
transformers' own greedy `generate` on the same checkpoint; a seed gives the same text; each step's
last row is the newest token's attention; Next / Back / Run to end in the window."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer import contract
from explorer.core.generation import TextGenerator
from explorer.core.predictions import Sampling
from explorer.core.state.app_state import AppState

from .conftest import reference_model

PROMPT = "the cat sat on the mat and"


def opened(imports) -> AppState:
    state = AppState()
    assert state.open_now(imports("gpt2").path, PROMPT)
    return state


def test_greedy_generation_is_transformers_greedy_decode(imports):
    state = opened(imports)
    generator = TextGenerator(state.runner, PROMPT, max_new_tokens=8)
    generator.run_to_end()
    hf = reference_model(imports("gpt2").folder, "gpt2")
    prompt = torch.tensor([generator.prompt])
    with torch.no_grad():
        expected = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=len(generator.generated),
                               do_sample=False, pad_token_id=0)[0].tolist()
    assert generator.target == expected
    assert len(generator.steps) == len(generator.generated) >= 1


def test_each_step_shows_the_newest_tokens_attention_over_all_before_it(imports):
    state = opened(imports)
    generator = TextGenerator(state.runner, PROMPT, max_new_tokens=3)
    for _ in range(3):
        result = generator.next()
        count = len(generator.target)
        assert result.token_ids[contract.INPUT_IDS] == tuple(generator.target)
        attention = result.stacks["decoder"].attentions  # (L, H, T, T)
        assert attention.shape[-2:] == (count, count)
        np.testing.assert_allclose(attention[..., -1, :].sum(-1), 1, atol=1e-5)


def test_a_seed_gives_the_same_text_and_back_then_next_draws_it_again(imports):
    state = opened(imports)
    sampled = Sampling(temperature=1.5, greedy=False, seed=7)
    first = TextGenerator(state.runner, PROMPT, sampling=sampled, max_new_tokens=10)
    first.run_to_end()
    again = TextGenerator(state.runner, PROMPT, sampling=sampled, max_new_tokens=10)
    again.run_to_end()
    assert again.generated == first.generated
    other = TextGenerator(state.runner, PROMPT, sampling=Sampling(1.5, greedy=False, seed=8), max_new_tokens=10)
    other.run_to_end()
    assert other.generated != first.generated  # a flat random model: another seed, another text
    tokens = list(first.generated)
    first.back()
    first.back()
    first.next()
    first.next()
    assert first.generated == tokens


def test_generation_stops_at_the_models_positions(imports):
    state = opened(imports)
    generator = TextGenerator(state.runner, PROMPT, max_new_tokens=1000)
    generator.run_to_end()
    assert generator.done and (len(generator.target) == generator.encoder.max_positions
                               or generator.generated[-1] == generator.eos)


def test_the_window_generates_three_steps_goes_back_one_and_runs_to_the_end(window, imports):
    assert window.open_path(imports("gpt2").path, PROMPT)
    window.workspace.run_now()
    panel, state = window.workspace.decoder_panel, window.state
    assert panel.isVisibleTo(window) and "Generate" in panel.title.text()
    prompt = len(state.shown.tokens[contract.INPUT_IDS])
    for _ in range(3):
        panel.next_button.click()
    assert len(state.decoder.generated) == 3
    assert len(window.workspace.selection.stacks["decoder"].query_tokens) == prompt + 3  # what the views hold
    strip = window.workspace.strips[contract.INPUT_IDS]
    tinted = ["generated" in strip.looks(i) for i in range(prompt + 3)]
    assert tinted == [False] * prompt + [True] * 3  # the token strip marks prompt and generated apart
    panel.back_button.click()
    assert len(state.decoder.generated) == 2 and len(state.shown.tokens[contract.INPUT_IDS]) == prompt + 2
    assert "step 2:" in panel.output.text()
    panel.end_button.click()
    assert state.decoder.done
    assert window.workspace.selection.stacks["decoder"].attentions.shape[-1] == len(state.decoder.target)
    assert state.output() == (("Generated", state.decoder.text()),)
    # Sampling settings changed: generation starts again from the prompt.
    window.workspace.next_tokens.sample.setChecked(True)
    assert state.decoder is None and len(state.shown.tokens[contract.INPUT_IDS]) == prompt


@pytest.mark.parametrize("prompt_length", [2, 5, 13])
def test_cached_steps_equal_full_recomputation_and_transformers_cache(imports, prompt_length):
    """The imported file's cache: each step feeds one token and the presents of the step before."""
    state = opened(imports)
    runner, cache = state.runner, state.model.meta.kv_cache
    assert cache is not None and generation_uses_cache(state)
    ids = np.random.default_rng(prompt_length).integers(1, 90, size=(1, prompt_length + 3)).astype(np.int64)
    full = runner.run_graph({"input_ids": ids, "attention_mask": np.ones_like(ids)})
    step = runner.run_graph({"input_ids": ids[:, :prompt_length], "attention_mask": np.ones((1, prompt_length),
                                                                                           np.int64)})
    hf = reference_model(imports("gpt2").folder, "gpt2")
    with torch.no_grad():
        hf_step = hf(torch.from_numpy(ids[:, :prompt_length]), use_cache=True)
    for t in range(prompt_length, ids.shape[1]):
        past = cache.next_past(step)
        step = runner.run_graph({"input_ids": ids[:, t : t + 1], "attention_mask": np.ones((1, t + 1), np.int64),
                                 **past})
        row = step[contract.attention_output("decoder")][..., 0, :]  # (L, 1, H, t + 1)
        np.testing.assert_allclose(row, full["attentions.decoder"][..., t, : t + 1], atol=1e-5, rtol=0)
        np.testing.assert_allclose(step[contract.LOGITS][0, 0], full[contract.LOGITS][0, t], atol=1e-4, rtol=0)
        with torch.no_grad():
            hf_step = hf(torch.from_numpy(ids[:, t : t + 1]), cache=hf_step.cache,
                         use_cache=True, output_attentions=True)
        np.testing.assert_allclose(step[contract.LOGITS], hf_step.logits.numpy(), atol=1e-4, rtol=0)
        np.testing.assert_allclose(row, torch.stack(hf_step.attentions)[..., 0, :].numpy(), atol=1e-5, rtol=0)


def generation_uses_cache(state: AppState) -> bool:
    generator = TextGenerator(state.runner, PROMPT, max_new_tokens=2)
    generator.run_to_end()
    return generator._cached is not None
