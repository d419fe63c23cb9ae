"""Plain ONNX exports (no attention outputs, no metadata): found, exposed, and equal to the reference."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

from explorer import contract
from explorer.shared.instrument import InstrumentError, instrument
from export.cli import main

from .conftest import image_batch, reference_model, text_batch


class PositionalInputs(nn.Module):
    """Calls a Hugging Face model with keyword inputs and returns only its logits, as plain exports do."""

    def __init__(self, model: nn.Module, names: list[str]):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs, strict=True))).logits


def plain_export(checkpoints: dict, name: str, folder: Path, inputs: dict[str, torch.Tensor]) -> Path:
    """The checkpoint's model exported with torch.onnx's TorchScript exporter into a copy of its folder,
    beside config.json and tokenizer.json, the way Hugging Face exports lie."""
    shutil.copytree(checkpoints[name], folder)
    model = PositionalInputs(reference_model(folder, name), list(inputs))
    path = folder / "model.onnx"
    axes = {n: {0: "batch"} if n == contract.PIXEL_VALUES else {0: "batch", 1: "sequence"} for n in inputs}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(inputs.values()), str(path), dynamo=False, input_names=list(inputs),
                          output_names=[contract.LOGITS], dynamic_axes=axes, opset_version=17)
    return path


@pytest.fixture(scope="module")
def plain_bert(checkpoints, tmp_path_factory) -> Path:
    """input_ids, attention_mask and token_type_ids in, logits out: what Hugging Face's exports take."""
    ids = torch.randint(1, 40, (2, 6))
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    return plain_export(checkpoints, "bert", tmp_path_factory.mktemp("plain") / "bert", inputs)


def session_for(proto: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def run(session: ort.InferenceSession, feeds: dict) -> dict[str, np.ndarray]:
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds), strict=True))


def text_reference(folder: Path, name: str, ids: np.ndarray, mask: np.ndarray):
    with torch.no_grad():
        ref = reference_model(folder, name)(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                                            output_attentions=True)
    return ref.logits.numpy(), torch.stack(ref.attentions).numpy()  # attentions (L, B, H, T, T)


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("length", [5, 11])
def test_plain_bert_attentions_equal_transformers_eager(plain_bert, batch, length):
    proto, meta = instrument(plain_bert)
    assert meta.kind == "bert-mlm"
    assert meta.stacks["encoder"] == contract.StackSpec(2, 4, 8, contract.INPUT_IDS, contract.INPUT_IDS)
    session = session_for(proto)
    assert [i.name for i in session.get_inputs()] == [contract.INPUT_IDS, contract.ATTENTION_MASK]
    ids, mask = text_batch(40, batch, length, seed=length)
    out = run(session, {contract.INPUT_IDS: ids, contract.ATTENTION_MASK: mask})
    ref_logits, ref_attentions = text_reference(plain_bert.parent, "bert", ids, mask)
    np.testing.assert_allclose(out["attentions.encoder"], ref_attentions, atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.LOGITS], ref_logits, atol=1e-3, rtol=0)


def test_a_model_in_memory_with_its_folder(plain_bert):
    proto = onnx.load(str(plain_bert))
    same, meta = instrument(proto, plain_bert.parent)
    assert same is proto  # changed in place: no second copy of the weights
    assert "attentions.encoder" in [o.name for o in proto.graph.output]
    assert meta.name == plain_bert.parent.name  # no file name to go by: the folder's


@pytest.mark.parametrize("imported", ["bert"], indirect=True)
def test_instrumented_metadata_matches_the_hf_import(plain_bert, imported):
    """Both ways read the same folder with the same readers."""
    _, meta = instrument(plain_bert)
    assert meta.stacks == imported.metadata.stacks
    for field in ("kind", "d_model", "tokenizer", "special_tokens", "max_positions"):
        assert getattr(meta, field) == getattr(imported.metadata, field), field
    assert meta.embedding in {t.name for t in onnx.load(str(plain_bert)).graph.initializer}


def test_cli_writes_a_contract_file_the_app_opens(plain_bert, tmp_path, capsys):
    from explorer.core.model import open_model
    from explorer.core.runner import Runner

    out = tmp_path / "instrumented.onnx"
    assert main(["instrument", str(plain_bert), "--out", str(out)]) == 0
    assert "bert-mlm with 2 layers of 4 heads" in capsys.readouterr().out
    loaded = open_model(out)
    result = Runner(loaded).run_text("the cat sat on the mat")
    ids = np.asarray([result.token_ids[contract.INPUT_IDS]], np.int64)
    _, ref_attentions = text_reference(plain_bert.parent, "bert", ids, np.ones_like(ids))
    np.testing.assert_allclose(result.stacks["encoder"].attentions, ref_attentions[:, 0], atol=1e-4, rtol=0)


def test_plain_gpt2_is_a_causal_decoder(checkpoints, tmp_path):
    """Exported with the position_ids input Hugging Face's text-generation exports take."""
    ids = torch.randint(1, 200, (2, 6))
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "position_ids": torch.arange(6).expand(2, 6)}
    path = plain_export(checkpoints, "gpt2", tmp_path / "gpt2", inputs)
    proto, meta = instrument(path)
    assert meta.kind == "decoder-lm" and meta.stacks["decoder"].causal
    assert "position_ids" not in [i.name for i in proto.graph.input]  # computed inside: 0, 1, 2, ...
    ids, mask = text_batch(200, 2, 9, seed=1)
    out = run(session_for(proto), {contract.INPUT_IDS: ids, contract.ATTENTION_MASK: mask})
    ref_logits, ref_attentions = text_reference(path.parent, "gpt2", ids, mask)
    np.testing.assert_allclose(out["attentions.decoder"], ref_attentions, atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.LOGITS], ref_logits, atol=1e-3, rtol=0)


def test_plain_vit_gets_the_contract_patch_mask(checkpoints, tmp_path):
    path = plain_export(checkpoints, "vit", tmp_path / "vit", {"pixel_values": torch.randn(2, 3, 16, 16)})
    proto, meta = instrument(path)
    assert meta.kind == "vit-classifier" and meta.labels == ("cat", "dog", "bird")
    assert meta.provenance["ignored_inputs"] == [contract.PATCH_MASK]  # the export has no mask to feed it to
    pixels, _ = image_batch(3, seed=2)
    out = run(session_for(proto), {contract.PIXEL_VALUES: pixels, contract.PATCH_MASK: np.ones((3, 17), np.int64)})
    with torch.no_grad():
        ref = reference_model(path.parent, "vit")(pixel_values=torch.from_numpy(pixels), output_attentions=True)
    np.testing.assert_allclose(out["attentions.encoder"], torch.stack(ref.attentions).numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.LOGITS], ref.logits.numpy(), atol=1e-3, rtol=0)


# -- files that cannot be instrumented: a message, never a crash -------------------------------


def small_graph(folder: Path, nodes, inputs, outputs, initializers=(), domains=()) -> Path:
    """A hand-built model in `folder`, with a config.json beside it that says 1 layer of 2 heads."""
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(
        {"model_type": "bert", "num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 4, "vocab_size": 10}
    ))
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    opsets = [helper.make_opsetid("", 17), *(helper.make_opsetid(d, 1) for d in domains)]
    path = folder / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))
    return path


IDS = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])
EMBEDDING = helper.make_tensor("embed", TensorProto.FLOAT, [10, 4], np.zeros(40, np.float32))


def out(name: str, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_a_graph_without_softmax_says_so(tmp_path):
    nodes = [helper.make_node("Gather", ["embed", "input_ids"], ["h"]), helper.make_node("Relu", ["h"], ["logits"])]
    path = small_graph(tmp_path / "mlp", nodes, [IDS], [out("logits", ["batch", "seq", 4])], [EMBEDDING])
    with pytest.raises(InstrumentError, match="found no Softmax over keys"):
        instrument(path)


def test_a_softmax_that_is_not_attention_is_named_with_its_shape(tmp_path):
    nodes = [helper.make_node("Gather", ["embed", "input_ids"], ["h"]),
             helper.make_node("Softmax", ["h"], ["logits"], axis=-1)]
    path = small_graph(tmp_path / "classifier", nodes, [IDS], [out("logits", ["batch", "seq", 4])], [EMBEDDING])
    with pytest.raises(InstrumentError, match=r"found no Softmax.*\[batch, seq, 4\] over axis -1"):
        instrument(path)


def test_fused_attention_is_named(tmp_path):
    weights = helper.make_tensor("w", TensorProto.FLOAT, [4, 12], np.zeros(48, np.float32))
    nodes = [helper.make_node("Gather", ["embed", "input_ids"], ["h"]),
             helper.make_node("Attention", ["h", "w"], ["logits"], domain="com.microsoft", num_heads=2)]
    path = small_graph(tmp_path / "fused", nodes, [IDS], [out("logits", ["batch", "seq", 4])], [EMBEDDING, weights],
                       domains=["com.microsoft"])
    with pytest.raises(InstrumentError, match=r"fused into com\.microsoft\.Attention"):
        instrument(path)


def test_inputs_the_app_cannot_feed_are_named(tmp_path):
    past = helper.make_tensor_value_info("past_key_values.0.key", TensorProto.FLOAT, ["batch", 2, "past", 2])
    nodes = [helper.make_node("Gather", ["embed", "input_ids"], ["logits"])]
    path = small_graph(tmp_path / "cache", nodes, [IDS, past], [out("logits", ["batch", "seq", 4])], [EMBEDDING])
    with pytest.raises(InstrumentError, match=r"cannot feed: \['past_key_values.0.key'\]"):
        instrument(path)


def test_layers_must_agree_with_config(tmp_path):
    shape = helper.make_tensor("shape", TensorProto.INT64, [4], [1, 2, -1, 1])
    nodes = [helper.make_node("Cast", ["input_ids"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Reshape", ["f", "shape"], ["scores"]),  # (1, 2, seq / 2, 1)
             helper.make_node("Softmax", ["scores"], ["p0"], axis=-1), helper.make_node("Softmax", ["p0"], ["p1"]),
             helper.make_node("Gather", ["embed", "input_ids"], ["logits"])]
    path = small_graph(tmp_path / "two", nodes, [IDS], [out("logits", None)], [EMBEDDING, shape])
    with pytest.raises(InstrumentError, match="found 2 Softmax nodes .* says the model has 1 layers"):
        instrument(path)


def test_missing_files_beside_the_model_are_named(plain_bert, tmp_path):
    folder = tmp_path / "lonely"
    folder.mkdir()
    shutil.copy(plain_bert, folder / "model.onnx")
    with pytest.raises(InstrumentError, match=r"lonely/config\.json is missing"):
        instrument(folder / "model.onnx")
    shutil.copy(plain_bert.parent / "config.json", folder)
    with pytest.raises(InstrumentError, match=r"lonely/tokenizer\.json is missing"):
        instrument(folder / "model.onnx")


def test_cli_gives_the_message_and_exit_code_2(tmp_path, capsys):
    nodes = [helper.make_node("Gather", ["embed", "input_ids"], ["logits"])]
    path = small_graph(tmp_path / "plain", nodes, [IDS], [out("logits", ["batch", "seq", 4])], [EMBEDDING])
    assert main(["instrument", str(path), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "found no Softmax" in capsys.readouterr().err
    assert main(["instrument", str(tmp_path / "nowhere.onnx"), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "nowhere.onnx" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


# -- the app opening plain files itself (explorer/core/model.py calls instrument) ----------------


def test_the_app_opens_a_plain_export_and_finds_its_attention(plain_bert):
    from explorer.core.model import open_model
    from explorer.core.runner import Runner

    loaded = open_model(plain_bert)
    assert loaded.meta.kind == "bert-mlm"
    result = Runner(loaded).run_text("the cat sat on the mat")
    ids = np.asarray([result.token_ids[contract.INPUT_IDS]], np.int64)
    _, ref_attentions = text_reference(plain_bert.parent, "bert", ids, np.ones_like(ids))
    np.testing.assert_allclose(result.stacks["encoder"].attentions, ref_attentions[:, 0], atol=1e-4, rtol=0)


def test_the_app_says_what_a_plain_export_lacks(tmp_path):
    from explorer.core.model import ModelOpenError, open_model

    nodes = [helper.make_node("Gather", ["embed", "input_ids"], ["logits"])]
    path = small_graph(tmp_path / "plain", nodes, [IDS], [out("logits", ["batch", "seq", 4])], [EMBEDDING])
    with pytest.raises(ModelOpenError, match="found no Softmax"):
        open_model(path)
