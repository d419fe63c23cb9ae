"""The state model on its own, with no QApplication: open a model, type, toggle tokens and heads, step
a decode, open an image, hide patches; every result checked against a direct ONNX Runtime run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import onnxruntime as ort
import pytest

from explorer import contract
from explorer.core.kinds import KINDS, kind_of
from explorer.core.predictions import softmax
from explorer.core.state.app_state import AppState
from explorer.core.state.runs import Picture
from explorer.shared import images


class Recorder:
    """Every event of a state, in order: (name, args)."""

    def __init__(self, state: AppState):
        self.events: list[tuple[str, tuple]] = []
        for name in ("model_changed", "open_failed", "run_changed", "shown_changed", "run_failed", "decoding_changed"):
            getattr(state, name).connect(lambda *args, name=name: self.events.append((name, args)))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


def ort_run(path, feeds: dict, head_masks: dict | None = None) -> dict[str, np.ndarray]:
    """A session of our own; head masks default to ones as the contract says."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = dict(feeds)
    for spec in session.get_overridable_initializers():  # the long-input defaults stay the file's own
        if spec.name.startswith("head_mask."):
            feeds[spec.name] = (head_masks or {}).get(spec.name.removeprefix("head_mask."),
                                                      np.ones(spec.shape, np.float32))
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds), strict=True))


def text_feeds(ids, mask=None) -> dict[str, np.ndarray]:
    ids = np.asarray(ids, np.int64)[None]  # (1, T)
    return {contract.INPUT_IDS: ids, contract.ATTENTION_MASK: np.ones_like(ids) if mask is None else mask[None]}


@pytest.fixture
def bert_state(bert_path) -> tuple[AppState, Recorder]:
    state = AppState()
    recorder = Recorder(state)
    assert state.open_now(bert_path, "the cat sat on the mat")
    return state, recorder


def test_kinds_are_described_once_for_every_contract_kind():
    assert set(KINDS) == set(contract.KINDS)
    assert [k for k in contract.KINDS if kind_of(k).takes_images] == ["vit-classifier"]
    assert [k for k in contract.KINDS if kind_of(k).takes_audio] == ["speech-seq2seq"]
    assert [k for k in contract.KINDS if kind_of(k).steps] == ["decoder-lm", "seq2seq", "speech-seq2seq"]


def test_opening_runs_the_text_and_draws_what_onnx_runtime_returns(bert_state, bert_path):
    state, recorder = bert_state
    assert recorder.names() == ["model_changed", "run_changed", "shown_changed"]
    result = state.shown
    assert state.run.result is result and not state.run.altered
    expected = ort_run(bert_path, text_feeds(result.token_ids[contract.INPUT_IDS]))
    np.testing.assert_array_equal(result.stacks["encoder"].attentions, expected["attentions.encoder"][:, 0])
    assert state.selection.stack is result.stacks["encoder"]  # the views' data


def test_new_text_runs_again_and_edits_belong_to_their_text(bert_state, bert_path):
    state, _ = bert_state
    state.toggle_hidden(contract.INPUT_IDS, 1)
    assert state.edits
    state.set_text("a dog")
    assert state.edits == {}  # positions of another text
    state.request_run()
    ids = state.shown.token_ids[contract.INPUT_IDS]
    assert state.shown.tokens[contract.INPUT_IDS] == state.runner.encoders[contract.INPUT_IDS].encode("a dog").tokens
    expected = ort_run(bert_path, text_feeds(ids))
    np.testing.assert_array_equal(state.shown.logits, expected["logits"][0])


def test_a_hidden_token_is_a_masked_key_as_onnx_runtime_computes_it(bert_state, bert_path):
    state, _ = bert_state
    state.toggle_hidden(contract.INPUT_IDS, 2)
    stack = state.shown.stacks["encoder"]
    mask = np.ones(len(stack.key_tokens), np.int64)
    mask[2] = 0
    expected = ort_run(bert_path, text_feeds(state.shown.token_ids[contract.INPUT_IDS], mask))
    np.testing.assert_array_equal(stack.attentions, expected["attentions.encoder"][:, 0])
    assert np.all(stack.attentions[..., 2] == 0.0) and not stack.key_mask[2]


def test_a_masked_token_gives_the_softmax_top_five_at_its_position(bert_state, bert_path):
    state, _ = bert_state
    state.toggle_masked(contract.INPUT_IDS, 3)
    mask_token, mask_id = state.runner.mask_token()
    ids = state.shown.token_ids[contract.INPUT_IDS]
    assert ids[3] == mask_id and state.shown.tokens[contract.INPUT_IDS][3] == mask_token
    logits = ort_run(bert_path, text_feeds(ids))["logits"][0, 3]  # (vocab,)
    (prediction,) = state.run.outcome.predictions
    order = np.argsort(-logits, kind="stable")[:5]
    assert prediction.position == 3 and prediction.ids == tuple(int(i) for i in order)
    np.testing.assert_allclose(prediction.probabilities, softmax(logits)[order], rtol=1e-6)
    assert state.run.outcome.baseline_predictions == ()  # every head kept: nothing to compare with


def test_an_ablated_head_runs_with_its_head_mask_beside_the_baseline(bert_state, bert_path):
    state, recorder = bert_state
    state.toggle_masked(contract.INPUT_IDS, 3)
    before = state.run
    state.selection.toggle_head(1, 2)  # what Ctrl-click in the model view does
    run = state.run
    assert run is not before and run.altered and run.inputs.head_masks["encoder"][1, 2] == 0
    head_mask = np.ones((2, 4), np.float32)
    head_mask[1, 2] = 0
    expected = ort_run(bert_path, text_feeds(run.result.token_ids[contract.INPUT_IDS]), {"encoder": head_mask})
    np.testing.assert_array_equal(run.result.logits, expected["logits"][0])
    np.testing.assert_array_equal(run.baseline.logits, before.result.logits)  # "before": every head kept
    assert run.outcome.baseline_predictions == before.outcome.predictions
    state.selection.reset_heads()
    np.testing.assert_array_equal(state.shown.logits, before.result.logits)
    assert not state.run.altered


def test_stepping_a_decode_shows_each_steps_attention(transformer_path):
    state = AppState()
    recorder = Recorder(state)
    assert state.open_now(transformer_path, "12 may 2021")
    whole = state.shown
    target = whole.token_ids[contract.TGT_IDS]
    state.step_next()
    state.step_next()
    assert state.shown.tokens[contract.TGT_IDS] == whole.tokens[contract.TGT_IDS][:2]
    source = whole.token_ids[contract.SRC_IDS]
    feeds = {contract.SRC_IDS: np.asarray(source)[None], contract.SRC_MASK: np.ones((1, len(source)), np.int64),
             contract.TGT_IDS: np.asarray(target[:2])[None], contract.TGT_MASK: np.ones((1, 2), np.int64)}
    expected = ort_run(transformer_path, feeds)
    np.testing.assert_array_equal(state.shown.stacks["cross"].attentions, expected["attentions.cross"][:, 0])
    assert state.output() == (("Output so far", state.runner.decode(contract.TGT_IDS, tuple(target[:3]))),)
    state.step_back()
    assert len(state.shown.stacks["cross"].query_tokens) == 1
    state.step_to_end()
    assert tuple(state.decoder.target) == target and recorder.names().count("decoding_changed") == 4
    state.set_text("1 jan 1999")
    state.request_run()
    assert state.decoder is None and state.output()[0][0] == "Output"  # a new input: no step taken


def test_an_image_runs_on_its_pixel_values_and_hidden_patches_are_masked_keys(vit_path):
    state = AppState()
    assert state.open_now(vit_path)
    assert state.shown is None  # an image model waits for a picture
    spec = state.model.meta.image
    rng = np.random.default_rng(3)
    picture = Picture("noise", rng.integers(0, 256, (40, 30, 3), dtype=np.uint8))
    state.set_picture(picture)
    run = state.run
    pixel_values = images.preprocess(picture.pixels, spec)
    np.testing.assert_array_equal(run.pixel_values, pixel_values)
    plain = ort_run(vit_path, {contract.PIXEL_VALUES: pixel_values,
                               contract.PATCH_MASK: np.ones((1, 1 + spec.num_patches), np.int64)})
    np.testing.assert_array_equal(run.result.stacks["encoder"].attentions, plain["attentions.encoder"][:, 0])
    assert run.outcome.classes == tuple(images.top_classes(plain["logits"][0], state.model.meta.labels))
    assert run.outcome.output[0] == ("Image", "noise")

    state.set_hidden(frozenset({0, 5}))
    hidden = state.run
    mask = images.patch_mask({0, 5}, spec)
    expected = ort_run(vit_path, {contract.PIXEL_VALUES: pixel_values, contract.PATCH_MASK: mask})
    attentions = hidden.result.stacks["encoder"].attentions
    np.testing.assert_array_equal(attentions, expected["attentions.encoder"][:, 0])
    assert np.all(attentions[..., [1, 6]] == 0.0)
    assert hidden.altered and hidden.baseline is run.result  # the run without them, not run again
    assert hidden.pixel_values is run.pixel_values  # the picture is prepared once
    assert hidden.outcome.baseline_classes == run.outcome.classes


def test_a_file_that_fails_to_open_leaves_the_open_model(bert_state, tmp_path):
    state, recorder = bert_state
    model, shown = state.model, state.shown
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    assert not state.open_now(broken)
    (name, (path, message)), = recorder.events[-1:]
    assert name == "open_failed" and path == broken and "broken.onnx" in message
    assert state.model is model and state.shown is shown


def test_an_empty_text_is_a_failed_run_a_person_can_read(bert_state):
    state, recorder = bert_state
    state.set_text("   ")
    state.request_run()
    name, (message,) = recorder.events[-1]
    assert name == "run_failed" and "The text is empty" in message
    assert state.shown is None and state.selection.stack is None


def test_the_state_model_imports_no_qt(bert_path):
    script = textwrap.dedent(f"""
        import sys
        from explorer.core.state.app_state import AppState
        state = AppState()
        assert state.open_now({str(bert_path)!r}, "apple orange")
        state.toggle_hidden("input_ids", 1)
        assert state.shown is not None
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6", "torch")))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
