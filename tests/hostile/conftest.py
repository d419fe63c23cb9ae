"""Hostile input: files, texts, images, actions and command lines built to break the app. Every case
asserts the exact outcome: the sentence a person reads, and that what was open is untouched.

`variant` makes a broken copy of a contract model: its metadata JSON edited, its graph edited, or
both. `opened_state` is a state model (no QApplication) with the small BERT open on a sentence."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest

from explorer import contract
from explorer.core.state.app_state import AppState


def variant(source: Path, target: Path, meta: Callable[[dict], object] | None = None,
            graph: Callable[[onnx.ModelProto], None] | None = None, raw_metadata: str | None = None) -> Path:
    """A copy of `source` at `target`: `meta` edits the metadata as a dict (in place, or returns a
    replacement), `raw_metadata` replaces its text outright, `graph` edits the proto in place."""
    proto = onnx.load(str(source))
    entry = next(p for p in proto.metadata_props if p.key == contract.METADATA_KEY)
    if meta is not None:
        data = json.loads(entry.value)
        replaced = meta(data)
        entry.value = json.dumps(data if replaced is None else replaced)
    if raw_metadata is not None:
        entry.value = raw_metadata
    if graph is not None:
        graph(proto)
    onnx.save_model(proto, str(target))
    return target


class Outcome:
    """What a state heard: open failures and run failures, in order."""

    def __init__(self, state: AppState):
        self.open_failures: list[str] = []
        self.run_failures: list[str] = []
        state.open_failed.connect(lambda _path, message: self.open_failures.append(message))
        state.run_failed.connect(self.run_failures.append)


@pytest.fixture
def opened_state(bert_path) -> tuple[AppState, Outcome]:
    state = AppState()
    outcome = Outcome(state)
    assert state.open_now(bert_path, "the cat sat on the mat")
    assert state.shown is not None
    return state, outcome


def assert_untouched(state: AppState, path: Path, shown) -> None:
    """The model that was open is still open, drawn as it was."""
    assert state.model.path == Path(path).resolve()
    assert state.shown is shown and state.runner.model is state.model
