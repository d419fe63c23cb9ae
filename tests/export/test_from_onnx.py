"""A contract file of ours back to PyTorch: the same config, the same weights, the same logits."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import pytest
import torch

from explorer import contract
from export.bundle import model_from_onnx

from .conftest import feeds_for, torch_outputs

BUNDLED = Path(__file__).resolve().parents[2] / "explorer" / "assets" / "models"


def test_an_export_comes_back_with_its_config_and_weights(exported):
    model = model_from_onnx(exported.path)
    assert type(model) is type(exported.model)
    assert dataclasses.asdict(model.config) == dataclasses.asdict(exported.model.config)
    original = exported.model.state_dict()
    loaded = model.state_dict()
    assert loaded.keys() == original.keys()
    for name, tensor in original.items():
        assert torch.equal(loaded[name], tensor), name


@pytest.mark.parametrize("kind", ["transformer", "bert", "vit"])
def test_a_bundled_file_gives_the_same_logits_in_pytorch_as_in_onnx_runtime(kind):
    path = BUNDLED / f"{kind}.onnx"
    model = model_from_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    bundled = SimpleNamespace(kind=kind, model=model, metadata=meta)  # what feeds_for and torch_outputs read
    feeds = feeds_for(bundled, batch=2, length=9, seed=4)
    (logits,) = session.run([contract.LOGITS], feeds)
    reference = torch_outputs(bundled, feeds)[contract.LOGITS]
    assert logits.shape == reference.shape
    np.testing.assert_allclose(logits, reference, atol=1e-4, rtol=0)
