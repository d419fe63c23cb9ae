"""Opening contract files: what a session reports, and one clear error for every broken file."""

from __future__ import annotations

import json

import onnx
import pytest

from explorer import contract
from explorer.core.model import ModelOpenError, count_file_weights, cuda_available, open_model


def _rewrite(source, target, edit) -> None:
    """Copy an ONNX file through `edit(proto)`."""
    proto = onnx.load(str(source))
    edit(proto)
    onnx.save_model(proto, str(target))


def _set_metadata(proto, value: str | None) -> None:
    entries = [(e.key, e.value) for e in proto.metadata_props if e.key != contract.METADATA_KEY]
    del proto.metadata_props[:]
    for key, text in entries + ([(contract.METADATA_KEY, value)] if value is not None else []):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, text


def test_open_reads_metadata_and_the_running_provider(bert_path):
    model = open_model(bert_path)
    assert model.meta.kind == "bert-mlm"
    assert model.providers == model.session.get_providers() == ["CPUExecutionProvider"]
    assert model.path == bert_path.resolve()
    assert set(model.meta.output_names()) <= set(model.output_names)
    assert model.notices == ()


def test_parameters_come_from_the_metadata_when_it_gives_them(bert_path, tmp_path):
    exported = open_model(bert_path)  # our exporter writes PyTorch's exact count
    assert not exported.parameters_counted
    assert exported.parameters == exported.meta.provenance["parameters"] > 0

    meta = json.loads(exported.session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    del meta["provenance"]["parameters"]
    target = tmp_path / "counted.onnx"
    _rewrite(bert_path, target, lambda proto: _set_metadata(proto, json.dumps(meta)))
    counted = open_model(target)
    assert counted.parameters_counted and counted.parameters == count_file_weights(target)


def test_counted_weights_leave_out_graph_input_defaults(bert_path):
    graph = onnx.load(str(bert_path)).graph
    inputs = {i.name for i in graph.input}
    defaults = [init for init in graph.initializer if init.name in inputs and init.data_type == 1]
    assert defaults, "the export gives the head masks default values; this test checks they are not counted"
    everything = sum(onnx.numpy_helper.to_array(init).size for init in graph.initializer if init.data_type == 1)
    assert count_file_weights(bert_path) == everything - sum(onnx.numpy_helper.to_array(d).size for d in defaults)


@pytest.mark.skipif(cuda_available(), reason="this onnxruntime offers CUDA: the fallback is not reachable")
def test_cuda_without_the_provider_runs_on_the_cpu_and_says_so(bert_path):
    model = open_model(bert_path, provider="cuda")
    assert model.providers == ["CPUExecutionProvider"]
    assert model.requested_provider == "cuda"
    assert any("CUDA" in n and "CPU" in n for n in model.notices)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ModelOpenError, match="There is no file"):
        open_model(tmp_path / "nothing.onnx")
    with pytest.raises(ModelOpenError, match="is a folder"):
        open_model(tmp_path)


def test_a_file_that_is_not_onnx(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("these are not the weights you are looking for")
    with pytest.raises(ModelOpenError, match="not an ONNX model that ONNX Runtime can read"):
        open_model(path)


def test_a_plain_onnx_export_without_our_metadata(bert_path, tmp_path):
    path = tmp_path / "plain.onnx"
    _rewrite(bert_path, path, lambda proto: _set_metadata(proto, None))
    with pytest.raises(ModelOpenError, match="not one exported for Attention Explorer") as info:
        open_model(path)
    assert "config.json is missing" in str(info.value)  # what instrumenting it would need
    assert "attention-export" in str(info.value)


@pytest.mark.parametrize(
    ("metadata", "says"),
    [("{not json", "not valid JSON"), (json.dumps({"contract": 1, "kind": "bert-mlm"}), "missing required field")],
)
def test_broken_metadata(bert_path, tmp_path, metadata, says):
    path = tmp_path / "broken.onnx"
    _rewrite(bert_path, path, lambda proto: _set_metadata(proto, metadata))
    with pytest.raises(ModelOpenError, match="broken Attention Explorer metadata") as info:
        open_model(path)
    assert says in str(info.value)


def test_a_graph_without_the_attention_its_metadata_promises(bert_path, tmp_path):
    def drop_attention(proto):
        kept = [o for o in proto.graph.output if o.name != contract.attention_output("encoder")]
        del proto.graph.output[:]
        proto.graph.output.extend(kept)

    path = tmp_path / "no-attention.onnx"
    _rewrite(bert_path, path, drop_attention)
    with pytest.raises(ModelOpenError, match="does not follow the attention contract") as info:
        open_model(path)
    assert "attentions.encoder" in str(info.value)

