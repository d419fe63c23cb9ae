"""Model files built to break the app: each is refused at open with one sentence naming what is
wrong, and the model that was open stays open, drawn as it was."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from explorer import contract

from .conftest import assert_untouched, variant


def wrap_output(name: str, op: str, constant: np.ndarray | None = None, **attributes):
    """A graph edit: the output `name` passes through one more `op` node (with `constant` as its
    second input) on its way out."""

    def edit(proto: onnx.ModelProto) -> None:
        raw = f"{name}.raw"
        for node in proto.graph.node:
            node.output[:] = [raw if o == name else o for o in node.output]
        inputs = [raw]
        if constant is not None:
            proto.graph.initializer.append(numpy_helper.from_array(constant, f"{name}.constant"))
            inputs.append(f"{name}.constant")
        proto.graph.node.append(helper.make_node(op, inputs, [name], **attributes))

    return edit


def rename(old: str, new: str):
    """A graph edit: an input or output called `new` instead of `old`, everywhere."""

    def edit(proto: onnx.ModelProto) -> None:
        for node in proto.graph.node:
            node.input[:] = [new if i == old else i for i in node.input]
            node.output[:] = [new if o == old else o for o in node.output]
        for value in (*proto.graph.input, *proto.graph.output):
            if value.name == old:
                value.name = new

    return edit


def without_unk(data: dict) -> None:
    tokenizer = json.loads(data["tokenizer"])
    tokenizer["model"]["vocab"].pop("[UNK]")
    tokenizer["model"]["unk_token"] = "[NOWHERE]"
    tokenizer["added_tokens"] = [t for t in tokenizer.get("added_tokens", []) if t["content"] != "[UNK]"]
    data["tokenizer"] = json.dumps(tokenizer)


def setting(path: str, value):
    """A metadata edit: the field at dotted `path` set to `value`."""

    def edit(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


METADATA_CASES = {
    # name: (metadata edit, the sentence's telling part)
    "not-json": ("{oops", "broken Attention Explorer metadata: attention_explorer metadata is not valid JSON"),
    "json-list": ("[1, 2]", "attention_explorer metadata must be a JSON object"),
    "future-contract": (setting("contract", 99), "newer than this app understands"),
    "unknown-kind": (setting("kind", "gpt"), "unknown kind 'gpt'"),
    "zero-heads": (setting("stacks.encoder.heads", 0), "'heads' must be positive, got 0"),
    "zero-d-model": (setting("d_model", 0), "'d_model' must be positive"),
    "layers-the-graph-lacks": (lambda d: d.pop("output_projection") and setting("stacks.encoder.layers", 3)(d),
                               "input 'head_mask.encoder' is [2, 4] in the graph, where the metadata's "
                               "stacks.encoder gives [3, 4] (layers, heads)"),
    "heads-the-graph-lacks": (setting("stacks.encoder.heads", 8), "stacks.encoder gives [2, 8]"),
    "head-dim-the-graph-lacks": (setting("stacks.encoder.head_dim", 9), "output 'queries.encoder' has shape"),
    "d-model-the-graph-lacks": (setting("d_model", 33), "output 'hidden_states.encoder' has shape"),
    "tokenizer-not-json": (setting("tokenizer", "{oops"), "tokenizer: not valid JSON"),
    "tokenizer-not-a-tokenizer": (setting("tokenizer", json.dumps({"model": {"type": "Nonsense"}})),
                                  "the tokenizer in its metadata cannot be read"),
    "tokenizer-without-unk": (without_unk, "its tokenizer for input_ids cannot encode text"),
    "mask-token-missing": (setting("special_tokens.mask", "[NOPE]"),
                           "special_tokens.mask names '[NOPE]', which its tokenizer does not have"),
    "mask-role-missing": (lambda d: d["special_tokens"].pop("mask") and None,
                          "a bert-mlm model needs special_tokens.mask"),
    "negative-max-positions": (setting("max_positions", {"input_ids": -1}), "'max_positions' must map"),
    "stacks-of-another-kind": (setting("kind", "seq2seq"), "queries must name one of ['src_ids', 'tgt_ids']"),
    "output-projection-for-other-layers": (setting("stacks.encoder.layers", 3),
                                           "output_projection.encoder: 'weight' names 2 initializers for 3 layers"),
    "figures-not-a-list": (setting("figures", {"top1": 0.3}), "'figures' must be a list of objects"),
    "figure-without-value": (setting("figures", [{"label": "top-1"}]), "figures[0]: missing required field 'value'"),
    "labels-not-strings": (setting("labels", [1, 2]), "'labels' must be a list of strings"),
    "provenance-not-an-object": (setting("provenance", "trained"), "'provenance' must be an object"),
    "output-projection-short": (setting("output_projection", {"encoder": {"weight": ["w0"]}}), "output_projection"),
    "text-embedding-for-no-input": (setting("text_embedding", {"pixel_values": {"token": "x"}}), "text_embedding"),
}

GRAPH_CASES = {
    "attention-of-rank-4": (wrap_output("attentions.encoder", "Squeeze", np.array([1], np.int64)),
                            "output 'attentions.encoder' has shape (2, 4, 2, 2) on a probe run"),
    "logits-of-rank-2": (wrap_output("logits", "Squeeze", np.array([0], np.int64)),
                         "output 'logits' has shape (2, 160) on a probe run, where the contract and its metadata "
                         "give [1, 2, any]"),
    "attention-of-nan": (wrap_output("attentions.encoder", "Mul", np.array(np.nan, np.float32)),
                         "output 'attentions.encoder' holds NaN or infinite values"),
    "fails-when-run": (wrap_output("attentions.encoder", "Reshape", np.array([5, -1], np.int64)),
                       "a probe run on 2 tokens failed: ONNX Runtime could not run the model"),
    "attention-output-renamed": (rename("attentions.encoder", "attn"),
                                 "does not follow the attention contract: the graph lacks the outputs "
                                 "['attentions.encoder']"),
    "mask-input-renamed": (rename("attention_mask", "mask"), "the graph lacks the inputs ['attention_mask']"),
}


@pytest.mark.parametrize("case", sorted(METADATA_CASES))
def test_broken_metadata_is_refused_and_the_open_model_stays(opened_state, bert_path, tmp_path, case):
    edit, expected = METADATA_CASES[case]
    state, outcome = opened_state
    shown = state.shown
    bad = tmp_path / f"{case}.onnx"
    if isinstance(edit, str):
        variant(bert_path, bad, raw_metadata=edit)
    else:
        variant(bert_path, bad, meta=edit)
    assert not state.open_now(bad)
    (message,) = outcome.open_failures
    assert message.startswith(f"{bad.name}") and expected in message, message
    assert_untouched(state, bert_path, shown)


@pytest.mark.parametrize("case", sorted(GRAPH_CASES))
def test_a_graph_that_breaks_the_contract_is_refused_before_any_view_sees_it(opened_state, bert_path, tmp_path,
                                                                             case):
    edit, expected = GRAPH_CASES[case]
    state, outcome = opened_state
    shown = state.shown
    bad = variant(bert_path, tmp_path / f"{case}.onnx", graph=edit)
    assert not state.open_now(bad)
    (message,) = outcome.open_failures
    assert expected in message, message
    assert_untouched(state, bert_path, shown)


def _external_data_outside(bert_path, tmp_path):
    """A model whose weights are said to lie in a file outside its folder."""
    folder = tmp_path / "model"
    folder.mkdir()
    proto = onnx.load(str(bert_path))
    path = folder / "escapes.onnx"
    onnx.save_model(proto, str(path), save_as_external_data=True, location="weights.bin", size_threshold=0)
    proto = onnx.load(str(path), load_external_data=False)
    (tmp_path / "secret.bin").write_bytes(b"\0" * 4096)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../secret.bin"
    onnx.save_model(proto, str(path))
    return path


def _no_head_mask(proto: onnx.ModelProto) -> None:
    """The head mask a constant of the graph rather than an input (a file that cannot ablate heads)."""
    inputs = [i for i in proto.graph.input if not i.name.startswith("head_mask.")]
    del proto.graph.input[:]
    proto.graph.input.extend(inputs)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _external_data_missing(bert_path, tmp_path):
    path = tmp_path / "split.onnx"
    onnx.save_model(onnx.load(str(bert_path)), str(path), save_as_external_data=True, location="split.bin",
                    size_threshold=0)
    (tmp_path / "split.bin").unlink()
    return path


def _plain_graph(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "plain",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "relu.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


FILE_CASES = {
    # name: (make the file at tmp_path, the sentence's telling part)
    "empty": (lambda b, t: _write(t / "empty.onnx", b""), "is not an ONNX model that ONNX Runtime can read"),
    "cut-short": (lambda b, t: _write(t / "cut.onnx", b.read_bytes()[:5000]), "cut.onnx is not an ONNX model"),
    "random-bytes": (lambda b, t: _write(t / "noise.onnx", np.random.default_rng(0).bytes(20_000)),
                     "noise.onnx is not an ONNX model"),
    "text-file": (lambda b, t: _write(t / "notes.onnx", b"just some notes\n" * 50), "notes.onnx is not an ONNX"),
    "png-renamed": (lambda b, t: _write(t / "picture.onnx", b"\x89PNG\r\n\x1a\n" + bytes(200)), "picture.onnx is not"),
    "folder": (lambda b, t: (t / "folder.onnx").mkdir() or t / "folder.onnx", "is a folder; choose an .onnx file"),
    "missing": (lambda b, t: t / "gone.onnx", "There is no file"),
    "external-data-missing": (_external_data_missing, "is not an ONNX model that ONNX Runtime can read"),
    "external-data-escaping": (_external_data_outside, "is not an ONNX model that ONNX Runtime can read"),
    "plain-graph-without-attention": (lambda b, t: _plain_graph(t), "its attention could not be found on its own"),
    # No head-mask input to give the layers away: the probe run's attention does.
    "layers-the-graph-lacks-without-head-masks": (
        lambda b, t: variant(b, t / "fixed-heads.onnx", graph=_no_head_mask,
                             meta=lambda d: d.pop("output_projection") and setting("stacks.encoder.layers", 3)(d)),
        "output 'attentions.encoder' has shape (2, 1, 4, 2, 2) on a probe run, where the contract and its "
        "metadata give [3, 1, 4, 2, 2]"),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_a_file_that_is_no_model_of_ours_says_what_it_is(opened_state, bert_path, tmp_path, case):
    make, expected = FILE_CASES[case]
    state, outcome = opened_state
    shown = state.shown
    bad = make(bert_path, tmp_path)
    assert not state.open_now(bad)
    (message,) = outcome.open_failures
    assert expected in message, message
    assert "Traceback" not in message and "\n" not in message
    assert_untouched(state, bert_path, shown)


def test_every_case_names_its_file_and_is_one_sentence(opened_state, bert_path, tmp_path):
    """Across the cases above: no message is empty, multi-line, or the bare name of an exception."""
    state, outcome = opened_state
    for case, (edit, _) in sorted(METADATA_CASES.items()):
        bad = tmp_path / f"{case}.onnx"
        variant(bert_path, bad, **({"raw_metadata": edit} if isinstance(edit, str) else {"meta": edit}))
        state.open_now(bad)
    assert len(outcome.open_failures) == len(METADATA_CASES)
    for message in outcome.open_failures:
        assert message.endswith(".") and "\n" not in message and len(message) < 400, message
    assert contract.METADATA_KEY  # the sentences above quote the metadata's own field names
