"""Float16 weight storage (export/half.py): half the bytes, float32 inputs, outputs and arithmetic,
the metadata's initializers where it says, and the numbers of the model with its weights rounded."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from explorer import contract
from explorer.core import anatomy
from export.bundle import model_from_onnx
from export.half import store_float16

from .conftest import feeds_for, torch_outputs


@pytest.fixture(scope="module")
def halved(exported, tmp_path_factory):
    """`exported`'s file stored in float16, with the PyTorch model its weights rounded to float16."""
    path = tmp_path_factory.mktemp("half") / exported.path.name
    shutil.copy(exported.path, path)
    names = store_float16(path)
    rounded = model_from_onnx(exported.path)
    with torch.no_grad():
        for name, tensor in [*rounded.named_parameters(), *rounded.named_buffers()]:
            if f"model.{name}" in names:
                tensor.copy_(tensor.half().float())
    return path, names, rounded


def test_large_weights_are_stored_in_float16_under_their_names(exported, halved):
    path, names, _ = halved
    before = {t.name: t for t in onnx.load(str(exported.path)).graph.initializer}
    after = {t.name: t for t in onnx.load(str(path)).graph.initializer}
    assert after.keys() == before.keys() and names
    head_masks = {contract.head_mask_input(stack) for stack in exported.metadata.stacks}
    for name, init in after.items():
        large = np.prod(init.dims) >= 1024 and name not in head_masks
        assert (name in names) == large, name
        assert init.data_type == (onnx.TensorProto.FLOAT16 if large else before[name].data_type), name
    saved = exported.path.stat().st_size - path.stat().st_size
    assert saved >= 1.9 * sum(np.prod(after[name].dims) for name in names)  # two bytes an element
    meta = contract.parse_metadata(ort.InferenceSession(str(path)).get_modelmeta().custom_metadata_map[
        contract.METADATA_KEY])
    contract.check_initializers(meta, after.keys())
    assert set(meta.named_initializers().values()) & set(names)  # the anatomy's weights are among them


def test_inputs_and_outputs_stay_float32(exported, halved):
    session = ort.InferenceSession(str(halved[0]), providers=["CPUExecutionProvider"])
    assert [(i.name, i.type) for i in session.get_inputs()] == [(i.name, i.type) for i in exported.session.get_inputs()]
    assert [(o.name, o.type) for o in session.get_outputs()] == [
        (o.name, o.type) for o in exported.session.get_outputs()
    ]
    assert [(i.name, i.type) for i in session.get_overridable_initializers()] == [
        (i.name, i.type) for i in exported.session.get_overridable_initializers()
    ]


def test_outputs_are_the_pytorch_model_with_weights_rounded_to_float16(exported, halved):
    path, _, rounded = halved
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = feeds_for(exported, 3, 9, seed=5)
    out = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds), strict=True))
    reference = torch_outputs(SimpleNamespace(kind=exported.kind, model=rounded, metadata=exported.metadata), feeds)
    for name, value in out.items():
        assert value.dtype == np.float32, name
        np.testing.assert_allclose(value, reference[name], atol=1e-4, rtol=0, err_msg=name)
    # model_from_onnx reads the stored weights back: the rounded model, weight for weight.
    loaded = model_from_onnx(path).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in rounded.state_dict().items())


def test_the_anatomy_reads_float16_weights_as_float32(exported, halved):
    path, names, _ = halved
    weights, before = anatomy.Initializers(path), anatomy.Initializers(exported.path)
    for name in names:
        array = weights.get(name)
        assert array.dtype == np.float32
        np.testing.assert_array_equal(array, before.get(name).astype(np.float16).astype(np.float32))
    meta = contract.parse_metadata(contract.read_metadata_text(path))
    if meta.embedding:
        assert anatomy.embedding_matrix(path, meta).dtype == np.float32


def test_a_file_without_large_float32_weights_is_left_as_it_is(halved, tmp_path):
    again = tmp_path / "again.onnx"
    shutil.copy(halved[0], again)
    assert store_float16(again) == []
    assert again.read_bytes() == halved[0].read_bytes()
