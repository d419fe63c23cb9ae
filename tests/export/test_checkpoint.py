"""Checkpoints are safetensors; a checkpoint exports to a contract file through the CLI."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from safetensors import safe_open

from explorer import contract
from export.bundle import EXPORT_INFO, export_info, untrained_metadata, untrained_model
from export.checkpoint import load_model, save_model
from export.cli import main

from .conftest import SMALL


def test_checkpoint_round_trip_is_safetensors(tmp_path):
    model = untrained_model("transformer", SMALL["transformer"], seed=3)
    path = save_model(model, tmp_path / "m.safetensors", extra={"note": "x"})
    with safe_open(str(path), framework="pt") as f:  # a plain safetensors file, no pickle
        assert "model" in f.metadata()
    loaded, extra = load_model(path)
    assert extra == {"note": "x"}
    assert loaded.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_cli_exports_a_checkpoint(tmp_path):
    model = untrained_model("bert", SMALL["bert"], seed=4)
    meta = untrained_metadata("bert", model)
    ckpt = save_model(model, tmp_path / "bert.safetensors", extra={EXPORT_INFO: export_info(meta)})
    out = tmp_path / "bert.onnx"
    assert main(["export", str(ckpt), "--out", str(out)]) == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    loaded = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    assert loaded.tokenizer == meta.tokenizer and loaded.kind == "bert-mlm"
    ids = np.array([[2, 10, 11, 12, 3]], dtype=np.int64)
    logits = session.run(["logits"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(ids), torch.ones(1, 5)).logits.numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_cli_reports_a_missing_checkpoint(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.safetensors"), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err
