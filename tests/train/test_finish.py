"""The provenance every training pipeline writes: the shared part's keys, values and order."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from export.train.finish import describe_run
from export.train.loop import TrainConfig, TrainedRun, TrainResult


def _run(steps_this_run: int) -> TrainedRun:
    return TrainedRun(
        name="bert", model=nn.Linear(2, 2), config=TrainConfig(steps=40, lr=5e-4, seed=7),
        checkpoint_dir=Path("work/bert-seed7-steps40"),
        result=TrainResult(steps=steps_this_run, seconds=3.0, final_loss=2.345678), train_seconds=3.14159,
    )


def test_the_run_is_described_between_what_was_trained_and_its_figures():
    provenance = describe_run(
        _run(25), about={"task": "t", "data": "d"}, settings={"batch_size": 8, "lr": 5e-4},
        measured_in_torch={"top1_torch": 0.5},
    )
    assert list(provenance.items()) == [
        ("source", "trained by attention-export train bert"),
        ("task", "t"), ("data", "d"),
        ("seed", 7), ("steps", 40), ("steps_this_run", 25),
        ("batch_size", 8), ("lr", 5e-4),
        ("train_seconds", 3.1), ("threads", torch.get_num_threads()), ("final_loss", 2.3457),
        ("top1_torch", 0.5),
    ]


def test_only_a_pipeline_that_asks_names_the_machine():
    plain = describe_run(_run(0), {}, {}, {})
    named = describe_run(_run(0), {}, {}, {}, name_machine=True)
    assert "machine" not in plain
    assert list(named) == [*list(plain)[:-1], "machine", "final_loss"]  # right after threads
    assert "CPU cores" in named["machine"]

