"""`attention-export hf`: every way a folder can be unfit ends in exit code 2 and a message naming it."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from transformers import BertConfig, BertModel

from export.cli import main


def fails_with(capsys, *args: str) -> str:
    assert main(["hf", *args]) == 2
    return capsys.readouterr().err


def test_missing_folder(tmp_path, capsys):
    err = fails_with(capsys, str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.onnx"))
    assert "nowhere is not a folder" in err


def test_folder_without_config(tmp_path, capsys):
    err = fails_with(capsys, str(tmp_path), "--out", str(tmp_path / "x.onnx"))
    assert f"{tmp_path / 'config.json'} is missing" in err


def test_folder_without_weights(checkpoints, tmp_path, capsys):
    shutil.copy(checkpoints["bert"] / "config.json", tmp_path)
    err = fails_with(capsys, str(tmp_path), "--out", str(tmp_path / "x.onnx"))
    assert "holds no weights" in err and "model.safetensors" in err


def test_text_model_without_tokenizer_json(checkpoints, tmp_path, capsys):
    for name in ("config.json", "model.safetensors"):
        shutil.copy(checkpoints["bert"] / name, tmp_path)
    err = fails_with(capsys, str(tmp_path), "--out", str(tmp_path / "x.onnx"))
    assert f"{tmp_path / 'tokenizer.json'} is missing" in err
    assert not (tmp_path / "x.onnx").exists()


def test_image_model_without_preprocessor_config(checkpoints, tmp_path, capsys):
    for name in ("config.json", "model.safetensors"):
        shutil.copy(checkpoints["vit"] / name, tmp_path)
    err = fails_with(capsys, str(tmp_path), "--out", str(tmp_path / "x.onnx"))
    assert f"{tmp_path / 'preprocessor_config.json'} is missing" in err


def test_import_writes_the_file(checkpoints, tmp_path, capsys):
    out = tmp_path / "vit.onnx"
    assert main(["hf", str(checkpoints["vit"]), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert out.stat().st_size > 0


def test_unsupported_architecture(checkpoints, tmp_path, capsys):
    shutil.copy(checkpoints["bert"] / "model.safetensors", tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "xlnet", "architectures": ["XLNetModel"]}))
    err = fails_with(capsys, str(tmp_path), "--out", str(tmp_path / "x.onnx"))
    assert "config.json: model_type 'xlnet' (XLNetModel) cannot be imported" in err
    assert all(name in err for name in ("bert", "gpt2", "vit", "llama", "gemma2", "t5"))  # what can be


def test_swin_is_refused_with_why_and_what_to_try(checkpoints, tmp_path, capsys):
    """Swin's windowed attention has no one [queries x keys] square to show."""
    shutil.copy(checkpoints["bert"] / "model.safetensors", tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "swin",
                                                      "architectures": ["SwinForImageClassification"]}))
    err = fails_with(capsys, str(tmp_path), "--out", str(tmp_path / "x.onnx"))
    assert "model_type 'swin' (SwinForImageClassification) cannot be imported: its attention is computed inside" in err
    assert "not as one [queries x keys] square over the image; try a ViT checkpoint (vit)" in err
    assert "Supported: albert, " in err and " beit, bert, bloom, " in err and "Traceback" not in err


def test_model_type_transformers_does_not_know(checkpoints, tmp_path, capsys):
    shutil.copy(checkpoints["bert"] / "model.safetensors", tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "my-own-net"}))
    err = fails_with(capsys, str(tmp_path), "--out", str(tmp_path / "x.onnx"))
    assert "model_type 'my-own-net' (no architecture) cannot be imported: export/hf/families.py does not" in err
    assert "try an ONNX export of it" in err


def test_task_the_family_cannot_be(checkpoints, tmp_path, capsys):
    err = fails_with(capsys, str(checkpoints["bert"]), "--out", str(tmp_path / "x.onnx"), "--task", "decoder-lm")
    assert "a bert checkpoint imports as encoder or bert-mlm, not decoder-lm" in err


def test_masked_lm_from_a_checkpoint_without_its_head(checkpoints, tmp_path, capsys):
    folder = tmp_path / "base"
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=52, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                         intermediate_size=64)).save_pretrained(folder)
    shutil.copy(checkpoints["bert"] / "tokenizer.json", folder)
    shutil.copy(checkpoints["bert"] / "tokenizer_config.json", folder)
    err = fails_with(capsys, str(folder), "--out", str(tmp_path / "x.onnx"), "--task", "bert-mlm")
    assert "has no weights for cls.predictions" in err and "--task" in err


@pytest.mark.parametrize("argv", [["hf", "--help"], ["instrument", "--help"]])
def test_help_describes_the_commands(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "--out" in capsys.readouterr().out
