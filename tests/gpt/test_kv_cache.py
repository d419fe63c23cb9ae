"""The key-value cache: one token per step gives what the whole sequence gives, in ONNX Runtime,
in PyTorch and in the app's generator."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import contract
from explorer.core.generation import TextGenerator
from explorer.core.model import open_model
from explorer.core.predictions import Sampling
from explorer.core.runner import Runner

PROMPT_LENGTHS = [2, 7, 19]  # past lengths that differ from the export's example (3) and each other


@pytest.fixture(scope="module")
def runner(gpt_path) -> Runner:
    return Runner(open_model(gpt_path))


def _presents(runner: Runner, outputs: dict) -> dict[str, np.ndarray]:
    return runner.model.meta.kv_cache.next_past(outputs)


@pytest.mark.parametrize("prompt_length", PROMPT_LENGTHS)
def test_cached_steps_equal_full_recomputation(runner, prompt_length):
    ids = np.random.default_rng(prompt_length).integers(1, 100, size=(1, prompt_length + 4)).astype(np.int64)
    full = runner.run_graph({"input_ids": ids, "attention_mask": np.ones_like(ids)})
    prompt = ids[:, :prompt_length]
    step = runner.run_graph({"input_ids": prompt, "attention_mask": np.ones_like(prompt)})
    for t in range(prompt_length, ids.shape[1]):
        feeds = {"input_ids": ids[:, t : t + 1], "attention_mask": np.ones((1, t + 1), np.int64),
                 **_presents(runner, step)}
        step = runner.run_graph(feeds)
        attention = step[contract.attention_output("decoder")]  # (L, 1, H, 1, t + 1): the new row only
        assert attention.shape[-2:] == (1, t + 1)
        np.testing.assert_allclose(attention[..., 0, :], full["attentions.decoder"][..., t, : t + 1], atol=1e-5, rtol=0)
        np.testing.assert_allclose(step[contract.LOGITS][0, 0], full[contract.LOGITS][0, t], atol=1e-4, rtol=0)
        for name, present in _presents(runner, step).items():  # the cache is the whole sequence's keys/values
            whole = full[name.replace("past_key_values", "present")]
            np.testing.assert_allclose(present, whole[:, :, : t + 1], atol=1e-5, rtol=0)


def test_a_cached_step_respects_hidden_keys_of_the_prompt(runner):
    ids = np.arange(3, 12, dtype=np.int64)[None, :]
    mask = np.ones_like(ids)
    mask[0, 2] = 0  # a key a person hid
    full = runner.run_graph({"input_ids": ids, "attention_mask": mask})
    prompt = runner.run_graph({"input_ids": ids[:, :-1], "attention_mask": mask[:, :-1]})
    step = runner.run_graph({"input_ids": ids[:, -1:], "attention_mask": mask, **_presents(runner, prompt)})
    row = step["attentions.decoder"][..., 0, :]
    assert np.all(row[..., 2] == 0.0)
    np.testing.assert_allclose(row, full["attentions.decoder"][..., -1, :], atol=1e-5, rtol=0)


@pytest.mark.parametrize("greedy", [True, False])
def test_the_generator_with_the_cache_gives_every_step_as_a_whole_run(runner, greedy):
    generator = TextGenerator(runner, "def f(x):", sampling=Sampling(greedy=greedy, seed=4), max_new_tokens=6)
    assert runner.model.meta.kv_cache is not None
    for _ in range(4):
        generator.next()
    generator.back()  # the cache forgets a token; the next step writes its rows again
    generator.run_to_end()
    assert len(generator.steps) == 6
    for i, step in enumerate(generator.steps):  # earlier steps still hold their own sequence
        ids = generator.target[: len(generator.prompt) + i + 1]
        whole = generator._run(ids)
        assert step.tokens == whole.tokens and step.token_ids == whole.token_ids
        np.testing.assert_allclose(step.stacks["decoder"].attentions, whole.stacks["decoder"].attentions,
                                   atol=1e-5, rtol=0)
        np.testing.assert_allclose(step.logits, whole.logits, atol=1e-4, rtol=0)
        for name in ("queries.decoder", "keys.decoder", "values.decoder", "hidden_states.decoder"):
            np.testing.assert_allclose(step.outputs[name], whole.outputs[name], atol=1e-4, rtol=0, err_msg=name)
        np.testing.assert_array_equal(step.stacks["decoder"].key_mask, whole.stacks["decoder"].key_mask)


def test_going_back_and_on_draws_the_same_tokens(runner):
    sampling = Sampling(greedy=False, temperature=1.5, seed=11)
    straight = TextGenerator(runner, "import os", sampling=sampling, max_new_tokens=5)
    straight.run_to_end()
    wobbly = TextGenerator(runner, "import os", sampling=sampling, max_new_tokens=5)
    for _ in range(3):
        wobbly.next()
    wobbly.back()
    wobbly.back()
    wobbly.run_to_end()
    assert wobbly.generated == straight.generated
    np.testing.assert_array_equal(wobbly.current.stacks["decoder"].attentions,
                                  straight.current.stacks["decoder"].attentions)


def test_next_in_the_app_steps_over_the_cache_from_the_run_on_screen(gpt_path):
    from explorer.core.state.app_state import AppState

    state = AppState()
    assert state.open_now(gpt_path, "def f(x): return x")
    shown = state.run.result
    calls = []
    run_graph = state.runner.run_graph
    state.runner.run_graph = lambda feeds, *args, **kwargs: calls.append(feeds["input_ids"].shape) or run_graph(
        feeds, *args, **kwargs)
    state.step_next()
    state.step_next()
    assert calls == [(1, 1), (1, 1)]  # one new token each, the prompt not run again
    assert state.decoder._prompt_run is shown
    attention = state.shown.stacks["decoder"].attentions
    np.testing.assert_array_equal(attention[:, :, :-2, :-2], shown.stacks["decoder"].attentions)


def test_the_run_on_screen_has_room_and_the_first_step_copies_nothing(gpt_path, runner):
    from explorer.core.generation import MAX_NEW_TOKENS
    from explorer.core.state.app_state import AppState

    state = AppState()
    assert state.open_now(gpt_path, "def f(x): return x")
    shown = state.run.result
    ids = shown.token_ids["input_ids"]
    alone = runner.run_sequences({"input_ids": runner.encode("input_ids", "def f(x): return x")[0]},
                                 {"input_ids": np.ones(len(ids), np.int64)}, None)  # no padding after it
    limit = runner.encoders["input_ids"].max_positions
    assert alone.room is None and shown.room.capacity == min(limit, len(ids) + MAX_NEW_TOKENS) > len(ids)
    for name, value in alone.outputs.items():  # the padding changes no prompt position
        assert shown.outputs[name].shape == value.shape, name
        np.testing.assert_allclose(shown.outputs[name], value, atol=1e-5, rtol=0, err_msg=name)
    state.step_next()
    buffer = state.decoder._cached.buffers["attentions.decoder"].array
    assert buffer is shown.room.arrays["attentions.decoder"] and shown.room.taken  # the run's own array
    whole = state.decoder._run(state.decoder.target)
    for name in ("attentions.decoder", "logits", "hidden_states.decoder", "queries.decoder"):
        np.testing.assert_allclose(state.shown.outputs[name], whole.outputs[name], atol=1e-5, rtol=0, err_msg=name)
    np.testing.assert_allclose(shown.stacks["decoder"].attentions, alone.stacks["decoder"].attentions, atol=1e-5,
                               rtol=0, err_msg="the step wrote past the prompt's view only")

    second = TextGenerator(runner, "def f(x): return x", prompt_run=shown)  # the room is taken: it copies
    second.next()
    assert second._cached.buffers["attentions.decoder"].array is not buffer
    np.testing.assert_allclose(second.current.stacks["decoder"].attentions, whole.stacks["decoder"].attentions,
                               atol=1e-5, rtol=0)


def test_the_room_stops_at_the_models_positions(runner):
    from explorer.core.generation import MAX_NEW_TOKENS

    limit = runner.encoders["input_ids"].max_positions
    encoded, mask = runner.encode("input_ids", "x = 1\n" * 400)  # cut at the model's positions
    result = runner.kind.run_text(runner, "x = 1\n" * 400, None, {})
    assert len(encoded.ids) == limit and result.room is None  # nothing left to generate: no padding
    near = runner.kind.run_text(runner, "x = 1\n" * 5, None, {})
    assert near.room.capacity == min(limit, len(near.token_ids["input_ids"]) + MAX_NEW_TOKENS)
