"""The GPT's training batches at toy size: rows of code, then repeated random tokens, all of them
repeated in the first steps (an induction head forms there), a few afterwards; deterministic."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from export.data.text import Document
from export.layers import sinusoidal_table
from export.models import GPTConfig
from export.train import gpt as gpt_train

CODE = "def add(a, b):\n    return a + b\n\n\nclass Point:\n    x: int = 0\n    y: int = 0\n"
TASK = gpt_train.GPTTask(steps=20, batch_size=8, repeated_rows=2, early_repeated_rows=8, early_steps=5,
                         vocab_size=300, model=GPTConfig(d_model=16, heads=2, layers=2, d_ff=32, max_positions=40))


@pytest.fixture(scope="module")
def data() -> gpt_train.GPTData:
    docs = [Document(f"module{i}.py", CODE.replace("add", f"add{i}") * 3) for i in range(40)]
    return gpt_train.prepare_data(TASK.vocab_size, docs)


def _repeated(batch: dict[str, torch.Tensor], end_id: int) -> int:
    """Rows that are random tokens repeated: they begin with <|endoftext|> and label no first span."""
    return int(((batch["input_ids"][:, 0] == end_id) & (batch["labels"][:, 0] == -100)).sum())


def test_all_rows_repeat_in_the_first_steps_and_a_few_afterwards(data):
    make = gpt_train.batch_maker(data, seed=0, task=TASK, length=40)
    assert [_repeated(make(step), data.end_id) for step in (0, 4, 5, 19)] == [8, 8, 2, 2]
    batch = make(7)
    assert batch["input_ids"].shape == batch["labels"].shape == (8, 40)
    code_rows = batch["labels"][:6]
    assert (code_rows != -100).all(), "every code position predicts its next token"


def test_batches_are_a_function_of_seed_and_step(data):
    a, b = (gpt_train.batch_maker(data, seed=3, task=TASK, length=40) for _ in range(2))
    for step in (0, 6):
        assert all(torch.equal(a(step)[k], b(step)[k]) for k in ("input_ids", "labels"))
    assert not torch.equal(a(6)["input_ids"], gpt_train.batch_maker(data, 4, TASK, 40)(6)["input_ids"])


def test_the_untrained_model_starts_from_sinusoids_and_unit_sized_token_vectors():
    torch.manual_seed(0)
    config = dataclasses.replace(TASK.model, vocab_size=3000, d_model=64)
    model = gpt_train.initial_model(config, TASK)
    assert float(model.embed.weight.detach().std()) == pytest.approx(0.1, rel=0.05)  # GPT's own start is 0.02
    expected = sinusoidal_table(config.max_positions, config.d_model) * TASK.position_start
    torch.testing.assert_close(model.positions.weight.detach(), expected)
